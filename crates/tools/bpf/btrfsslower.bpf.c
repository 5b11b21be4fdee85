// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* btrfsslower: fsslower on btrfs (libbpf-tools' alias for `fsslower -t btrfs`). */
#define FS_FIXED "btrfs"
#include "fsslower.bpf.c"
