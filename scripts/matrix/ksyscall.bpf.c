// SPDX-License-Identifier: GPL-2.0
/* The ksyscall case of scripts/kernel-matrix: counts kill(..., SIGUSR1). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

__u64 ksyscall_hits = 0;

/* BPF_KSYSCALL reads the arguments through LINUX_HAS_SYSCALL_WRAPPER, a
 * .kconfig extern, as libbpf programs do. */
SEC("ksyscall/kill")
int BPF_KSYSCALL(on_ksyscall, pid_t pid, int sig)
{
	if (sig == 10)
		__sync_fetch_and_add(&ksyscall_hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
