// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* gethostlatency: latency of libc's host name lookups (getaddrinfo,
 * gethostbyname, gethostbyname2), as libbpf-tools' gethostlatency: the
 * name and start time at entry, the latency at return, per thread. */
#include "common.h"

#define HOST_LEN 80

const volatile pid_t target_pid = 0;

struct event {
	bpfkit_duration_ns_t time; /* latency */
	bpfkit_pid_t pid;
	char comm[TASK_COMM_LEN];
	char host[HOST_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* Lookups in flight per thread; `time` holds the start until they return. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct event);
} starts SEC(".maps");

static __always_inline int lookup_entry(const char *name)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	struct event e = {};

	if (target_pid && (id >> 32) != target_pid)
		return 0;
	e.pid = id >> 32;
	e.time = bpf_ktime_get_ns();
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_probe_read_user_str(e.host, sizeof(e.host), name);
	bpf_map_update_elem(&starts, &tid, &e, BPF_ANY);
	return 0;
}

static __always_inline int lookup_return(void)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&starts, &tid);

	if (!e)
		return 0;
	e->time = bpf_ktime_get_ns() - e->time;
	output_event(e, sizeof(*e));
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

SEC("uprobe/libc.so.6:getaddrinfo")
int BPF_KPROBE(getaddrinfo_entry, const char *node)
{
	return lookup_entry(node);
}

SEC("uretprobe/libc.so.6:getaddrinfo")
int BPF_KRETPROBE(getaddrinfo_return)
{
	return lookup_return();
}

SEC("uprobe/libc.so.6:gethostbyname")
int BPF_KPROBE(gethostbyname_entry, const char *name)
{
	return lookup_entry(name);
}

SEC("uretprobe/libc.so.6:gethostbyname")
int BPF_KRETPROBE(gethostbyname_return)
{
	return lookup_return();
}

SEC("uprobe/libc.so.6:gethostbyname2")
int BPF_KPROBE(gethostbyname2_entry, const char *name)
{
	return lookup_entry(name);
}

SEC("uretprobe/libc.so.6:gethostbyname2")
int BPF_KRETPROBE(gethostbyname2_return)
{
	return lookup_return();
}

char LICENSE[] SEC("license") = "GPL";
