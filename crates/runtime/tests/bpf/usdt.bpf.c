/* A libbpf USDT program, as libbpf-tools write them: SEC("usdt/...") and
 * libbpf's own <bpf/usdt.bpf.h> (its spec maps and bpf_usdt_arg()). The
 * test binary's probe bpfkit_test:tick has three arguments: a register, a
 * memory operand or constant, a constant (see usdt_target.c). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
/* bpfkit does not resolve .kconfig externs yet: define usdt.bpf.h's one
 * (`extern const _Bool LINUX_HAS_BPF_COOKIE __kconfig;`) as true, which
 * every kernel bpfkit attaches usdt on (5.15+) is. */
#undef __kconfig
#define __kconfig = 1
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;

struct tick {
	__u32 arg_cnt;
	__s32 ret;
	long arg0;
	long arg1;
	long arg2;
	__u64 cookie;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
	__type(value, struct tick);
} ticks SEC(".maps");

SEC("usdt/usdt_target:bpfkit_test:tick")
int on_tick(struct pt_regs *ctx)
{
	struct tick *t;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	t = bpf_ringbuf_reserve(&ticks, sizeof(*t), 0);
	if (!t)
		return 0;
	t->arg_cnt = bpf_usdt_arg_cnt(ctx);
	t->ret = bpf_usdt_arg(ctx, 0, &t->arg0);
	t->ret |= bpf_usdt_arg(ctx, 1, &t->arg1);
	t->ret |= bpf_usdt_arg(ctx, 2, &t->arg2);
	t->cookie = bpf_usdt_cookie(ctx);
	bpf_ringbuf_submit(t, 0);
	return 0;
}
