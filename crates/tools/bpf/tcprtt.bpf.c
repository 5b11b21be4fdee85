// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcprtt: summarize TCP RTT (smoothed, srtt) as a histogram. Sampled where
 * tcp_rcv_established runs: tcp:tcp_probe fires there on every kernel since
 * 4.16, and the socket's srtt_us is read with CO-RE (as libbpf-tools, which
 * uses fentry/kprobe on tcp_rcv_established: kept as variants). IPv4
 * address filters and keys, as in the original. */
#include "tcp.h"

#define MAX_SLOTS 27

const volatile bool targ_laddr_hist = false;
const volatile bool targ_raddr_hist = false;
const volatile bool targ_show_ext = false;
const volatile u16 targ_sport = 0;
const volatile u16 targ_dport = 0;
const volatile bpfkit_ipv4_t targ_saddr = 0;
const volatile bpfkit_ipv4_t targ_daddr = 0;
const volatile bool targ_ms = false;

/* One histogram per local (-b) or remote (-B) address; both 0 otherwise. */
struct hist_key {
	bpfkit_ipv4_t laddr;
	bpfkit_ipv4_t raddr;
	bpfkit_family_t af;
	u16 pad;
};

struct hist {
	u64 latency; /* sum, for -e's average */
	u64 cnt;
	u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

static __always_inline int handle(const struct sock *sk)
{
	const struct tcp_sock *ts = (const struct tcp_sock *)sk;
	static const struct hist zero;
	struct hist_key key = {};
	struct hist *histp;
	u16 family, sport, dport;
	u32 saddr, daddr;
	u64 srtt;

	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	if (targ_sport && targ_sport != sport)
		return 0;
	if (targ_dport && targ_dport != dport)
		return 0;
	if ((targ_saddr || targ_daddr || targ_laddr_hist || targ_raddr_hist) &&
	    family != AF_INET)
		return 0;
	if (targ_saddr && targ_saddr != saddr)
		return 0;
	if (targ_daddr && targ_daddr != daddr)
		return 0;

	key.af = family;
	if (targ_laddr_hist)
		key.laddr = saddr;
	else if (targ_raddr_hist)
		key.raddr = daddr;
	histp = lookup_or_init(&hists, &key, &zero);
	if (!histp)
		return 0;
	srtt = BPF_CORE_READ(ts, srtt_us) >> 3; /* srtt_us is kept << 3 */
	if (targ_ms)
		srtt /= 1000U;
	__sync_fetch_and_add(&histp->slots[hist_slot(srtt, MAX_SLOTS)], 1);
	if (targ_show_ext) {
		__sync_fetch_and_add(&histp->latency, srtt);
		__sync_fetch_and_add(&histp->cnt, 1);
	}
	return 0;
}

SEC("fentry/tcp_rcv_established")
int BPF_PROG(fentry_tcp_rcv_established, struct sock *sk)
{
	return handle(sk);
}

SEC("kprobe/tcp_rcv_established")
int BPF_KPROBE(tcp_rcv_established, struct sock *sk)
{
	return handle(sk);
}

SEC("tp/tcp/tcp_probe")
int tcp_probe(struct trace_event_raw_tcp_probe *ctx)
{
	return handle(ctx->skaddr);
}

char LICENSE[] SEC("license") = "GPL";
