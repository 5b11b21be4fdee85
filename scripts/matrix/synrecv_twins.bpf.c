// SPDX-License-Identifier: GPL-2.0
/* Twins as libbpf-tools' tcpsynbl ships them: fentry and kprobe on
 * tcp_v4_syn_recv_sock. On Debian's 6.1 the fentry program loads but its
 * attach fails with ENOTSUPP (524: no trampoline for that function), so
 * `bpfkit run` must fall back to the kprobe twin instead of failing the run;
 * on 6.12 the fentry one attaches. Either way the passive open of the tcp
 * workload is counted once, in the one global. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 syn_recv_hits = 0;

SEC("fentry/tcp_v4_syn_recv_sock")
int BPF_PROG(syn_recv_fentry)
{
	__sync_fetch_and_add(&syn_recv_hits, 1);
	return 0;
}

SEC("kprobe/tcp_v4_syn_recv_sock")
int BPF_KPROBE(syn_recv_kprobe)
{
	__sync_fetch_and_add(&syn_recv_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
