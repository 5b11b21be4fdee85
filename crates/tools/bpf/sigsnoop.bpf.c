// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sigsnoop: trace every signal the kernel generates (signal:signal_generate),
 * or with -k only those sent by the kill syscalls. */
#include "signal_syscalls.h"

SEC("tracepoint/signal/signal_generate")
int sig_trace(struct trace_event_raw_signal_generate *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct event *e;
	/* The siginfo's si_errno, as libbpf-tools' sigsnoop shows (and -x
	 * filters on); not `result`, the delivery outcome (ignored, pending). */
	int ret = ctx->errno;
	int sig = ctx->sig;

	if (failed_only && ret == 0)
		return 0;
	if (!signal_wanted(pid, sig))
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	e->pid = pid;
	e->tpid = ctx->pid;
	e->sig = sig;
	e->ret = ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel(e->tcomm, sizeof(e->tcomm), ctx->comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* -k: the kill syscall in flight on this thread generates the signal here,
 * in the same thread, with the target's comm (several for a process group:
 * the last one stays). */
SEC("tracepoint/signal/signal_generate")
int kill_target_tp(struct trace_event_raw_signal_generate *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&values, &tid);

	if (e)
		bpf_probe_read_kernel(e->tcomm, sizeof(e->tcomm), ctx->comm);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
