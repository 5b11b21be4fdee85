// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* biotop: block I/O per process, disk and direction: count, bytes and
 * average latency, from block_rq_issue to block_rq_complete. libbpf-tools
 * attaches kprobes to blk_account_io_start/done (the process that
 * submitted the I/O); here the issuing task is the process, which for
 * queued or merged I/O can be a kworker. */
#include "block.h"

const volatile pid_t target_pid = 0;

struct who {
	u32 pid;
	char comm[TASK_COMM_LEN];
};

/* Issued requests, by address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct request *);
	__type(value, struct who);
} whos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct request *);
	__type(value, u64);
} start SEC(".maps");

struct info_t {
	u32 pid;
	u32 dev;
	u8 rwflag; /* 1: write */
	char comm[TASK_COMM_LEN];
};

struct val_t {
	u64 bytes;
	u64 us;
	u32 io;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct info_t);
	__type(value, struct val_t);
} counts SEC(".maps");

static const struct val_t zero;

static __always_inline int on_issue(struct request *rq)
{
	struct who who = {};
	u64 ts = bpf_ktime_get_ns();

	who.pid = bpf_get_current_pid_tgid() >> 32;
	if (target_pid && target_pid != who.pid)
		return 0;
	bpf_get_current_comm(who.comm, sizeof(who.comm));
	bpf_map_update_elem(&whos, &rq, &who, 0);
	bpf_map_update_elem(&start, &rq, &ts, 0);
	return 0;
}

static __always_inline int on_complete(struct request *rq, unsigned int nr_bytes)
{
	u64 *tsp = bpf_map_lookup_elem(&start, &rq);
	struct who *who = bpf_map_lookup_elem(&whos, &rq);
	struct info_t info = {};
	struct val_t *val;
	u64 delta_us;

	if (!tsp || !who)
		goto cleanup;
	delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;
	info.pid = who->pid;
	__builtin_memcpy(info.comm, who->comm, sizeof(info.comm));
	info.dev = request_dev(rq);
	info.rwflag = (BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK) ==
		      bpf_core_enum_value(enum req_op, REQ_OP_WRITE);
	val = lookup_or_init(&counts, &info, &zero);
	if (val) {
		__sync_fetch_and_add(&val->bytes, nr_bytes);
		__sync_fetch_and_add(&val->us, delta_us);
		__sync_fetch_and_add(&val->io, 1);
	}
cleanup:
	bpf_map_delete_elem(&start, &rq);
	bpf_map_delete_elem(&whos, &rq);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue_btf, struct request *rq)
{
	return on_issue(rq);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete_btf, struct request *rq, int error, unsigned int nr_bytes)
{
	return on_complete(rq, nr_bytes);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	return on_issue(rq);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	return on_complete(rq, nr_bytes);
}

char LICENSE[] SEC("license") = "GPL";
