/* The workload profiled for docs/profile-flamegraph.svg: a loop that
 * fills a buffer from the kernel's random generator (getrandom), sums it
 * with a bitwise CRC-32, counts its bytes, and writes it to /dev/null.
 * Runs until killed. Build with frame pointers so that user stacks unwind:
 *   clang -O1 -g -fno-omit-frame-pointer docs/flamegraph-demo.c -o demo */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)

static unsigned char buf[BUF_SIZE];
static unsigned long histogram[256];

__attribute__((noinline)) static void read_random(void)
{
	for (size_t done = 0; done < BUF_SIZE;) {
		ssize_t n = getrandom(buf + done, BUF_SIZE - done, 0);

		if (n > 0)
			done += n;
	}
}

__attribute__((noinline)) static uint32_t crc32_bitwise(void)
{
	uint32_t crc = ~0u;

	for (size_t i = 0; i < BUF_SIZE; i++) {
		crc ^= buf[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
	}
	return ~crc;
}

__attribute__((noinline)) static void count_bytes(void)
{
	for (size_t i = 0; i < BUF_SIZE; i++)
		histogram[buf[i]]++;
}

__attribute__((noinline)) static void write_out(int fd)
{
	for (int i = 0; i < 16; i++)
		if (write(fd, buf, BUF_SIZE) < 0)
			perror("write");
}

__attribute__((noinline)) static uint32_t process_block(int fd)
{
	uint32_t crc;

	read_random();
	crc = crc32_bitwise();
	count_bytes();
	write_out(fd);
	return crc;
}

int main(void)
{
	int fd = open("/dev/null", O_WRONLY);
	volatile uint32_t crc = 0;

	if (fd < 0) {
		perror("/dev/null");
		return 1;
	}
	for (;;)
		crc ^= process_block(fd);
}
