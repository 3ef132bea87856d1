/* heap_hint.c — see heap_hint.h. */
#include "heap_hint.h"

#include <malloc.h>

#define MMAP_THRESHOLD_BYTES (32 * 1024 * 1024) /* glibc's largest on 64-bit */
#define TRIM_THRESHOLD_BYTES (64 * 1024 * 1024)

void cm_heap_keep_large_blocks(void) {
    /* Setting either turns off glibc's dynamic thresholds, so both are set. A C library
     * without these options ignores them (mallopt returns 0); nothing depends on them. */
    (void)mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    (void)mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES);
}
