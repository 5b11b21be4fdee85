/* Counts the perf_event samples taken while process `target_tgid` runs:
 * on software events with a period of 1, one per event. */
#include "common.h"

const volatile __u32 target_tgid = 0;

__u64 samples = 0;

SEC("perf_event")
int on_sample(void *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	__sync_fetch_and_add(&samples, 1);
	return 0;
}
