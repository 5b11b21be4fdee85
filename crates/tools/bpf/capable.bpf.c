// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* capable: trace security capability checks (cap_capable()), as
 * libbpf-tools' capable. Its kprobe/kretprobe on cap_capable also see the
 * options (CAP_OPT_NOAUDIT, CAP_OPT_INSETID); the capability:cap_capable
 * tracepoint (6.15+) has the capability and the verdict but not the
 * options, so AUDIT and INSETID show `-` there. */
#include "common.h"

const volatile pid_t targ_tgid = 0;
/* -K, -U: the kernel and user stack of each check, as bcc's capable. */
const volatile bool kernel_stack = false;
const volatile bool user_stack = false;
DEFINE_CGROUP_FILTER();

#define MAX_FRAMES 32

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
	/* With -K or -U (the record ends here otherwise): return addresses,
	 * innermost first, zero after the last; all zero when not collected. */
	u64 kernel_ips[MAX_FRAMES];
	u64 user_ips[MAX_FRAMES];
};

DEFINE_EVENTS_RINGBUF();

/* The event being put together (with its stacks, too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct event);
} scratch SEC(".maps");

/* kprobe variant: the check in flight per thread, finished by the kretprobe. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct event);
} checks SEC(".maps");

/* The stacks -K and -U ask for, the others zeroed. */
static __always_inline void collect_stacks(void *ctx, struct event *e)
{
	if (kernel_stack)
		bpf_get_stack(ctx, e->kernel_ips, sizeof(e->kernel_ips), 0);
	else
		__builtin_memset(e->kernel_ips, 0, sizeof(e->kernel_ips));
	if (user_stack)
		bpf_get_stack(ctx, e->user_ips, sizeof(e->user_ips), BPF_F_USER_STACK);
	else
		__builtin_memset(e->user_ips, 0, sizeof(e->user_ips));
}

/* This CPU's event to fill, or NULL. */
static __always_inline struct event *scratch_event(void)
{
	u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/* The event for the current task, or false when filtered out. */
static __always_inline bool start_event(void *ctx, struct event *e, int cap)
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
	if (kernel_stack || user_stack)
		collect_stacks(ctx, e);
	return true;
}

static __always_inline void finish_event(struct event *e, int ret)
{
	e->ret = ret;
	e->denied = ret != 0;
	if (kernel_stack || user_stack)
		output_event(e, sizeof(*e));
	else
		output_event(e, offsetof(struct event, kernel_ips));
}

SEC("tp/capability/cap_capable")
int cap_capable_tp(struct trace_event_raw_cap_capable *ctx)
{
	struct event *e = scratch_event();

	if (!e || !start_event(ctx, e, ctx->cap))
		return 0;
	e->audit = OPT_UNKNOWN;
	e->insetid = OPT_UNKNOWN;
	finish_event(e, ctx->ret);
	return 0;
}

SEC("kprobe/cap_capable")
int BPF_KPROBE(cap_capable_entry, const struct cred *cred, struct user_namespace *ns,
	       int cap, unsigned int opts)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct event *e = scratch_event();

	if (!e || !start_event(ctx, e, cap))
		return 0;
	e->audit = (opts & CAP_OPT_NOAUDIT) == 0;
	e->insetid = (opts & CAP_OPT_INSETID) != 0;
	bpf_map_update_elem(&checks, &tid, e, BPF_ANY);
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
