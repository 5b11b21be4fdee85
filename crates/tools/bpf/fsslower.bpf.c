// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fsslower: file system operations slower than a threshold (fs.h: on the
 * file system's functions, or at the syscall level). ext4slower, xfsslower
 * and btrfsslower are this program with their file system compiled in. */
#include "fs.h"

#define DNAME_LEN 32

const volatile u64 min_lat_ms = 10;

struct event {
	bpfkit_duration_ns_t delta_ns;
	s64 size; /* bytes read or written; 0 for open and fsync */
	u64 offset; /* file position the read or write started at */
	u32 pid;
	u32 op; /* enum fs_op */
	char comm[TASK_COMM_LEN];
	char file[DNAME_LEN];
};

DEFINE_EVENTS_RINGBUF();

static __always_inline void fs_op_done(u32 op, u64 delta_ns, struct file *file, s64 ret, u64 offset,
				       u32 pid)
{
	const unsigned char *name;
	struct event *e;
	bool io = op == FS_READ || op == FS_WRITE;

	if (delta_ns < min_lat_ms * 1000000)
		return;
	e = reserve_event(sizeof(*e));
	if (!e)
		return;
	e->delta_ns = delta_ns;
	e->size = io && ret > 0 ? ret : 0;
	e->offset = io ? offset : 0;
	e->pid = pid;
	e->op = op;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	bpf_probe_read_kernel_str(e->file, sizeof(e->file), name);
	bpf_ringbuf_submit(e, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
