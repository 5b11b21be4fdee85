/* USDT probes to count (`bpfkit funccount 'u:PROGRAM:PATTERN'`): once a
 * byte arrives on stdin (the counter is attached), with n = argv[1]:
 * bpfkit_count:gc__start fires n times, bpfkit_count:gc__done 2n times
 * (from two sites: n times each) and bpfkit_count:tick 3n times; then the
 * program stays until stdin closes (user stacks still symbolize). Distinct
 * counts tell a mix-up of the probes' keys apart. */
#include <sys/sdt.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) static void collect(int i)
{
	DTRACE_PROBE1(bpfkit_count, gc__start, i);
	DTRACE_PROBE1(bpfkit_count, gc__done, i);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	char go;

	if (read(0, &go, 1) != 1)
		return 1;
	for (int i = 0; i < n; i++) {
		collect(i);
		DTRACE_PROBE1(bpfkit_count, gc__done, i);
		for (int j = 0; j < 3; j++)
			DTRACE_PROBE2(bpfkit_count, tick, i, j);
	}
	while (read(0, &go, 1) == 1)
		;
	return 0;
}
