// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* oomkill: trace OOM kills. libbpf-tools hooks oom_kill_process() with a
 * kprobe; the oom:mark_victim tracepoint is a stable ABI that fires at the
 * same point (in the context of the task that triggered the OOM), so it is
 * the first variant here and the kprobe the fallback. */
#include "common.h"

struct event {
	u32 fpid;  /* the task whose allocation triggered the kill */
	u32 tpid;  /* the victim */
	u64 pages; /* the victim's total_vm, in pages */
	char fcomm[TASK_COMM_LEN];
	char tcomm[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

/* The tracepoint records the victim's total_vm in kB; libbpf-tools (and the
 * kprobe variant) show pages. The committed objects target x86, whose pages
 * are 4 kB. */
#define KB_PER_PAGE 4

/* The victim's comm was added to the tracepoint in 6.x. */
struct trace_event_raw_mark_victim___x {
	u32 __data_loc_comm;
	long unsigned int total_vm;
} __attribute__((preserve_access_index));

static __always_inline struct event *start_event(void)
{
	struct event *e = reserve_event(sizeof(*e));

	if (!e)
		return 0;
	e->fpid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->fcomm, sizeof(e->fcomm));
	e->tcomm[0] = '\0';
	e->pages = 0;
	return e;
}

SEC("tracepoint/oom/mark_victim")
int mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	struct trace_event_raw_mark_victim___x *x = (void *)ctx;
	struct event *e = start_event();
	u32 loc;

	if (!e)
		return 0;
	e->tpid = ctx->pid;
	if (bpf_core_field_exists(x->total_vm))
		e->pages = BPF_CORE_READ(x, total_vm) / KB_PER_PAGE;
	if (bpf_core_field_exists(x->__data_loc_comm)) {
		loc = BPF_CORE_READ(x, __data_loc_comm);
		bpf_probe_read_kernel_str(e->tcomm, sizeof(e->tcomm), (void *)ctx + (loc & 0xffff));
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kprobe/oom_kill_process")
int BPF_KPROBE(oom_kill_process, struct oom_control *oc, const char *message)
{
	struct event *e = start_event();

	if (!e)
		return 0;
	e->tpid = BPF_CORE_READ(oc, chosen, tgid);
	e->pages = BPF_CORE_READ(oc, chosen, mm, total_vm);
	BPF_CORE_READ_STR_INTO(&e->tcomm, oc, chosen, comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
