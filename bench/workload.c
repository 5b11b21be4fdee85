// Workload generator for the bpfkit benchmarks. Every mode prints one JSON
// line with its own exact operation count, so loss is measured against what
// really happened, not against what was asked for.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report(const char *mode, uint64_t count, uint64_t elapsed_ns)
{
	printf("{\"mode\":\"%s\",\"count\":%llu,\"elapsed_ns\":%llu,\"ns_per_op\":%.1f}\n", mode,
	       (unsigned long long)count, (unsigned long long)elapsed_ns,
	       count ? (double)elapsed_ns / (double)count : 0.0);
}

static int open_close(const char *path)
{
	int fd = openat(AT_FDCWD, path, O_RDONLY);
	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno == ENOENT;
}

static int exec_wait(const char *path)
{
	char *argv[] = { (char *)path, NULL };
	pid_t pid = vfork();
	if (pid == 0) {
		execv(path, argv);
		_exit(127);
	}
	if (pid < 0)
		return 0;
	int status;
	waitpid(pid, &status, 0);
	return 1;
}

static void mode_loop(const char *mode, uint64_t n, const char *path)
{
	uint64_t done = 0, t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		if (!strcmp(mode, "open"))
			done += open_close(path);
		else if (!strcmp(mode, "exec"))
			done += exec_wait(path);
		else {
			/* getpgid(MAGIC) fails with ESRCH; the BPF producer filters on MAGIC */
			syscall(SYS_getpgid, 0x7ffffff0);
			done++;
		}
	}
	report(mode, done, now_ns() - t0);
}

/* Opens at a fixed rate: every millisecond, as many as are due by then. */
static void mode_rate(uint64_t rate, double seconds, const char *path)
{
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), done = 0;
	struct timespec tick = { 0, 1000000 };
	for (;;) {
		uint64_t t = now_ns();
		if (t >= end)
			break;
		uint64_t due = (t - t0) * rate / 1000000000ull;
		while (done < due)
			done += open_close(path);
		nanosleep(&tick, NULL);
	}
	report("rate", done, now_ns() - t0);
}

static void mode_spin(double seconds)
{
	uint64_t end = now_ns() + (uint64_t)(seconds * 1e9), t0 = now_ns(), n = 0;
	volatile uint64_t x = 0;
	while (now_ns() < end) {
		for (int i = 0; i < 10000; i++)
			x += i;
		n++;
	}
	report("spin", n, now_ns() - t0);
}

/* Two processes bounce one byte over two pipes: two context switches a trip. */
static void mode_ctxsw(double seconds)
{
	int ab[2], ba[2];
	char c = 0;
	if (pipe(ab) || pipe(ba))
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		while (read(ab[0], &c, 1) == 1 && c == 0)
			if (write(ba[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), n = 0;
	while (now_ns() < end) {
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			break;
		n++;
	}
	c = 1;
	if (write(ab[1], &c, 1) != 1)
		kill(pid, 9);
	waitpid(pid, NULL, 0);
	report("ctxsw", n, now_ns() - t0);
}

/* Runs a command; reports its wall time, CPU time and peak RSS. Measured from
 * this small process, because ru_maxrss also counts the memory of the process
 * that exec()ed (a forked Python harness would dominate it). */
static void mode_run(char **argv)
{
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		exit(1);
	uint64_t wall = now_ns() - t0;
	printf("{\"mode\":\"run\",\"status\":%d,\"wall_ns\":%llu,\"cpu_ns\":%llu,\"maxrss_kib\":%ld}\n",
	       status, (unsigned long long)wall,
	       (unsigned long long)((ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
				    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull),
	       ru.ru_maxrss);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "run")) {
		mode_run(argv + 2);
		return 0;
	}
	if (argc >= 4 && (!strcmp(argv[1], "open") || !strcmp(argv[1], "exec")))
		mode_loop(argv[1], strtoull(argv[2], NULL, 10), argv[3]);
	else if (argc >= 3 && !strcmp(argv[1], "getpgid"))
		mode_loop(argv[1], strtoull(argv[2], NULL, 10), "");
	else if (argc >= 5 && !strcmp(argv[1], "rate"))
		mode_rate(strtoull(argv[2], NULL, 10), atof(argv[3]), argv[4]);
	else if (argc >= 3 && !strcmp(argv[1], "spin"))
		mode_spin(atof(argv[2]));
	else if (argc >= 3 && !strcmp(argv[1], "ctxsw"))
		mode_ctxsw(atof(argv[2]));
	else {
		fprintf(stderr, "usage: workload open|exec N PATH | getpgid N | run CMD... | rate R SECONDS PATH | spin S | ctxsw S\n");
		return 2;
	}
	return 0;
}
