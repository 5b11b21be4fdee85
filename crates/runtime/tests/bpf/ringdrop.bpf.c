/* Ring buffer drops counted in a plain global named `dropped`: bpfkit
 * finds it by its name (the object's only event map is a ring buffer). */
#include "ringdrop.h"

__u64 dropped = 0;

static __always_inline void count_drop(void)
{
	__sync_fetch_and_add(&dropped, 1);
}
