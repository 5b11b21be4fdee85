// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* biostacks: block I/O latency per initiating kernel stack. libbpf-tools
 * takes the stack at blk_account_io_start (fentry/kprobe) and the latency
 * at blk_account_io_done; here the block_io_start tracepoint (6.5+, fired
 * from blk_account_io_start in the submitting task) gives the stack and
 * block_rq_complete the end. All three start hooks are attached where they
 * exist; the first to see a request keeps it: block_io_start, or on older
 * kernels block_rq_insert (queued I/O), else block_rq_issue (dispatched
 * directly). */
#include "block.h"
#include "stacks.h"

const volatile bool filter_dev = false;
const volatile u32 targ_dev = 0;

struct rqinfo {
	u32 pid;
	s32 kern_stack_id;
	u64 start_ts;
	char comm[TASK_COMM_LEN];
};

struct key_t {
	bpfkit_pid_t pid;
	u32 dev;
	s32 kern_stack_id;
	char comm[TASK_COMM_LEN];
};

struct val_t {
	bpfkit_duration_us_t us;
	u64 ios;
};

DEFINE_STACK_TRACES(MAX_ENTRIES);

/* Requests in flight, by address: who started them, where and when. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct request *);
	__type(value, struct rqinfo);
} rqinfos SEC(".maps");

/* Latency per initiating stack: total (us) and number of I/Os. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct key_t);
	__type(value, struct val_t);
} stacks SEC(".maps");

static const struct val_t zero;

static __always_inline int on_start(void *ctx, struct request *rq)
{
	struct rqinfo info = {};

	if (filter_dev && targ_dev != request_dev(rq))
		return 0;
	info.pid = bpf_get_current_pid_tgid() >> 32;
	info.kern_stack_id = KERNEL_STACK(ctx);
	info.start_ts = bpf_ktime_get_ns();
	bpf_get_current_comm(info.comm, sizeof(info.comm));
	/* The first hook to see a request (insert before issue) keeps it. */
	bpf_map_update_elem(&rqinfos, &rq, &info, BPF_NOEXIST);
	return 0;
}

static __always_inline int on_done(struct request *rq)
{
	struct rqinfo *info = bpf_map_lookup_elem(&rqinfos, &rq);
	struct key_t key = {};
	struct val_t *val;
	u64 delta_us;

	if (!info)
		return 0;
	delta_us = (bpf_ktime_get_ns() - info->start_ts) / 1000;
	key.pid = info->pid;
	key.dev = request_dev(rq);
	key.kern_stack_id = info->kern_stack_id;
	__builtin_memcpy(key.comm, info->comm, sizeof(key.comm));
	val = lookup_or_init(&stacks, &key, &zero);
	if (val) {
		__sync_fetch_and_add(&val->us, delta_us);
		__sync_fetch_and_add(&val->ios, 1);
	}
	bpf_map_delete_elem(&rqinfos, &rq);
	return 0;
}

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start_btf, struct request *rq)
{
	return on_start(ctx, rq);
}

SEC("raw_tp/block_io_start")
int BPF_PROG(block_io_start, struct request *rq)
{
	return on_start(ctx, rq);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_rq_insert_btf, struct request *rq)
{
	return on_start(ctx, rq);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue_btf, struct request *rq)
{
	return on_start(ctx, rq);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete_btf, struct request *rq, int error, unsigned int nr_bytes)
{
	return on_done(rq);
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(block_rq_insert, struct request *rq)
{
	return on_start(ctx, rq);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	return on_start(ctx, rq);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	return on_done(rq);
}

char LICENSE[] SEC("license") = "GPL";
