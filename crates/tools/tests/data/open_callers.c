/* What opensnoop -c's test traces: once a byte comes on stdin, main()
 * calls bpfkit_outer(), which calls bpfkit_inner(), which opens argv[1] (a
 * path that does not exist); then it waits for the end of stdin, so that
 * its memory map is still there when its callers are symbolized.
 * The open's callers, as libbpf-tools' opensnoop -c shows them, are the
 * two return addresses past the libc wrapper: into bpfkit_outer() and
 * into main(). Built with frame pointers so that the user stack unwinds;
 * the open goes through syscall(2), whose wrapper leaves the frame pointer
 * alone (glibc's open() may use it as a register, as libc is built without
 * frame pointers, and then no caller can be found). */
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noinline)) int bpfkit_inner(const char *path)
{
	return syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
}

__attribute__((noinline)) int bpfkit_outer(const char *path)
{
	int fd = bpfkit_inner(path);

	return fd < 0 ? 0 : close(fd);
}

int main(int argc, char **argv)
{
	char c;

	if (argc < 2 || read(0, &c, 1) != 1)
		return 1;
	bpfkit_outer(argv[1]);
	while (read(0, &c, 1) == 1)
		;
	return 0;
}
