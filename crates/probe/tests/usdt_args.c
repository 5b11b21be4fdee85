/* USDT probes with known arguments for `bpfkit trace 'U:...'` and
 * `bpfkit argdist`: once a byte arrives on stdin (the tracer is attached),
 * bpfkit_trace:args fires argv[1] times at each of its two sites, with
 * (i, -5000000000, (short)-7, "usdt-name", i * 3, &second_site), i from 0;
 * then the program stays until stdin closes, so that a tracer can still
 * read its symbols (user stacks, %U). main's site
 * has its arguments in stack memory (clang picks memory for sdt.h's "nor"
 * constraint), second_site's in registers, and arg3 is a constant: each
 * kind of location is read. */
#include <sys/sdt.h>
#include <stdlib.h>
#include <unistd.h>

static const char *name = "usdt-name";

static void second_site(int i, long big);

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	volatile long big = -5000000000L;
	char go;

	if (read(0, &go, 1) != 1)
		return 1;
	/* A tracer reads strings without faulting pages in: touch it. */
	if (*(volatile const char *)name != 'u')
		return 2;
	for (int i = 0; i < n; i++) {
		long b = big;
		DTRACE_PROBE6(bpfkit_trace, args, i, b, (short)-7, name, i * 3, &second_site);
		second_site(i, b);
	}
	while (read(0, &go, 1) == 1)
		;
	return 0;
}

#undef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT nr
__attribute__((noinline)) static void second_site(int i, long big)
{
	DTRACE_PROBE6(bpfkit_trace, args, i, big, (short)-7, name, i * 3, &second_site);
}
