/* What memleak's age filter (-o) test traces: leaks in two rounds, each
 * started by a byte on stdin and acknowledged with a line on stdout:
 *   'o' - leaks OLD_LEAKS x OLD_SIZE bytes from bpfkit_leak_old()   ("old")
 *   'y' - leaks YOUNG_LEAKS x YOUNG_SIZE bytes from bpfkit_leak_young() ("young")
 * then waits for end of input. The test lets the first round age before
 * the second. Built with frame pointers so that user stacks unwind. */
#include <stdlib.h>
#include <unistd.h>

#define OLD_LEAKS 5
#define OLD_SIZE 1000
#define YOUNG_LEAKS 3
#define YOUNG_SIZE 3000

void *volatile sink[OLD_LEAKS + YOUNG_LEAKS];

__attribute__((noinline)) void bpfkit_leak_old(void)
{
	for (int i = 0; i < OLD_LEAKS; i++)
		sink[i] = malloc(OLD_SIZE);
}

__attribute__((noinline)) void bpfkit_leak_young(void)
{
	for (int i = 0; i < YOUNG_LEAKS; i++)
		sink[OLD_LEAKS + i] = malloc(YOUNG_SIZE);
}

static int say(const char *line, size_t len)
{
	return write(1, line, len) == (ssize_t)len;
}

int main(void)
{
	char c;

	while (read(0, &c, 1) == 1) {
		if (c == 'o') {
			bpfkit_leak_old();
			if (!say("old\n", 4))
				return 1;
		} else if (c == 'y') {
			bpfkit_leak_young();
			if (!say("young\n", 6))
				return 1;
		}
	}
	return 0;
}
