/* What memleak's tests trace: leaks in two rounds, each started by a byte
 * on stdin and acknowledged with a line on stdout:
 *   'o' - leaks OLD_LEAKS x OLD_SIZE bytes from bpfkit_leak_old()   ("old")
 *   'y' - leaks YOUNG_LEAKS x YOUNG_SIZE bytes from bpfkit_leak_young() ("young")
 * then waits for end of input. The age filter's (-o) test lets the first
 * round age before the second.
 *
 * With the argument `exit` (memleak -c): both rounds at once, then
 * FREED_ALLOCS x FREED_SIZE bytes allocated and freed again in
 * bpfkit_no_leak() (no leak), and exit. With `exit prefixed`, the same
 * through testalloc_malloc()/testalloc_free(), an allocator of its own
 * (memleak -S testalloc_ -O this program).
 *
 * Built with frame pointers so that user stacks unwind. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OLD_LEAKS 5
#define OLD_SIZE 1000
#define YOUNG_LEAKS 3
#define YOUNG_SIZE 3000

#define FREED_ALLOCS 4
#define FREED_SIZE 500

void *volatile sink[OLD_LEAKS + YOUNG_LEAKS];

/* The allocator of `exit prefixed`: libc's under other names, as
 * jemalloc's je_malloc. memleak -S needs each of these. */
#define NOINLINE __attribute__((noinline, used))
NOINLINE void *testalloc_malloc(size_t size) { return malloc(size); }
NOINLINE void testalloc_free(void *p) { free(p); }
NOINLINE void *testalloc_calloc(size_t n, size_t size) { return calloc(n, size); }
NOINLINE void *testalloc_realloc(void *p, size_t size) { return realloc(p, size); }
NOINLINE int testalloc_posix_memalign(void **p, size_t align, size_t size)
{
	return posix_memalign(p, align, size);
}
NOINLINE void *testalloc_aligned_alloc(size_t align, size_t size)
{
	return aligned_alloc(align, size);
}

static void *(*alloc)(size_t) = malloc;
static void (*release)(void *) = free;

__attribute__((noinline)) void bpfkit_leak_old(void)
{
	for (int i = 0; i < OLD_LEAKS; i++)
		sink[i] = alloc(OLD_SIZE);
}

__attribute__((noinline)) void bpfkit_leak_young(void)
{
	for (int i = 0; i < YOUNG_LEAKS; i++)
		sink[OLD_LEAKS + i] = alloc(YOUNG_SIZE);
}

__attribute__((noinline)) void bpfkit_no_leak(void)
{
	void *volatile kept[FREED_ALLOCS];

	for (int i = 0; i < FREED_ALLOCS; i++)
		kept[i] = alloc(FREED_SIZE);
	for (int i = 0; i < FREED_ALLOCS; i++)
		release(kept[i]);
}

static int say(const char *line, size_t len)
{
	return write(1, line, len) == (ssize_t)len;
}

int main(int argc, char **argv)
{
	char c;

	if (argc > 1 && strcmp(argv[1], "exit") == 0) {
		if (argc > 2 && strcmp(argv[2], "prefixed") == 0) {
			alloc = testalloc_malloc;
			release = testalloc_free;
		}
		bpfkit_leak_old();
		bpfkit_leak_young();
		bpfkit_no_leak();
		return 0;
	}

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
