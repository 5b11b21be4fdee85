// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* btrfsdist: fsdist on btrfs (libbpf-tools' alias for `fsdist -t btrfs`). */
#define FS_FIXED "btrfs"
#include "fsdist.bpf.c"
