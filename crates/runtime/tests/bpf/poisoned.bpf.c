/* Unguarded CO-RE reads of what this kernel lacks: bpfkit poisons them
 * (as libbpf does) and the verifier rejects the programs at the poisoned
 * instruction. tests/errors.rs checks that the error names the struct, the
 * field and what the kernel lacks, instead of dumping the verifier log. */
#include "common.h"
#include <bpf/bpf_core_read.h>

/* No kernel has this struct. */
struct bpfkit_no_such_struct {
	long pad;
	int missing_field;
} __attribute__((preserve_access_index));

/* The kernel's task_struct, with a field it does not have. */
struct task_struct___bpfkit {
	int bpfkit_no_such_field;
} __attribute__((preserve_access_index));

int sink = 0;

SEC("tp/syscalls/sys_enter_getppid")
int read_missing_struct(void *ctx)
{
	struct bpfkit_no_such_struct *s = (void *)bpf_get_current_task();
	int value = 0;

	bpf_probe_read_kernel(&value, sizeof(value), &s->missing_field);
	sink = value;
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int read_missing_field(void *ctx)
{
	struct task_struct___bpfkit *t = (void *)bpf_get_current_task();
	int value = 0;

	bpf_probe_read_kernel(&value, sizeof(value), &t->bpfkit_no_such_field);
	sink = value;
	return 0;
}

/* The same unguarded read in a subprogram (.text), which aya appends
 * after the program's own instructions. */
static __attribute__((noinline)) int read_field_of(struct bpfkit_no_such_struct *s)
{
	int value = 0;

	bpf_probe_read_kernel(&value, sizeof(value), &s->missing_field);
	return value;
}

SEC("tp/syscalls/sys_enter_getppid")
int read_in_subprogram(void *ctx)
{
	sink = read_field_of((void *)bpf_get_current_task());
	return 0;
}
