// CO-RE relocations of every kind bpfkit implements, against kernel types
// under local `___flavor` names with a layout unlike the kernel's, so that
// each relocation has to change something. Checked by tests/co_re.rs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___local {
	unsigned int sched_reset_on_fork : 1;
	int pid;
	int tgid;
	long no_such_field;
} __attribute__((preserve_access_index));

struct no_such_type___local {
	int a;
} __attribute__((preserve_access_index));

struct list_head___local {
	struct list_head___local *next, *prev;
};

struct list_head___bad {
	int next;
};

enum pid_type___local {
	PIDTYPE_TGID___local = 7,
	NO_SUCH_VALUE___local = 9,
};

__u64 out[15];

SEC("tracepoint/syscalls/sys_enter_getpid")
int co_re(void *ctx)
{
	struct task_struct___local *t = (void *)bpf_get_current_task();

	out[0] = BPF_CORE_READ(t, tgid);
	out[1] = bpf_core_field_exists(t->no_such_field);
	out[2] = bpf_core_field_exists(t->pid);
	out[3] = bpf_core_field_size(t->pid);
	out[4] = BPF_CORE_READ_BITFIELD_PROBED(t, sched_reset_on_fork);
	out[5] = bpf_core_type_exists(struct no_such_type___local);
	out[6] = bpf_core_type_exists(struct task_struct___local);
	out[7] = bpf_core_type_size(struct task_struct___local);
	out[8] = bpf_core_enum_value_exists(enum pid_type___local, PIDTYPE_TGID___local);
	out[9] = bpf_core_enum_value(enum pid_type___local, PIDTYPE_TGID___local);
	out[10] = bpf_core_enum_value_exists(enum pid_type___local, NO_SUCH_VALUE___local);
	out[12] = bpf_core_type_matches(struct list_head___local);
	out[13] = bpf_core_type_matches(struct list_head___bad);
	out[14] = bpf_core_type_matches(struct task_struct___local);
	// Poisoned (the field does not exist) but unreachable: still loads.
	if (bpf_core_field_exists(t->no_such_field))
		out[11] = BPF_CORE_READ(t, no_such_field);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
