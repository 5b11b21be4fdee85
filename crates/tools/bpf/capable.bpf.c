// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* capable: trace security capability checks (cap_capable()), as
 * libbpf-tools' capable. Its kprobe/kretprobe on cap_capable also see the
 * options (CAP_OPT_NOAUDIT, CAP_OPT_INSETID); the capability:cap_capable
 * tracepoint (6.15+) has the capability and the verdict but not the
 * options, so AUDIT and INSETID show `-` there. */
#include "common.h"

const volatile pid_t targ_tgid = 0;
DEFINE_CGROUP_FILTER();

#define CAP_OPT_NOAUDIT 0x2 /* include/linux/security.h */
#define CAP_OPT_INSETID 0x4
#define OPT_UNKNOWN 2 /* AUDIT/INSETID: the hook does not say */

struct event {
	bpfkit_pid_t pid;
	u32 tid;
	bpfkit_uid_t uid;
	s32 cap;
	s32 ret;    /* 0, or -EPERM when denied */
	u8 denied;  /* VERDICT: 0 allow, 1 deny */
	u8 audit;   /* 1 audited, 0 not (CAP_OPT_NOAUDIT), OPT_UNKNOWN */
	u8 insetid; /* 1 with CAP_OPT_INSETID, 0 without, OPT_UNKNOWN */
	char task[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* kprobe variant: the check in flight per thread, finished by the kretprobe. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct event);
} checks SEC(".maps");

/* The event for the current task, or false when filtered out. */
static __always_inline bool start_event(struct event *e, int cap)
{
	u64 id = bpf_get_current_pid_tgid();

	if (targ_tgid && (id >> 32) != targ_tgid)
		return false;
	if (CGROUP_FILTERED_OUT())
		return false;
	e->pid = id >> 32;
	e->tid = id;
	e->uid = bpf_get_current_uid_gid();
	e->cap = cap;
	bpf_get_current_comm(e->task, sizeof(e->task));
	return true;
}

static __always_inline void finish_event(struct event *e, int ret)
{
	e->ret = ret;
	e->denied = ret != 0;
	output_event(e, sizeof(*e));
}

SEC("tp/capability/cap_capable")
int cap_capable_tp(struct trace_event_raw_cap_capable *ctx)
{
	struct event e = {};

	if (!start_event(&e, ctx->cap))
		return 0;
	e.audit = OPT_UNKNOWN;
	e.insetid = OPT_UNKNOWN;
	finish_event(&e, ctx->ret);
	return 0;
}

SEC("kprobe/cap_capable")
int BPF_KPROBE(cap_capable_entry, const struct cred *cred, struct user_namespace *ns,
	       int cap, unsigned int opts)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct event e = {};

	if (!start_event(&e, cap))
		return 0;
	e.audit = (opts & CAP_OPT_NOAUDIT) == 0;
	e.insetid = (opts & CAP_OPT_INSETID) != 0;
	bpf_map_update_elem(&checks, &tid, &e, BPF_ANY);
	return 0;
}

SEC("kretprobe/cap_capable")
int BPF_KRETPROBE(cap_capable_exit, int ret)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&checks, &tid);

	if (!e)
		return 0;
	finish_event(e, ret);
	bpf_map_delete_elem(&checks, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
