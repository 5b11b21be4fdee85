/* Strong externs the kernel lacks: loading must fail with one line naming
 * each (a weak one would be 0). */
#include "common.h"

extern _Bool CONFIG_BPFKIT_NO_SUCH_OPTION __kconfig;
extern void bpfkit_no_such_kfunc(void) __ksym;

__u32 seen = 0;

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	seen = CONFIG_BPFKIT_NO_SUCH_OPTION;
	bpfkit_no_such_kfunc();
	return 0;
}
