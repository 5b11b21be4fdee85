// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* biosnoop: one line per block I/O with its issuing process and latency.
 * The process is seen where the I/O is accounted (block_io_start, 6.5+; the
 * kprobe variant uses blk_account_io_start on older kernels). */
#include "block.h"

const volatile bool targ_queued = false;
const volatile bool filter_dev = false;
const volatile u32 targ_dev = 0;
const volatile u64 min_ms = 0; /* report only I/O slower than this */
DEFINE_CGROUP_FILTER();

struct piddata {
	char comm[TASK_COMM_LEN];
	u32 pid;
};

struct stage {
	u64 insert;
	u64 issue;
	u32 dev;
};

struct event {
	bpfkit_duration_ns_t delta_ns; /* issue to completion */
	s64 qdelta_ns; /* insertion to issue with -Q, -1 when unknown */
	bpfkit_ktime_t ts;
	u64 sector;
	u32 len;
	u32 pid;
	u32 dev;
	char rwbs[RWBS_LEN];
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct request *);
	__type(value, struct piddata);
} infobyreq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct request *);
	__type(value, struct stage);
} start SEC(".maps");

DEFINE_EVENTS_RINGBUF();

static __always_inline int trace_pid(struct request *rq)
{
	u64 id = bpf_get_current_pid_tgid();
	struct piddata piddata = {};

	if (CGROUP_FILTERED_OUT())
		return 0;
	piddata.pid = id >> 32;
	bpf_get_current_comm(&piddata.comm, sizeof(piddata.comm));
	bpf_map_update_elem(&infobyreq, &rq, &piddata, 0);
	return 0;
}

static __always_inline int trace_rq_start(struct request *rq, bool insert)
{
	struct stage *stagep, stage = {};
	u64 ts = bpf_ktime_get_ns();
	u32 dev;

	if (CGROUP_FILTERED_OUT())
		return 0;
	if (insert && !targ_queued)
		return 0;
	dev = request_dev(rq);
	if (filter_dev && targ_dev != dev)
		return 0;
	stagep = bpf_map_lookup_elem(&start, &rq);
	if (!stagep) {
		stage.dev = dev;
		stagep = &stage;
	}
	if (insert)
		stagep->insert = ts;
	else
		stagep->issue = ts;
	if (stagep == &stage)
		bpf_map_update_elem(&start, &rq, stagep, 0);
	return 0;
}

static __always_inline int trace_rq_complete(struct request *rq)
{
	u64 ts = bpf_ktime_get_ns();
	struct piddata *piddatap;
	struct stage *stagep;
	struct event *e;
	u64 delta;

	if (CGROUP_FILTERED_OUT())
		return 0;
	stagep = bpf_map_lookup_elem(&start, &rq);
	if (!stagep)
		return 0;
	delta = ts - stagep->issue;
	if (!stagep->issue || delta < min_ms * 1000000)
		goto cleanup;
	e = reserve_event(sizeof(*e));
	if (!e)
		goto cleanup;
	e->delta_ns = delta;
	e->qdelta_ns = -1;
	if (targ_queued && stagep->insert)
		e->qdelta_ns = stagep->issue - stagep->insert;
	e->ts = ts;
	e->sector = BPF_CORE_READ(rq, __sector);
	e->len = BPF_CORE_READ(rq, __data_len);
	e->dev = stagep->dev;
	fill_rwbs(e->rwbs, BPF_CORE_READ(rq, cmd_flags));
	piddatap = bpf_map_lookup_elem(&infobyreq, &rq);
	if (piddatap) {
		e->pid = piddatap->pid;
		__builtin_memcpy(e->comm, piddatap->comm, sizeof(e->comm));
	} else {
		e->pid = 0;
		e->comm[0] = '\0';
	}
	bpf_ringbuf_submit(e, 0);
cleanup:
	bpf_map_delete_elem(&start, &rq);
	bpf_map_delete_elem(&infobyreq, &rq);
	return 0;
}

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start_btf, struct request *rq)
{
	return trace_pid(rq);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_rq_insert_btf, struct request *rq)
{
	return trace_rq_start(rq, true);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue_btf, struct request *rq)
{
	return trace_rq_start(rq, false);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete_btf, struct request *rq, int error, unsigned int nr_bytes)
{
	return trace_rq_complete(rq);
}

SEC("raw_tp/block_io_start")
int BPF_PROG(block_io_start, struct request *rq)
{
	return trace_pid(rq);
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(block_rq_insert, struct request *rq)
{
	return trace_rq_start(rq, true);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	return trace_rq_start(rq, false);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	return trace_rq_complete(rq);
}

/* Kernels before 6.5 have no block_io_start tracepoint. */
SEC("kprobe/blk_account_io_start")
int BPF_KPROBE(blk_account_io_start, struct request *rq)
{
	return trace_pid(rq);
}

char LICENSE[] SEC("license") = "GPL";
