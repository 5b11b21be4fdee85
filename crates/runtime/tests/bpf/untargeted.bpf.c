/* SEC() names whose target only the loader knows, as in libbpf-tools:
 * `uprobe/do_handshake` (sslsniff: the loader picks the library) and
 * `tp/unused` (a tail-call target, never attached by name). */
#include "common.h"

const volatile __u32 target_tgid = 0;

__u64 tp_hits = 0;
__u64 uprobe_hits = 0;

SEC("tp/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	if (current_tgid() == target_tgid)
		__sync_fetch_and_add(&tp_hits, 1);
	return 0;
}

SEC("uprobe/do_handshake")
int on_handshake(void *ctx)
{
	if (current_tgid() == target_tgid)
		__sync_fetch_and_add(&uprobe_hits, 1);
	return 0;
}

SEC("tp/unused")
int tail_target(void *ctx)
{
	return 0;
}
