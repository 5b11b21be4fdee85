/* A histogram map for `bpfkit map dump` (crates/cli/tests/inspect.rs):
 * each kill() of process `target_tgid` adds one to slot `signal` (the
 * last slot for larger signals) of the histogram under key 0. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_SLOTS 8

/* The layout of every syscalls:sys_enter_* tracepoint record. */
struct syscall_enter {
	unsigned long long common;
	long id;
	unsigned long args[6];
};

struct hist {
	__u32 slots[MAX_SLOTS];
};

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct hist);
} sig_hist SEC(".maps");

SEC("tp/syscalls/sys_enter_kill")
int hist_kill_by_signal_number(struct syscall_enter *ctx)
{
	if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	__u32 zero = 0;
	struct hist *h = bpf_map_lookup_elem(&sig_hist, &zero);
	if (!h) {
		struct hist empty = {};
		bpf_map_update_elem(&sig_hist, &zero, &empty, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&sig_hist, &zero);
		if (!h)
			return 0;
	}
	__u64 slot = ctx->args[1];
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
