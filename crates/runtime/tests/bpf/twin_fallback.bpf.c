/* Twins for one event where the preferred one fails here: the tp_btf
 * program reads an argument sys_enter does not have, so the verifier
 * rejects it, as a fentry twin fails to attach on a function no trampoline
 * can reach (tcp_v4_syn_recv_sock on 6.1, ENOTSUPP). The raw_tp twin must
 * be attached instead, and each counts the test's own syscalls. */
#include "common.h"

const volatile __u32 target_tgid = 0;

__u64 tp_btf_hits = 0;
__u64 raw_tp_hits = 0;

SEC("tp_btf/sys_enter")
int btf_sys_enter(unsigned long long *ctx)
{
	/* sys_enter(struct pt_regs *regs, long id): there is no ctx[5]. */
	if (current_tgid() == target_tgid && ctx[5] != 0)
		__sync_fetch_and_add(&tp_btf_hits, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (current_tgid() == target_tgid)
		__sync_fetch_and_add(&raw_tp_hits, 1);
	return 0;
}
