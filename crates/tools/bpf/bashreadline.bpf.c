// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bashreadline: print the lines bash reads, from readline()'s return value. */
#include "common.h"

#define MAX_LINE_SIZE 80

struct event {
	u32 pid;
	char str[MAX_LINE_SIZE];
};

DEFINE_EVENTS_RINGBUF();

/* The default target; `-s PATH` moves the probe to another binary or
 * libreadline.so (the runtime rewrites the target). */
SEC("uretprobe//bin/bash:readline")
int BPF_KRETPROBE(printret, const void *ret)
{
	char comm[TASK_COMM_LEN];
	struct event *e;

	if (!ret)
		return 0;
	/* Other programs linking readline are not shells. */
	bpf_get_current_comm(comm, sizeof(comm));
	if (comm[0] != 'b' || comm[1] != 'a' || comm[2] != 's' || comm[3] != 'h' || comm[4] != 0)
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_probe_read_user_str(e->str, sizeof(e->str), ret);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
