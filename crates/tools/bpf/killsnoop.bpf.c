// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* killsnoop: trace signals sent with kill(), tkill() and tgkill(). */
#include "signal_syscalls.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
