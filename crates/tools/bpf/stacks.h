/* Shared by the stack-collecting tools (profile, offcputime, memleak): the
 * stack trace map user space symbolizes (bpfkit-symbolize). */
#ifndef BPFKIT_TOOLS_STACKS_H
#define BPFKIT_TOOLS_STACKS_H

#include "common.h"

#define PERF_MAX_STACK_DEPTH 127

typedef u64 stack_trace_t[PERF_MAX_STACK_DEPTH];

/* Instruction pointers by stack id, innermost frame first. */
#define DEFINE_STACK_TRACES(entries)                                           \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                        \
		__uint(key_size, sizeof(u32));                                 \
		__type(value, stack_trace_t);                                  \
		__uint(max_entries, entries);                                  \
	} stack_traces SEC(".maps")

/* A stack id, or -1 (-EFAULT etc.: negative) when not collected. */
#define KERNEL_STACK(ctx) bpf_get_stackid(ctx, &stack_traces, 0)
#define USER_STACK(ctx) bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK)

#endif
