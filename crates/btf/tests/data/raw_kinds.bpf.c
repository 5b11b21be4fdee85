// Exercises every BTF kind bpftool's raw dump prints. Built by the raw/json
// dump tests with `clang -g -O2 -target bpf`; needs no kernel headers.
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;

#define SEC(name) __attribute__((section(name), used))
#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ttag(x) __attribute__((btf_type_tag(x)))

struct fwd_struct;
union fwd_union;

enum color { RED = -1, GREEN = 0, BLUE = 7 };
enum flags { F_A = 1, F_B = 0x80000000u };
enum big64 { B_SMALL = 1, B_HUGE = 0xfedcba9876543210ull };
enum neg64 { N_LOW = -5000000000ll, N_HIGH = 5000000000ll };

struct bits {
	u32 a : 3;
	u32 b : 13;
	s8 c;
	int d __tag("member_tag");
};

union either {
	u64 whole;
	struct {
		u32 lo, hi;
	};
	float f;
	double d;
};

struct holder {
	struct fwd_struct *fs;
	union fwd_union *fu;
	const volatile int cv;
	char *restrict rp;
	int __ttag("user") *tagged;
	enum color color;
	enum flags flags;
	enum big64 big;
	enum neg64 neg;
	struct bits bits;
	union either either;
	long double ld;
	_Bool ok;
	unsigned char bytes[3][4];
	void (*callback)(int, ...);
} __tag("struct_tag");

struct holder global_holder SEC(".data.holder");
const volatile int config_knob = 3;
int zeroed_counter;
static int static_counter SEC(".data") = 5;
extern int extern_weak_var __attribute__((weak, section(".kconfig")));
char _license[] SEC("license") = "GPL";

extern int extern_func(int x) __attribute__((weak));

static __attribute__((noinline)) int helper(struct holder *h __tag("param_tag"), int n)
{
	return h->cv + n + static_counter;
}

__attribute__((noinline)) int global_func(struct holder *h)
{
	return helper(h, zeroed_counter) + (extern_func ? extern_func(1) : 0);
}

SEC("tracepoint/syscalls/sys_enter_getpid") int prog(void *ctx) __tag("func_tag")
{
	zeroed_counter += config_knob + extern_weak_var;
	return global_func(&global_holder);
}
