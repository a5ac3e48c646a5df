/* bench/bench_util.h — what the benchmark programs share (bench_util.c is linked into each). */
#ifndef UB_BENCH_UTIL_H
#define UB_BENCH_UTIL_H

/* A monotonic clock, in seconds. */
double bench_seconds(void);
/* qsort's comparison of doubles, ascending (for medians). */
int bench_cmp_double(const void *a, const void *b);
/* "PROG: message" on stderr, then exit(1). */
void bench_die(const char *prog, const char *fmt, ...);

#endif
