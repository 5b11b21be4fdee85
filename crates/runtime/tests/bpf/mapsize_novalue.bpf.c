/* A hash map whose value size is left to user space (no __type(value) and
 * no value_size): the kernel refuses to create it, and bpfkit must say
 * which map and which field. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
} pending SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	__u32 key = current_tgid();
	return bpf_map_lookup_elem(&pending, &key) != 0;
}
