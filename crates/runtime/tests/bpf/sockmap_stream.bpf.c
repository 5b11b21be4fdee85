/* sockmap.bpf.c with sk_skb/stream_parser + sk_skb/stream_verdict. */
#define STREAM 1
#include "sockmap.bpf.c"
