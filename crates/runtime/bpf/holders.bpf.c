/* Which processes hold which BPF objects, in one pass over every open file
 * of every process (a task_file iterator), for `prog list`, `map list`,
 * `link list` and `top`: one record per BPF fd, written to the iterator's
 * seq_file, read by bpfkit-runtime's holders.rs.
 *
 * A BPF object's fd is an anonymous-inode file named "bpf-prog", "bpf-map"
 * or "bpf_link". Telling them apart by the anon inode filesystem's magic
 * and the dentry name needs no kernel symbol address (comparing f_op with
 * bpf_prog_fops would mean reading /proc/kallsyms, which costs more than
 * the whole iteration).
 *
 * The kernel types are declared here with only the members read (CO-RE
 * finds them in any kernel's layout), not taken from vmlinux.h: the
 * object's BTF stays a few types small, which keeps loading it (parsing
 * it, matching its types against the kernel's) cheap for `prog list`. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define __core __attribute__((preserve_access_index))

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
} __core;

struct task_struct {
	int tgid;
	struct task_struct *group_leader;
	char comm[16];
} __core;

struct super_block {
	unsigned long s_magic;
} __core;

struct inode {
	struct super_block *i_sb;
} __core;

struct qstr {
	const unsigned char *name;
} __core;

struct dentry {
	struct qstr d_name;
} __core;

struct path {
	struct dentry *dentry;
} __core;

struct file {
	struct path f_path;
	struct inode *f_inode;
	void *private_data;
} __core;

struct bpf_prog_aux {
	__u32 id;
} __core;

struct bpf_prog {
	struct bpf_prog_aux *aux;
} __core;

struct bpf_map {
	__u32 id;
} __core;

struct bpf_link {
	__u32 id;
} __core;

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
} __core;

char LICENSE[] SEC("license") = "GPL";

#define ANON_INODE_FS_MAGIC 0x09041934
#define TASK_COMM_LEN 16

/* Keep in step with holders.rs. */
enum holder_kind {
	HOLDER_PROG = 1,
	HOLDER_MAP = 2,
	HOLDER_LINK = 3,
};

struct holder_record {
	__u32 kind;
	__u32 id;
	__u32 pid;
	char comm[TASK_COMM_LEN];
};

/* The kind of BPF object behind an anonymous inode named `name` (9 bytes
 * read, NUL included), 0 for any other file. */
static __always_inline __u32 kind_of(const char name[9])
{
	if (name[0] != 'b' || name[1] != 'p' || name[2] != 'f')
		return 0;
	if (name[3] == '-' && name[4] == 'p' && name[5] == 'r' && name[6] == 'o' &&
	    name[7] == 'g' && name[8] == 0)
		return HOLDER_PROG;
	if (name[3] == '-' && name[4] == 'm' && name[5] == 'a' && name[6] == 'p' &&
	    name[7] == 0)
		return HOLDER_MAP;
	if (name[3] == '_' && name[4] == 'l' && name[5] == 'i' && name[6] == 'n' &&
	    name[7] == 'k' && name[8] == 0)
		return HOLDER_LINK;
	return 0;
}

/* The id of the object in a BPF file's private_data. */
static __always_inline __u32 id_of(__u32 kind, void *object)
{
	switch (kind) {
	case HOLDER_PROG:
		return BPF_CORE_READ((struct bpf_prog *)object, aux, id);
	case HOLDER_MAP:
		return BPF_CORE_READ((struct bpf_map *)object, id);
	default:
		return BPF_CORE_READ((struct bpf_link *)object, id);
	}
}

SEC("iter/task_file")
int bpf_holders(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct holder_record record = {};
	char name[9] = {};

	if (!task || !file)
		return 0;
	if (BPF_CORE_READ(file, f_inode, i_sb, s_magic) != ANON_INODE_FS_MAGIC)
		return 0;
	bpf_probe_read_kernel_str(name, sizeof(name),
				  BPF_CORE_READ(file, f_path.dentry, d_name.name));
	record.kind = kind_of(name);
	if (!record.kind)
		return 0;
	record.id = id_of(record.kind, BPF_CORE_READ(file, private_data));
	record.pid = BPF_CORE_READ(task, tgid);
	BPF_CORE_READ_STR_INTO(&record.comm, task, group_leader, comm);
	bpf_seq_write(ctx->meta->seq, &record, sizeof(record));
	return 0;
}
