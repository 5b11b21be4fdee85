/* A user program with a USDT probe (systemtap's <sys/sdt.h>): once a
 * byte arrives on stdin (the tracer is attached), bpfkit_test:tick fires
 * argv[1] times with (i, -5000000000, (short)-7). */
#include <sys/sdt.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	volatile long big = -5000000000L;
	char go;

	if (read(0, &go, 1) != 1)
		return 1;
	for (int i = 0; i < n; i++) {
		long b = big;
		DTRACE_PROBE3(bpfkit_test, tick, i, b, (short)-7);
	}
	return 0;
}
