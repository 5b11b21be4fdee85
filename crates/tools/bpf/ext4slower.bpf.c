// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ext4slower: fsslower on ext4 (libbpf-tools' alias for `fsslower -t ext4`). */
#define FS_FIXED "ext4"
#include "fsslower.bpf.c"
