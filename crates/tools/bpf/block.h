/* Block layer helpers shared by biolatency, biosnoop and biopattern. */
#ifndef BPFKIT_TOOLS_BLOCK_H
#define BPFKIT_TOOLS_BLOCK_H

#include "common.h"

#define MINORBITS 20
/* The kernel's dev_t encoding (not glibc's): -d DISK is given in it. */
#define MKDEV(ma, mi) (((u32)(ma) << MINORBITS) | (u32)(mi))
#define RWBS_LEN 8
#define REQ_OP_MASK 0xff

/* Before 5.17 the disk hung off the request itself. */
struct request___old {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *get_disk(struct request *rq)
{
	struct request___old *old = (void *)rq;

	if (bpf_core_field_exists(old->rq_disk))
		return BPF_CORE_READ(old, rq_disk);
	return BPF_CORE_READ(rq, q, disk);
}

static __always_inline u32 request_dev(struct request *rq)
{
	struct gendisk *disk = get_disk(rq);

	return disk ? MKDEV(BPF_CORE_READ(disk, major), BPF_CORE_READ(disk, first_minor)) : 0;
}

static __always_inline bool has_flag(u32 cmd_flags, int bit)
{
	return cmd_flags & (1U << bit);
}

/* The kernel's "rwbs" text for a request (as block tracepoints show it):
 * F(lush) before the operation R/W/D/E/F/N, then F(UA) A(head) S(ync) M(eta). */
static __always_inline void fill_rwbs(char *rwbs, u32 cmd_flags)
{
	u32 op = cmd_flags & REQ_OP_MASK;
	int i = 0;

	if (has_flag(cmd_flags, bpf_core_enum_value(enum req_flag_bits, __REQ_PREFLUSH)))
		rwbs[i++] = 'F';
	if (op == bpf_core_enum_value(enum req_op, REQ_OP_WRITE))
		rwbs[i++] = 'W';
	else if (op == bpf_core_enum_value(enum req_op, REQ_OP_READ))
		rwbs[i++] = 'R';
	else if (op == bpf_core_enum_value(enum req_op, REQ_OP_DISCARD))
		rwbs[i++] = 'D';
	else if (op == bpf_core_enum_value(enum req_op, REQ_OP_WRITE_ZEROES))
		rwbs[i++] = 'E';
	else if (op == bpf_core_enum_value(enum req_op, REQ_OP_FLUSH))
		rwbs[i++] = 'F';
	else
		rwbs[i++] = 'N';
	if (has_flag(cmd_flags, bpf_core_enum_value(enum req_flag_bits, __REQ_FUA)))
		rwbs[i++] = 'F';
	if (has_flag(cmd_flags, bpf_core_enum_value(enum req_flag_bits, __REQ_RAHEAD)))
		rwbs[i++] = 'A';
	if (has_flag(cmd_flags, bpf_core_enum_value(enum req_flag_bits, __REQ_SYNC)))
		rwbs[i++] = 'S';
	if (has_flag(cmd_flags, bpf_core_enum_value(enum req_flag_bits, __REQ_META)))
		rwbs[i++] = 'M';
	rwbs[i] = '\0';
}

#endif
