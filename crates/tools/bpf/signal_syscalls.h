/* kill(), tkill() and tgkill() tracing shared by killsnoop and sigsnoop -k:
 * the target and signal are kept at entry and sent with the result at exit. */
#ifndef BPFKIT_TOOLS_SIGNAL_SYSCALLS_H
#define BPFKIT_TOOLS_SIGNAL_SYSCALLS_H

#include "common.h"

const volatile pid_t filtered_pid = 0;
const volatile int target_signal = 0;
const volatile bool failed_only = false;

struct event {
	u32 pid;  /* sender */
	pid_t tpid; /* target: negative for a process group (kill(-pgid)) */
	bpfkit_signal_t sig;
	int ret;  /* syscall result (-errno), or signal_generate's errno */
	char comm[TASK_COMM_LEN];
	/* The target's comm (sigsnoop's TCOMM), from signal_generate; "?"
	 * while unknown (a kill() that reached no task). */
	char tcomm[TASK_COMM_LEN];
};

DEFINE_EVENTS_RINGBUF();

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, u32);
	__type(value, struct event);
} values SEC(".maps");

static __always_inline bool signal_wanted(u32 sender, int sig)
{
	if (filtered_pid && sender != filtered_pid)
		return false;
	if (target_signal && sig != target_signal)
		return false;
	return true;
}

static __always_inline int kill_entry(pid_t tpid, int sig)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = id;
	struct event event = {};

	if (!signal_wanted(pid, sig))
		return 0;
	event.pid = pid;
	event.tpid = tpid;
	event.sig = sig;
	event.tcomm[0] = '?';
	bpf_get_current_comm(event.comm, sizeof(event.comm));
	bpf_map_update_elem(&values, &tid, &event, BPF_ANY);
	return 0;
}

static __always_inline int kill_exit(int ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct event *eventp;

	eventp = bpf_map_lookup_elem(&values, &tid);
	if (!eventp)
		return 0;
	if (!failed_only || ret < 0) {
		eventp->ret = ret;
		output_event(eventp, sizeof(*eventp));
	}
	bpf_map_delete_elem(&values, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int kill_entry_tp(struct trace_event_raw_sys_enter *ctx)
{
	return kill_entry(ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int tkill_entry_tp(struct trace_event_raw_sys_enter *ctx)
{
	return kill_entry(ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int tkill_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx->ret);
}

/* tgkill(tgid, tid, sig): the thread is the target. */
SEC("tracepoint/syscalls/sys_enter_tgkill")
int tgkill_entry_tp(struct trace_event_raw_sys_enter *ctx)
{
	return kill_entry(ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int tgkill_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx->ret);
}

#endif
