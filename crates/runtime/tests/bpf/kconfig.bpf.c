/* .kconfig and .ksyms externs, as libbpf resolves them (libbpf-tools'
 * bitesize, sigsnoop and every BPF_KSYSCALL program use them): one event
 * per getpgid() of process `target_tgid` with what the loader filled in,
 * which crates/cli/tests/externs.rs checks against uname, the kernel
 * config and /proc/kallsyms. */
#include "common.h"

struct task_struct;

extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern _Bool LINUX_HAS_BPF_COOKIE __kconfig;
/* A bool, an int and a char as libbpf types them; one option that no
 * kernel has, weak, so 0. */
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern char CONFIG_BPF_EVENTS __kconfig __weak;
extern _Bool CONFIG_BPFKIT_NO_SUCH_OPTION __kconfig __weak;

/* A present kfunc (called and tested), a missing weak one, and a typeless
 * present ksym and a missing weak one. */
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpfkit_no_such_kfunc(void) __ksym __weak;
extern const void bpf_prog_put __ksym;
extern const void bpfkit_no_such_symbol __ksym __weak;
/* A missing weak typed ksym (a present one: ksym_typed.bpf.c). */
extern const int bpfkit_no_such_var __ksym __weak;

struct event {
	__u32 version;
	__u32 hz;
	__u8 syscall_wrapper;
	__u8 bpf_cookie;
	__u8 bpf_syscall;
	__u8 bpf_events;
	__u8 no_such_option;
	__u8 has_kfunc;
	__u8 has_missing_kfunc;
	__u8 has_missing_symbol;
	__u64 prog_put;
	__u32 found_self;
	__u8 has_missing_var;
	__u8 pad[3];
};

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
	__type(value, struct event);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->version = LINUX_KERNEL_VERSION;
	e->hz = CONFIG_HZ;
	e->syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	e->bpf_cookie = LINUX_HAS_BPF_COOKIE;
	e->bpf_syscall = CONFIG_BPF_SYSCALL;
	e->bpf_events = CONFIG_BPF_EVENTS;
	e->no_such_option = CONFIG_BPFKIT_NO_SUCH_OPTION;
	/* libbpf 1.8's bpf_ksym_exists() (Debian's libbpf 1.1 lacks it). */
	e->has_kfunc = !!bpf_task_from_pid;
	e->has_missing_kfunc = !!bpfkit_no_such_kfunc;
	e->has_missing_symbol = !!&bpfkit_no_such_symbol;
	e->prog_put = (__u64)&bpf_prog_put;
	e->has_missing_var = !!&bpfkit_no_such_var;
	e->found_self = 0;
	if (bpf_task_from_pid) {
		struct task_struct *t = bpf_task_from_pid(target_tgid);
		if (t) {
			e->found_self = 1;
			bpf_task_release(t);
		}
	}
	/* Dead at run time (the kfunc is missing), so the verifier accepts
	 * the poisoned call, as libbpf's. */
	if (bpfkit_no_such_kfunc)
		bpfkit_no_such_kfunc();
	bpf_ringbuf_submit(e, 0);
	return 0;
}
