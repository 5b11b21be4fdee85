/* A map with a struct value for `bpfkit map update/delete`
 * (crates/cli/tests/inspect.rs): each kill() of process `target_tgid`
 * adds one to `count` of the entry whose key is the signal number, if
 * that entry exists. The test creates and deletes the entries, so the
 * counts show that the program saw exactly what the test wrote. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The layout of every syscalls:sys_enter_* tracepoint record. */
struct syscall_enter {
	unsigned long long common;
	long id;
	unsigned long args[6];
};

enum state { IDLE = 0, BUSY = 1 };

struct stats {
	__u64 count;
	char comm[16];
	__s32 err;
	enum state state;
};

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct stats);
} stats SEC(".maps");

SEC("tp/syscalls/sys_enter_kill")
int count_signals(struct syscall_enter *ctx)
{
	if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	__u32 sig = ctx->args[1];
	struct stats *s = bpf_map_lookup_elem(&stats, &sig);
	if (s)
		__sync_fetch_and_add(&s->count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
