/* Hooks this test kernel lacks: kprobes, ksyscall and fentry. */
#include "common.h"

__u64 hits = 0;

SEC("ksyscall/kill")
int handle_kill(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("kprobe/__x64_sys_getpid")
int handle_getpid(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("fentry/do_unlinkat")
int handle_unlink(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int fine(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("lsm/file_open")
int handle_open(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}
