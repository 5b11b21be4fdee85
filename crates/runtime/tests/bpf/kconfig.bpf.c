/* A .kconfig extern and a weak kfunc (.ksyms), as libbpf-tools' bitesize
 * and sigsnoop use them. bpfkit does not resolve externs yet: loading must
 * fail with one line naming them, not aya's BTF error about the size of
 * section .kconfig. */
#include "common.h"

struct task_struct;

extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym __weak;

__u32 version_seen = 0;
__u32 has_kfunc = 0;

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	version_seen = LINUX_KERNEL_VERSION;
	/* libbpf 1.8's bpf_ksym_exists() (Debian's libbpf 1.1 lacks it). */
	has_kfunc = !!bpf_task_from_pid;
	return 0;
}
