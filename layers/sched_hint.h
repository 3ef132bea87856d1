/* sched_hint.h — telling the Linux scheduler which threads answer people and which do
 * batch work.
 *
 * DESIGN: on a small machine the threads that answer residents share the cores with the
 * persistence worker (and, in tests and benchmarks, with the load generator). A reader
 * woken by a request should run at once rather than wait out another task's slice; the
 * worker's commits can wait a little. Both calls are hints: on a kernel that does not know
 * them they change nothing, and nothing depends on them for correctness. */
#ifndef CM_SCHED_HINT_H
#define CM_SCHED_HINT_H

/* For the calling thread: short scheduler slices (Linux 6.12+ EEVDF), so that when it wakes
 * it preempts a task running a long slice. */
void cm_sched_prefer_latency(void);

/* For the calling thread: batch scheduling (no wake-up preemption) at the given nice
 * value (lower priority for positive values). */
void cm_sched_prefer_throughput(int nice);

#endif
