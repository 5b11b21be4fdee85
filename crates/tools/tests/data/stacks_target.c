/* What the stack tools' tests trace, by the first argument:
 *   busy  - spins in bpfkit_busy_spin() (profile)
 *   sleep - sleeps in bpfkit_sleepy() (offcputime)
 *   leak  - after a byte on stdin, leaks 8 x 4096 bytes from
 *           bpfkit_leak_here(), frees one other allocation, says "leaked",
 *           and waits for another byte (memleak)
 * Built with frame pointers so that user stacks unwind. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEAKS 8
#define LEAK_SIZE 4096

void *volatile sink[LEAKS];

__attribute__((noinline)) void bpfkit_busy_spin(void)
{
	volatile unsigned long x = 0;

	for (;;)
		x++;
}

__attribute__((noinline)) void bpfkit_sleepy(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	for (;;)
		nanosleep(&ts, NULL);
}

__attribute__((noinline)) void bpfkit_leak_here(void)
{
	for (int i = 0; i < LEAKS; i++)
		sink[i] = malloc(LEAK_SIZE);
}

__attribute__((noinline)) void bpfkit_no_leak(void)
{
	void *volatile p = malloc(100);

	free(p);
}

int main(int argc, char **argv)
{
	char c;

	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "busy"))
		bpfkit_busy_spin();
	if (!strcmp(argv[1], "sleep"))
		bpfkit_sleepy();
	if (!strcmp(argv[1], "leak")) {
		if (read(0, &c, 1) != 1)
			return 1;
		bpfkit_leak_here();
		bpfkit_no_leak();
		if (write(1, "leaked\n", 7) != 7)
			return 1;
		return read(0, &c, 1) == 1 ? 0 : 1;
	}
	return 2;
}
