// SPDX-License-Identifier: GPL-2.0
/* kprobe.multi and kretprobe.multi for scripts/kernel-matrix (the CI
 * machine has no kprobes): each counts its hits on do_unlinkat in its own
 * global, printed by `bpfkit run` at exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u64 kprobe_multi_hits = 0;
__u64 kretprobe_multi_hits = 0;

SEC("kprobe.multi/do_unlinkat")
int on_kprobe_multi(void *ctx)
{
	__sync_fetch_and_add(&kprobe_multi_hits, 1);
	return 0;
}

SEC("kretprobe.multi/do_unlinka?")
int on_kretprobe_multi(void *ctx)
{
	__sync_fetch_and_add(&kretprobe_multi_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
