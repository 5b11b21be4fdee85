// A stand-in for a JVM in the acceptance corpus (libbpf-tools' javagc): a
// process with the USDT probes of HotSpot's libjvm.so that javagc attaches
// to (provider hotspot: gc__begin/gc__end and mem__pool__gc__begin/end),
// written as the stapsdt ELF notes <sys/sdt.h> emits, with no arguments
// (javagc reads none), so that no JVM or systemtap-sdt-dev is needed. It
// runs three "collections" of 5 ms each, then exits. scripts/corpus builds
// it for this host, and scripts/kernel-matrix for the guests.
#include <time.h>

// One probe site: a nop, and its note (the site address, the shared
// .stapsdt.base for prelink adjustment, no semaphore, provider, name, no
// argument string), as sys/sdt.h's STAP_PROBE lays them out.
#define HOTSPOT_PROBE(name)                                                     \
	__asm__ __volatile__(                                                   \
		"990: nop\n"                                                    \
		".pushsection .note.stapsdt,\"?\",\"note\"\n"                   \
		".balign 4\n"                                                   \
		".4byte 992f-991f, 994f-993f, 3\n"                              \
		"991: .asciz \"stapsdt\"\n"                                     \
		"992: .balign 4\n"                                              \
		"993: .8byte 990b\n"                                            \
		".8byte _.stapsdt.base\n"                                       \
		".8byte 0\n"                                                    \
		".asciz \"hotspot\"\n"                                          \
		".asciz \"" name "\"\n"                                         \
		".asciz \"\"\n"                                                 \
		"994: .balign 4\n"                                              \
		".popsection\n"                                                 \
		".ifndef _.stapsdt.base\n"                                      \
		".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
		".weak _.stapsdt.base\n"                                        \
		".hidden _.stapsdt.base\n"                                      \
		"_.stapsdt.base: .space 1\n"                                    \
		".size _.stapsdt.base, 1\n"                                     \
		".popsection\n"                                                 \
		".endif\n")

static void pause_ms(long ms)
{
	struct timespec t = { 0, ms * 1000000 };

	nanosleep(&t, NULL);
}

int main(void)
{
	for (int i = 0; i < 3; i++) {
		HOTSPOT_PROBE("gc__begin");
		HOTSPOT_PROBE("mem__pool__gc__begin");
		pause_ms(5);
		HOTSPOT_PROBE("mem__pool__gc__end");
		HOTSPOT_PROBE("gc__end");
		pause_ms(1);
	}
	return 0;
}
