/* Shared by the TCP tools: addresses and ports of a socket, from the
 * tracepoints' copies (sock:inet_sock_set_state, tcp:*) or from the socket
 * itself (CO-RE reads), in one layout that bpfkit prints as IPv4 or IPv6
 * by the `af` field. */
#ifndef BPFKIT_TOOLS_TCP_H
#define BPFKIT_TOOLS_TCP_H

#include "common.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/* TCP_ESTABLISHED ... TCP_NEW_SYN_RECV come from vmlinux.h. */

/* Endpoints of a connection, local (s) and remote (d), as members of an
 * event or key struct (plain members, so that columns can name them). */
#define ENDPOINT_FIELDS                                                        \
	bpfkit_ip_addr_t saddr;                                                \
	bpfkit_ip_addr_t daddr;                                                \
	bpfkit_family_t af;                                                    \
	bpfkit_port_host_t sport;                                              \
	bpfkit_port_host_t dport

/* Copies the endpoints (into a struct with ENDPOINT_FIELDS) out of a tracepoint context that has the usual
 * family/sport/dport/saddr/daddr/saddr_v6/daddr_v6 fields (all of
 * sock:inet_sock_set_state and tcp:tcp_{retransmit_skb,destroy_sock,...}). */
#define TP_ENDPOINTS(ep, ctx)                                                  \
	do {                                                                   \
		(ep)->af = (ctx)->family;                                      \
		(ep)->sport = (ctx)->sport;                                    \
		(ep)->dport = (ctx)->dport;                                    \
		if ((ctx)->family == AF_INET) {                                \
			bpf_probe_read_kernel((ep)->saddr, 4, (ctx)->saddr);   \
			bpf_probe_read_kernel((ep)->daddr, 4, (ctx)->daddr);   \
		} else {                                                       \
			bpf_probe_read_kernel((ep)->saddr, 16, (ctx)->saddr_v6); \
			bpf_probe_read_kernel((ep)->daddr, 16, (ctx)->daddr_v6); \
		}                                                              \
	} while (0)

/* The same, read from the socket (CO-RE). */
#define SOCK_ENDPOINTS(ep, sk)                                                 \
	do {                                                                   \
		(ep)->af = BPF_CORE_READ(sk, __sk_common.skc_family);          \
		(ep)->sport = BPF_CORE_READ(sk, __sk_common.skc_num);          \
		(ep)->dport = __builtin_bswap16(                               \
			BPF_CORE_READ(sk, __sk_common.skc_dport));             \
		if ((ep)->af == AF_INET) {                                     \
			BPF_CORE_READ_INTO((u32 *)(ep)->saddr, sk,             \
					   __sk_common.skc_rcv_saddr);         \
			BPF_CORE_READ_INTO((u32 *)(ep)->daddr, sk,             \
					   __sk_common.skc_daddr);             \
		} else {                                                       \
			BPF_CORE_READ_INTO(&(ep)->saddr, sk,                   \
				__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);  \
			BPF_CORE_READ_INTO(&(ep)->daddr, sk,                   \
				__sk_common.skc_v6_daddr.in6_u.u6_addr8);      \
		}                                                              \
	} while (0)

/* The -4 / -6 switches. */
#define DEFINE_FAMILY_FILTER()                                                 \
	const volatile bool only_ipv4 = false;                                 \
	const volatile bool only_ipv6 = false

#define FAMILY_FILTERED_OUT(af)                                                \
	((only_ipv4 && (af) != AF_INET) || (only_ipv6 && (af) != AF_INET6))

/* Port lists (`-P 80,443`, `-L 22,80`): the ports in host byte order and
 * how many were given. bpfkit sets both from the comma-separated flag
 * value (Effect::ParamList); no ports given (NAME_len 0) lets every port
 * through. */
#define MAX_PORTS 64

#define DEFINE_PORT_LIST(name)                                                 \
	const volatile u16 name[MAX_PORTS] = {};                               \
	const volatile u32 name##_len = 0

static __always_inline bool port_listed(const volatile u16 *ports, u32 len, u16 port)
{
	for (u32 i = 0; i < MAX_PORTS; i++) {
		if (i >= len)
			break;
		if (ports[i] == port)
			return true;
	}
	return false;
}

#define PORT_FILTERED_OUT(name, port)                                          \
	(name##_len && !port_listed(name, name##_len, (port)))

/* Socket types (struct socket's `type`). */
#define SOCK_STREAM 1
#define SOCK_DGRAM 2

/* The socket behind file descriptor `fd` of the current task: syscall
 * tracepoints (accept, bind, listen) give an fd, not a socket. Only for an
 * fd the syscall has just used as a socket (it returned it, or did not
 * fail with EBADF/ENOTSOCK): another file's private_data is no socket.
 * NULL when the fd is not in the table (closed meanwhile). */
static __always_inline struct socket *fd_socket(long fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	return BPF_CORE_READ(file, private_data);
}

/* Whether a syscall result means its fd was a socket (see fd_socket). */
#define EBADF 9
#define ENOTSOCK 88
#define FD_WAS_SOCKET(ret) ((ret) != -EBADF && (ret) != -ENOTSOCK)

#endif
