// SPDX-License-Identifier: GPL-2.0
// Lesson 1 (minimal): print a line to the trace pipe every time the chosen
// process calls write(2).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* 0 = every process; set from user space before loading. */
const volatile int pid_filter = 0;

SEC("tp/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (pid_filter && pid != pid_filter)
		return 0;
	bpf_printk("BPF triggered sys_enter_write from PID %d.\n", pid);
	return 0;
}
