/* Rejected by the verifier: dereferences a number. */
#include "common.h"

SEC("tp/syscalls/sys_enter_getppid")
int deref_scalar(void *ctx)
{
	int *bad_pointer = (int *)(long)bpf_get_prandom_u32();
	return *bad_pointer + 1; /* the verifier stops here */
}
