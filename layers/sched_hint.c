/* sched_hint.c — see sched_hint.h. */
#define _GNU_SOURCE
#include "sched_hint.h"

#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's struct sched_attr, first version (48 bytes): <linux/sched/types.h> cannot be
 * included beside <sched.h>, and glibc has no wrapper. */
struct sched_attr_v0 {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

/* The shortest slice the kernel accepts (0.1 ms): an answer takes tens of microseconds. */
#define SHORT_SLICE_NS 100000ULL

void cm_sched_prefer_latency(void) {
    struct sched_attr_v0 attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.sched_policy = SCHED_OTHER;
    attr.sched_runtime = SHORT_SLICE_NS;
    (void)syscall(SYS_sched_setattr, 0, &attr, 0); /* older kernels: EINVAL or ignored */
}

void cm_sched_prefer_throughput(int nice) {
    struct sched_param param = {0};
    (void)sched_setscheduler(0, SCHED_BATCH, &param); /* per thread on Linux */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}
