/* Maps whose sizes are left to user space, as libbpf-tools write them
 * (profile, offcputime, cpudist...): a stack trace map with neither
 * max_entries nor value_size, and a hash map without max_entries. Each
 * getpgid() of process `target_tgid` inserts keys 1..8 into `seen` (as many
 * as fit) and records its user stack. */
#include "common.h"

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__type(key, __u32);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __s64);
} seen SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	__s64 stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	/* Written out: clang turns a loop into one the verifier calls infinite. */
	__u32 keys[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	bpf_map_update_elem(&seen, &keys[0], &stack, BPF_NOEXIST);
	bpf_map_update_elem(&seen, &keys[1], &stack, BPF_NOEXIST);
	bpf_map_update_elem(&seen, &keys[2], &stack, BPF_NOEXIST);
	bpf_map_update_elem(&seen, &keys[3], &stack, BPF_NOEXIST);
	bpf_map_update_elem(&seen, &keys[4], &stack, BPF_NOEXIST);
	bpf_map_update_elem(&seen, &keys[5], &stack, BPF_NOEXIST);
	bpf_map_update_elem(&seen, &keys[6], &stack, BPF_NOEXIST);
	bpf_map_update_elem(&seen, &keys[7], &stack, BPF_NOEXIST);
	return 0;
}
