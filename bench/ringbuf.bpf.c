// SPDX-License-Identifier: GPL-2.0
// Ring buffer producer for the transport benchmark (M4): one record per
// getpgid(MAGIC) call of the workload generator. REC_SIZE (8 or 256) is set
// with -D at bench time; the record is named `struct event` so bpfkit finds
// it without hints and libbpf loads the object unchanged.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef REC_SIZE
#define REC_SIZE 8
#endif
#define MAGIC 0x7ffffff0

struct event {
	__u64 seq;
#if REC_SIZE > 8
	char text[REC_SIZE - 8];
#endif
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

__u64 seq = 0;
/* keeps struct event in BTF (programs only use it through a pointer) */
struct event *event_type_anchor = 0;

SEC("tp/syscalls/sys_enter_getpgid")
int produce(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] != MAGIC)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->seq = __sync_fetch_and_add(&seq, 1);
#if REC_SIZE > 8
	/* a short NUL-terminated text, the rest zero: like a path or a comm */
	__builtin_memset(e->text, 0, sizeof(e->text));
	__builtin_memcpy(e->text, "/usr/lib/x86_64-linux-gnu/libc.so.6", 36);
#endif
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
