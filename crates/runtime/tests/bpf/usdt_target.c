/* A user program with a USDT probe (systemtap's <sys/sdt.h>): tick fires
 * argv[1] times with (i, -5000000000, (short)-7), 1 ms apart. */
#include <sys/sdt.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	volatile long big = -5000000000L;

	/* Give the tracer time to attach (it waits for the first line). */
	usleep(argc > 2 ? atoi(argv[2]) * 1000 : 0);
	for (int i = 0; i < n; i++) {
		long b = big;
		DTRACE_PROBE3(bpfkit_test, tick, i, b, (short)-7);
		usleep(1000);
	}
	return 0;
}
