/* A syscall program: adds the two numbers of its context, writes the sum
 * back into it and into a global, and returns it. */
#include "common.h"

struct args {
	__u32 a;
	__u32 b;
	__u32 sum;
};

__u64 runs = 0;
__u32 last_sum = 0;

SEC("syscall")
int add(struct args *ctx)
{
	__u32 sum = ctx->a + ctx->b;

	ctx->sum = sum;
	last_sum = sum;
	__sync_fetch_and_add(&runs, 1);
	return sum;
}
