/* Open files of the current task, shared by fs.h (fsslower, fsdist) and
 * filetop. */
#ifndef BPFKIT_TOOLS_FILES_H
#define BPFKIT_TOOLS_FILES_H

#include "common.h"

/* The current task's open file `fd`, or NULL. */
static __always_inline struct file *fd_file(s64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;

	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

#endif
