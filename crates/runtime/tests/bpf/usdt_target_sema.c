/* usdt_target.c with a semaphore on its probe. */
#define WITH_SEMAPHORE 1
#include "usdt_target.c"
