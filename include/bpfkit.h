/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bpfkit.h: optional hints for bpfkit, for the kernel half of a tool.
 *
 * Include it after vmlinux.h (or <linux/types.h>); it only needs the
 * __u8/__u16/__u32/__u64/__s32/__s64 types. Nothing here changes what the
 * program does in the kernel: the typedefs are plain integers and arrays,
 * and BPFKIT_EVENT() only adds a BTF type reference. Contents: event maps,
 * formatting hints, ring buffer drop counters.
 */
#ifndef __BPFKIT_H__
#define __BPFKIT_H__

/*
 * BPFKIT_EVENT(map, struct T): the records that `map` (a ring buffer or a
 * perf event array) carries are `struct T`. bpfkit decodes and prints them
 * field by field.
 *
 *     struct event { __u32 pid; char comm[16]; };
 *     struct {
 *             __uint(type, BPF_MAP_TYPE_RINGBUF);
 *             __uint(max_entries, 256 * 1024);
 *     } events SEC(".maps");
 *     BPFKIT_EVENT(events, struct event);
 *
 * Writing `__type(value, struct event);` inside the map definition works
 * too (bpfkit removes it before loading, since the kernel refuses a value
 * type on a ring buffer). Without either, bpfkit also accepts a struct
 * named `event` when the object has a single event map.
 *
 * How it works: a global pointer `struct T *____bpfkit_event__<map>` in a
 * section of its own (".bpfkit"). clang keeps it (it is global and `used`)
 * so `struct T` survives in BTF even though programs only use it through
 * the void pointer of bpf_ringbuf_reserve(); the loader ignores the
 * section and no map is created for it.
 */
#define BPFKIT_EVENT(map, type)                                              \
	type *____bpfkit_event__##map                                        \
		__attribute__((section(".bpfkit"), used))

/*
 * Formatting hints: declare a field with one of these typedefs and bpfkit
 * shows it in the given way (the typedef name is kept in BTF). A hint
 * always wins over bpfkit's guesses from field names.
 */

/* IPv4 address as the kernel stores it (network byte order): 10.0.0.1 */
typedef __u32 bpfkit_ipv4_t;
/* IPv6 address: ::1, fe80::1 */
typedef __u8 bpfkit_ipv6_t[16];
/* IPv4 or IPv6 address; the struct's `family` or `af` field says which
 * (AF_INET = 2 uses the first four bytes). */
typedef __u8 bpfkit_ip_addr_t[16];
/* Port in network byte order (like skc_dport), shown in host order. */
typedef __u16 bpfkit_port_t;
/* Port already in host byte order (like skc_num). */
typedef __u16 bpfkit_port_host_t;
/* Address family, shown by name (AF_INET, AF_INET6, ...). */
typedef __u16 bpfkit_family_t;
/* Durations: human units in tables (1.25ms), the raw number in JSON. */
typedef __u64 bpfkit_duration_ns_t;
typedef __u64 bpfkit_duration_us_t;
typedef __u64 bpfkit_duration_ms_t;
/* Return value where a negative number is -errno: shown as ENOENT. */
typedef __s64 bpfkit_errno_t;
/* Signal number, shown by name (SIGKILL). */
typedef __s32 bpfkit_signal_t;
/* x86-64 system call number, shown by name (openat). */
typedef __s64 bpfkit_syscall_t;
/* bpf_ktime_get_ns() (CLOCK_MONOTONIC), shown as wall-clock time. */
typedef __u64 bpfkit_ktime_t;
/* bpf_ktime_get_boot_ns() (CLOCK_BOOTTIME), shown as wall-clock time. */
typedef __u64 bpfkit_boot_ns_t;
/* User id; tables show the user name when /etc/passwd has it. */
typedef __u32 bpfkit_uid_t;
/* Process or thread id. */
typedef __u32 bpfkit_pid_t;
/* Task command name (bpf_get_current_comm()). */
typedef char bpfkit_comm_t[16];
/* Histogram slots: declare the array with the element typedef,
 * `bpfkit_hist_slots_t slots[26];`. log2: slots[i] counts values in
 * [2^i, 2^(i+1)), printed like bcc's print_log2_hist. */
typedef __u64 bpfkit_hist_slots_t;
/* Linear histogram: slots[i] counts the value i,
 * `bpfkit_linear_slots_t slots[100];`. */
typedef __u64 bpfkit_linear_slots_t;
/* Address or other number shown in hexadecimal. */
typedef __u64 bpfkit_hex_t;
/* NUL-separated strings (argv), shown space-separated:
 * `bpfkit_argv_t args[256];`. */
typedef char bpfkit_argv_t;

/*
 * Ring buffer drop counters. When bpf_ringbuf_reserve() returns NULL (or
 * bpf_ringbuf_output() fails) because the reader fell behind, the record
 * is gone, and unlike a perf buffer's Lost records the kernel keeps no
 * count that user space can read. Count such drops in the program and
 * bpfkit reports them like perf buffer losses: about once a second while
 * the count grows, and at exit, as `lost N events` lines in tables and
 * {"type":"lost","map":"<ring>","count":N} JSON records (without "cpu"),
 * and in the exit summary.
 *
 *     bpfkit_drops_t dropped;                 // a .bss global
 *     ...
 *     e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
 *     if (!e) {
 *             __sync_fetch_and_add(&dropped, 1);
 *             return 0;
 *     }
 *
 * The counter is an integer global in .bss/.data, or an ARRAY /
 * PERCPU_ARRAY map of integers (a per-CPU slot needs no atomic add:
 * bpfkit sums every entry on every CPU). Which ring buffer it counts:
 *   - named <ring>_dropped, <ring>_drops, <ring>_lost or <ring>_lost_events
 *     after a ring buffer map <ring>: that ring buffer;
 *   - of type bpfkit_drops_t with another name: the object's only ring
 *     buffer;
 *   - without the typedef, named dropped, drops, lost, lost_events or
 *     dropped_events: the object's only event map, if that is a ring
 *     buffer (next to a perf buffer such a name may count failed perf
 *     outputs too, which the kernel already reports).
 * One counter per ring buffer is used: a name after the ring wins over the
 * typedef alone, which wins over a bare name. The count must only grow
 * (bpfkit does not clear counter maps with --clear). A libbpf program
 * that already counts drops in a global `dropped` needs no change.
 */
typedef __u64 bpfkit_drops_t;

#endif /* __BPFKIT_H__ */
