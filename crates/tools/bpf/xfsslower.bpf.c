// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* xfsslower: fsslower on xfs (libbpf-tools' alias for `fsslower -t xfs`). */
#define FS_FIXED "xfs"
#include "fsslower.bpf.c"
