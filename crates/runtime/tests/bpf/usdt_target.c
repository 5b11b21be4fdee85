/* A user program with a USDT probe (systemtap's <sys/sdt.h>): once a
 * byte arrives on stdin (the tracer is attached), bpfkit_test:tick fires
 * argv[1] times with (i, -5000000000, (short)-7). Built with
 * WITH_SEMAPHORE (usdt_target_sema.c), the probe has a semaphore and fires
 * only while a tracer raised it, as probes guarded by PROBE_ENABLED() do. */
#ifdef WITH_SEMAPHORE
#define _SDT_HAS_SEMAPHORES 1
volatile unsigned short bpfkit_test_tick_semaphore __attribute__((section(".probes")));
#endif
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
#ifdef WITH_SEMAPHORE
		if (!bpfkit_test_tick_semaphore)
			continue;
#endif
		DTRACE_PROBE3(bpfkit_test, tick, i, b, (short)-7);
	}
	return 0;
}
