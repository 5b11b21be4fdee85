// SPDX-License-Identifier: GPL-2.0
/* The kernel hooks of scripts/kernel-matrix that the CI machine lacks:
 * kprobe, kretprobe, fentry, fexit and LSM, each counting its hits in its
 * own global (printed by `bpfkit run` at exit). The matrix enables one
 * program per case. ksyscall is in ksyscall.bpf.c: its .kconfig extern
 * concerns the whole object. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

__u64 kprobe_hits = 0;
__u64 kretprobe_hits = 0;
__u64 fentry_hits = 0;
__u64 fexit_hits = 0;
__u64 lsm_hits = 0;

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(on_kprobe)
{
	__sync_fetch_and_add(&kprobe_hits, 1);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(on_kretprobe, long ret)
{
	__sync_fetch_and_add(&kretprobe_hits, 1);
	return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(on_fentry)
{
	__sync_fetch_and_add(&fentry_hits, 1);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(on_fexit)
{
	__sync_fetch_and_add(&fexit_hits, 1);
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(on_lsm, struct file *file)
{
	__sync_fetch_and_add(&lsm_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
