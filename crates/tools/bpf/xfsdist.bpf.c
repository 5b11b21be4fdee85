// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* xfsdist: fsdist on xfs (libbpf-tools' alias for `fsdist -t xfs`). */
#define FS_FIXED "xfs"
#include "fsdist.bpf.c"
