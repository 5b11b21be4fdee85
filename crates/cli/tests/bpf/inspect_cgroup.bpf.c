/* Programs for `bpfkit cgroup tree` (crates/cli/tests/inspect.rs) to find
 * on a cgroup the test makes: both let every packet and socket through. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup_skb/ingress")
int pass_ingress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup/sock_create")
int pass_sock_create(struct bpf_sock *sk)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
