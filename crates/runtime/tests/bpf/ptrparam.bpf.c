/* A pointer-typed parameter, as klockstat's `targ_lock` (a kernel address
 * its C front end looks up): it cannot come from the command line, and must
 * not keep the object from loading. The integer parameter next to it stays
 * a flag. One ring buffer record per getpgid() of process `target_tgid`. */
#include "common.h"

struct event {
	__u32 tgid;
	__u32 lock_is_null;
};

const volatile void *targ_lock = 0;
const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
	__type(value, struct event);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->tgid = target_tgid;
	e->lock_is_null = targ_lock == 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
