// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ext4dist: fsdist on ext4 (libbpf-tools' alias for `fsdist -t ext4`). */
#define FS_FIXED "ext4"
#include "fsdist.bpf.c"
