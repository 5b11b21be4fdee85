// libbpf side of the transport benchmark (M4): load a producer object, attach
// its programs, and drain its `events` ring buffer with ring_buffer__poll().
// Mode "count" only counts records; "print" writes one text line per record
// to stdout (what a tracer does). Prints "records N" on stderr at SIGINT.
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop;
static unsigned long long records;
static int print_mode;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	records++;
	if (print_mode) {
		const uint64_t *seq = data;
		const char *text = size > 8 ? (const char *)data + 8 : "";
		printf("%llu %s\n", (unsigned long long)*seq, text);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: rb_consumer OBJ count|print\n");
		return 2;
	}
	print_mode = !strcmp(argv[2], "print");
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot open or load %s\n", argv[1]);
		return 1;
	}
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "cannot attach %s\n", bpf_program__name(prog));
			return 1;
		}
	}
	struct ring_buffer *rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "events"),
						  on_record, NULL, NULL);
	if (!rb)
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "Tracing getpgid records\n");
	while (!stop) {
		int err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -4 /* EINTR */)
			break;
	}
	ring_buffer__consume(rb);
	fflush(stdout);
	fprintf(stderr, "records %llu\n", records);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
