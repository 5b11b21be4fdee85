/* For `bpfkit serve` (crates/cli/tests/serve.rs): execs counted per comm,
 * and a log2 histogram (in usecs) of clock_nanosleep calls per comm. The
 * tests run binaries with names of their own and check the series. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_SLOTS 27

struct comm_key {
	char comm[16];
};

struct sleep_hist {
	__u64 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct comm_key);
	__type(value, __u64);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct comm_key);
	__type(value, struct sleep_hist);
} sleep_usecs SEC(".maps");

/* Thread id → when its clock_nanosleep began (scratch: not exported). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} sleep_start SEC(".maps");

SEC("tp/sched/sched_process_exec")
int count_exec(void *ctx)
{
	struct comm_key key = {};
	__u64 one = 1, *count;

	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	count = bpf_map_lookup_elem(&execs, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&execs, &key, &one, BPF_NOEXIST);
	return 0;
}

SEC("tp/syscalls/sys_enter_clock_nanosleep")
int sleep_enter(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&sleep_start, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_clock_nanosleep")
int sleep_exit(void *ctx)
{
	static const struct sleep_hist zero;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct comm_key key = {};
	struct sleep_hist *hist;
	__u64 *start, usecs, slot = 0;

	start = bpf_map_lookup_elem(&sleep_start, &tid);
	if (!start)
		return 0;
	usecs = (bpf_ktime_get_ns() - *start) / 1000;
	bpf_map_delete_elem(&sleep_start, &tid);
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	hist = bpf_map_lookup_elem(&sleep_usecs, &key);
	if (!hist) {
		bpf_map_update_elem(&sleep_usecs, &key, &zero, BPF_NOEXIST);
		hist = bpf_map_lookup_elem(&sleep_usecs, &key);
		if (!hist)
			return 0;
	}
	while (usecs > 1 && slot < MAX_SLOTS - 1) {
		usecs >>= 1;
		slot++;
	}
	__sync_fetch_and_add(&hist->slots[slot], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
