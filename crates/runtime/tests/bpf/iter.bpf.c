/* A BPF iterator: one line per task of the test's process (its threads),
 * written when the iterator is read. */
#include "common.h"
#include <bpf/bpf_tracing.h>

const volatile __u32 target_tgid = 0;

/* The kernel's iterator context for tasks, as far as this program reads it. */
struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct seq_file *seq = ctx->meta->seq;

	if (!task || task->tgid != target_tgid)
		return 0;
	BPF_SEQ_PRINTF(seq, "task %d of %d\n", task->pid, task->tgid);
	return 0;
}
