// SPDX-License-Identifier: GPL-2.0
// unlink_tp: files being deleted, and the result. The tutorial's kprobe
// lesson (unlink_kprobe.bpf.c) hooks do_unlinkat; the unlinkat(2)
// tracepoints give the same information on kernels without kprobes.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp/syscalls/sys_enter_unlinkat")
int unlinkat_entry(struct trace_event_raw_sys_enter *ctx)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;
	const char *pathname = (const char *)ctx->args[1];
	char name[64];

	bpf_probe_read_user_str(name, sizeof(name), pathname);
	bpf_printk("ENTRY: pid = %d, filename = %s\n", pid, name);
	return 0;
}

SEC("tp/syscalls/sys_exit_unlinkat")
int unlinkat_exit(struct trace_event_raw_sys_exit *ctx)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;

	bpf_printk("EXIT: pid = %d, ret = %ld\n", pid, ctx->ret);
	return 0;
}
