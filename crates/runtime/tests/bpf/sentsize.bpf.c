/* Event maps without __type(value): bpfkit finds the record struct from the
 * constant size the program passes when it sends (libbpf-tools' bindsnoop,
 * capable). `ring` gets a `struct ring_record` reserved by size; `samples`
 * gets a `struct sample_event` sent with bpf_perf_event_output, and `struct
 * pair` has the same size (the name that says "event" wins). One record on
 * each per getpgid() of process `target_tgid`. */
#include "common.h"

struct ring_record {
	__u32 tgid;
	__u32 seq;
	__u64 tag;
};

struct sample_event {
	__u32 tgid;
	__u32 kind;
};

struct pair {
	__u32 a;
	__u32 b;
};

const volatile __u32 target_tgid = 0;
__u32 seq = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct pair);
	__type(value, __u32);
} pairs SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct syscall_enter *ctx)
{
	if (current_tgid() != target_tgid)
		return 0;
	struct ring_record *r = bpf_ringbuf_reserve(&ring, sizeof(struct ring_record), 0);
	if (r) {
		r->tgid = target_tgid;
		r->seq = ++seq;
		r->tag = 0x5eed;
		bpf_ringbuf_submit(r, 0);
	}
	struct sample_event s = {.tgid = target_tgid, .kind = 7};
	bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &s, sizeof(s));
	struct pair p = {.a = 1, .b = 2};
	__u32 one = 1;
	bpf_map_update_elem(&pairs, &p, &one, BPF_ANY);
	return 0;
}
