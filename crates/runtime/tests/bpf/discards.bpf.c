/* Reserves a record on every system call of every process and discards
 * it, except for getpgid(MARKER_BASE + n) by process `target_tgid`, which
 * it submits: the reader keeps meeting reserved-not-yet-committed and
 * discarded records ahead of the one it waits for (bpfkit trace's
 * reserve-filter-discard pattern, under load). */
#include "common.h"

#define NR_GETPGID 121
#define MARKER_BASE 0x5eed0000UL

struct event {
	__u64 marker;
};

const volatile __u32 target_tgid = 0;
/* The reader's thread: its own epoll_wait calls would wake it forever. */
const volatile __u32 reader_tid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__type(value, struct event);
} events SEC(".maps");

SEC("tp/raw_syscalls/sys_enter")
int on_sys_enter(struct syscall_enter *ctx)
{
	if ((__u32)bpf_get_current_pid_tgid() == reader_tid)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->marker = ctx->args[0];
	if (current_tgid() == target_tgid && ctx->id == NR_GETPGID &&
	    (e->marker & ~0xffffUL) == MARKER_BASE)
		bpf_ringbuf_submit(e, 0);
	else
		bpf_ringbuf_discard(e, 0);
	return 0;
}
