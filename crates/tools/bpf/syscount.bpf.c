// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* syscount: count syscalls (and their time) per syscall or per process. */
#include "common.h"

const volatile bool count_by_process = false;
const volatile bool measure_latency = false;
const volatile bool filter_failed = false;
const volatile int filter_errno = 0;
const volatile pid_t filter_pid = 0;
DEFINE_CGROUP_FILTER();

/* Key of `data`: the syscall number, or the process id with -P. */
struct data_t {
	u64 count;
	u64 total_ns;
	u64 max_ns;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct data_t);
} data SEC(".maps");

static const struct data_t zero;

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *args)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;
	u64 ts;

	if (!measure_latency)
		return 0;
	if (CGROUP_FILTERED_OUT())
		return 0;
	if (filter_pid && pid != filter_pid)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, 0);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *args)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;
	struct data_t *val;
	u64 *start_ts, lat = 0;
	long ret = args->ret;
	u32 key;

	if (CGROUP_FILTERED_OUT())
		return 0;
	if (filter_pid && pid != filter_pid)
		return 0;
	if (filter_failed && ret >= 0)
		return 0;
	if (filter_errno && ret != -filter_errno)
		return 0;
	/* The exit of a syscall that started before tracing has no start. */
	if (measure_latency) {
		start_ts = bpf_map_lookup_elem(&start, &tid);
		if (!start_ts)
			return 0;
		lat = bpf_ktime_get_ns() - *start_ts;
		bpf_map_delete_elem(&start, &tid);
	}
	key = count_by_process ? pid : (u32)args->id;
	val = lookup_or_init(&data, &key, &zero);
	if (!val)
		return 0;
	__sync_fetch_and_add(&val->count, 1);
	if (count_by_process)
		bpf_get_current_comm(val->comm, sizeof(val->comm));
	if (measure_latency) {
		__sync_fetch_and_add(&val->total_ns, lat);
		if (lat > val->max_ns)
			val->max_ns = lat;
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
