/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the C benchmarks: operations per second of one operation, run for a given wall time. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/err.h"

static inline double bench_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Operations per second of op(arg), run for `seconds`; a failing op ends the program (named `program`). */
static inline double bench_rate(const char *program, double seconds, int (*op)(void *arg), void *arg) {
    double start = bench_now_seconds(), elapsed;
    unsigned long n = 0;
    do {
        int r = op(arg);
        if (r < 0) {
            fprintf(stderr, "%s: %s\n", program, veil_err_describe(r));
            exit(1);
        }
        n++;
        elapsed = bench_now_seconds() - start;
    } while (elapsed < seconds);
    return (double)n / elapsed;
}
