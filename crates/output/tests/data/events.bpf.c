// Event and map value types for bpfkit-output's tests: the shapes of
// libbpf-tools' events, plus every bpfkit.h hint. Only the BTF matters.
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef int __s32;
typedef long long __s64;
typedef _Bool bool;
#include "bpfkit.h"

/* execsnoop */
struct exec_event {
	int pid;
	int ppid;
	int uid;
	int retval;
	bool is_exit;
	char comm[16];
};

/* As vmlinux.h and <linux/types.h> declare it. */
typedef __u16 __be16;

/* tcpconnect: address unions chosen by af, lport host order, dport network
 * order (its type says so: a plain __u16 port is host order) */
struct tcp_event {
	union {
		__u32 saddr_v4;
		__u8 saddr_v6[16];
	};
	union {
		__u32 daddr_v4;
		__u8 daddr_v6[16];
	};
	char task[16];
	__u64 ts_us;
	__u32 af;
	__u32 pid;
	__u32 uid;
	__u16 lport;
	__be16 dport;
};

struct hinted {
	bpfkit_ipv4_t server;
	bpfkit_port_t port;
	bpfkit_family_t fam;
	bpfkit_errno_t result;
	bpfkit_signal_t sig_no;
	bpfkit_syscall_t nr;
	bpfkit_duration_us_t took;
	bpfkit_ktime_t when;
	bpfkit_hex_t where;
	bpfkit_ip_addr_t peer;
	bpfkit_argv_t args[32];
	bpfkit_comm_t name;
};

enum state { IDLE, RUNNING = 5, DEAD = -1 };

struct inner {
	int a;
	char tag[4];
};

struct mixed {
	struct inner in;
	enum state st;
	unsigned int low : 3;
	int high : 5;
	struct inner pair[2];
	__u32 addr6[4];
};

/* capable -K/-U: the stacks, sent only when asked for, end the record. */
struct stacks_last {
	__u32 pid;
	char comm[16];
	__u64 kernel_ips[4];
	__u64 user_ips[4];
};

/* runqlat -P */
struct hist_key {
	__u32 pid;
};

struct hist {
	__u32 slots[26];
	char comm[16];
};

struct hinted_hist {
	bpfkit_hist_slots_t slots[8];
};

struct count_key {
	__u32 pid;
	char comm[16];
};

/* 64 bytes, for the JSON throughput measurement */
struct bench_event {
	__u32 pid;
	__u32 tid;
	__u32 uid;
	int ret;
	__u64 ts;
	__u64 delta_us;
	char comm[16];
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u32 flags;
};

/* Ports the data flow says are stored in network order: a plain __u16
 * follows the flow, a hint typedef or a host-order name does not. */
struct flow_ports {
	__u16 sport;
	__u16 dport;
	bpfkit_port_host_t hport;
	__u16 lport;
};

struct exec_event *e1 __attribute__((used));
struct tcp_event *e2 __attribute__((used));
struct hinted *e3 __attribute__((used));
struct mixed *e4 __attribute__((used));
struct stacks_last *e_stacks __attribute__((used));
struct hist_key *e5 __attribute__((used));
struct hist *e6 __attribute__((used));
struct hinted_hist *e7 __attribute__((used));
struct count_key *e8 __attribute__((used));
struct bench_event *e9 __attribute__((used));
__u32 *e10 __attribute__((used));
__u64 *e11 __attribute__((used));
struct flow_ports *e12 __attribute__((used));
