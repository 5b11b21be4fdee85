/* A perf event array without __type(value) whose records have no constant
 * size: the program fills a per-CPU map value and sends only the part it
 * wrote, as libbpf-tools' ksnoop trims its `struct trace`. bpfkit finds
 * the record struct as the value type of the map the sent pointer was
 * looked up in. One record per getpgid() of process `target_tgid`. */
#include "common.h"

struct trace_record {
	__u32 tgid;
	__u32 kind;
	__u16 len;
	char buf[64];
};

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct trace_record);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} traces SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	__u32 zero = 0;
	struct trace_record *t;
	__u64 size;

	if (current_tgid() != target_tgid)
		return 0;
	t = bpf_map_lookup_elem(&scratch, &zero);
	if (!t)
		return 0;
	t->tgid = target_tgid;
	t->kind = 9;
	__builtin_memcpy(t->buf, "trimmed", 8);
	/* A length the compiler cannot know: 8 to 39 bytes of buf. */
	t->len = 8 + (bpf_get_prandom_u32() & 31);
	size = sizeof(*t) - sizeof(t->buf) + t->len;
	if (size <= sizeof(*t))
		bpf_perf_event_output(ctx, &traces, BPF_F_CURRENT_CPU, t, size);
	return 0;
}
