#!/bin/sh
# Builds the committed BPF objects (examples/*.bpf.c, crates/tools/bpf/*.bpf.c,
# crates/runtime/bpf/*.bpf.c) with bpfkit-build, reproducibly: pinned
# include/vmlinux/vmlinux.h, fixed -mcpu=v3, the pinned clang (clang-16;
# $BPFKIT_CLANG overrides).
#
#   scripts/build-bpf.sh          rebuild the committed *.bpf.o
#   scripts/build-bpf.sh --check  rebuild into a temp dir; fail listing every
#                                 committed object that differs (CI uses this)
set -eu
cd "$(dirname "$0")/.."
exec cargo run -q --release -p bpfkit-build --example build_objects -- "$@"
