/* Needs `-I DIR` (for run_defs.h, which the test writes) and `-D KIND=N`
 * to build: `bpfkit run SRC.bpf.c` takes them like `bpfkit build`. Each
 * getpgid() of process `target_tgid` stores DEFS_BASE + KIND. */
#include "common.h"
#include "run_defs.h"

#ifndef KIND
#error "KIND must be defined with -D"
#endif

const volatile __u32 target_tgid = 0;
__u64 kind_seen = 0;

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	if (current_tgid() == target_tgid)
		kind_seen = DEFS_BASE + KIND;
	return 0;
}
