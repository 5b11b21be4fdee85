// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* xdpfilter: drop packets at XDP by source prefix (LPM tries `drop_v4`
 * and `drop_v6`, the value being the prefix length again) or by protocol
 * and destination port (`drop_ports`; port 0 is every port), counting
 * packets and bytes per matching rule in `hits`. */
#include "packet.h"

const volatile bool dry_run = false;

struct lpm_v4 {
	u32 prefixlen;
	bpfkit_ipv4_t addr;
};

struct lpm_v6 {
	u32 prefixlen;
	bpfkit_ipv6_t addr;
};

struct port_rule {
	u8 proto;
	u8 pad;
	bpfkit_port_host_t port;
};

/* A rule that matched: a source prefix, or a protocol and port. */
struct rule {
	bpfkit_ip_addr_t addr;
	bpfkit_family_t af;
	u8 prefixlen;
	u8 proto;
	bpfkit_port_host_t port;
	u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4);
	__type(value, u32);
	__uint(max_entries, MAX_ENTRIES);
} drop_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v6);
	__type(value, u32);
	__uint(max_entries, MAX_ENTRIES);
} drop_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct port_rule);
	__type(value, u32);
	__uint(max_entries, 1024);
} drop_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct rule);
	__type(value, struct traffic);
	__uint(max_entries, MAX_ENTRIES);
} hits SEC(".maps");

/* Keeps the first `prefixlen` bits of the address in `r`. */
static __always_inline void mask_prefix(struct rule *r)
{
	u32 *words = (u32 *)r->addr;
	int bits = r->prefixlen;

	for (int i = 0; i < 4; i++) {
		if (bits >= 32) {
			bits -= 32;
			continue;
		}
		words[i] &= bits ? bpf_htonl(~0U << (32 - bits)) : 0;
		bits = 0;
	}
}

/* The source-prefix rule `p` matches, if any. */
static __always_inline bool match_prefix(const struct packet *p, struct rule *r)
{
	struct lpm_v4 k4 = { .prefixlen = 32 };
	struct lpm_v6 k6 = { .prefixlen = 128 };
	u32 *plen;

	if (p->af == AF_INET) {
		__builtin_memcpy(&k4.addr, p->saddr, 4);
		plen = bpf_map_lookup_elem(&drop_v4, &k4);
	} else {
		__builtin_memcpy(k6.addr, p->saddr, 16);
		plen = bpf_map_lookup_elem(&drop_v6, &k6);
	}
	if (!plen)
		return false;
	__builtin_memcpy(r->addr, p->saddr, 16);
	r->af = p->af;
	r->prefixlen = *plen;
	mask_prefix(r);
	return true;
}

/* The protocol/port rule `p` matches, if any. */
static __always_inline bool match_port(const struct packet *p, struct rule *r)
{
	struct port_rule k = { .proto = p->proto, .port = p->dport };

	if (!bpf_map_lookup_elem(&drop_ports, &k)) {
		k.port = 0;
		if (!bpf_map_lookup_elem(&drop_ports, &k))
			return false;
	}
	r->proto = k.proto;
	r->port = k.port;
	return true;
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct rule rule = {};
	struct packet p;

	if (!parse_packet(&p, data, end))
		return XDP_PASS;
	if (!match_prefix(&p, &rule) && !match_port(&p, &rule))
		return XDP_PASS;
	count_traffic(&hits, &rule, p.len);
	return dry_run ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
