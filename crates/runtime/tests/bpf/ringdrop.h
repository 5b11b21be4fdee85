/* A ring buffer of one page: getpgid() calls of process `target_tgid`
 * overflow it while nobody reads, and the program counts the records it
 * could not reserve with count_drop(), which the including file defines
 * (one drop counter form of bpfkit.h each). */
#include "common.h"

struct event {
	__u32 tgid;
	__u32 pad;
	__u64 seq;
	__u8 filler[48];
};

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
	__type(value, struct event);
} events SEC(".maps");

__u64 seq = 0;

static __always_inline void count_drop(void);

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	e->tgid = target_tgid;
	e->seq = __sync_fetch_and_add(&seq, 1);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
