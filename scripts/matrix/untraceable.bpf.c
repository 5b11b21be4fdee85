// SPDX-License-Identifier: GPL-2.0
/* A kernel function that kernel BTF describes but ftrace cannot patch
 * (blk_account_io_start on 6.12: not in available_filter_functions; a
 * fentry program on it fails to attach with EBUSY), next to a program that
 * works. `bpfkit run --skip-missing` must leave the first out and run the
 * second, as libbpf-tools' biosnoop picks block_io_start there. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 untraceable_hits = 0;
__u64 exec_hits = 0;

SEC("fentry/blk_account_io_start")
int BPF_PROG(on_untraceable)
{
	__sync_fetch_and_add(&untraceable_hits, 1);
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int on_exec(void *ctx)
{
	__sync_fetch_and_add(&exec_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
