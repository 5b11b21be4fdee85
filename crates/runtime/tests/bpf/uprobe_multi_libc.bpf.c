/* uprobe.multi with its target in the SEC() name: a glob over libc's
 * functions that only getppid matches (cookie 1). */
#include "common.h"

__u64 getppid_calls = 0;
__u64 wrong_cookie = 0;

SEC("uprobe.multi/libc:getppi?")
int on_getppid(void *ctx)
{
	if (bpf_get_attach_cookie(ctx) == 1)
		__sync_fetch_and_add(&getppid_calls, 1);
	else
		__sync_fetch_and_add(&wrong_cookie, 1);
	return 0;
}
