/* SPDX-License-Identifier: Apache-2.0 */
/* Raw SHA-256 throughput of this machine (OpenSSL, the same code veil wrap hashes with): "wall-MB/s cpu-MB/s". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/hash.h"

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 512;
    size_t block = (size_t)1 << 20;
    uint8_t *buf = malloc(block), out[VEIL_SHA256_SIZE];
    struct veil_hash *h;
    if (!buf || veil_hash_new(VEIL_HASH_SHA256, &h) < 0) return 1;
    memset(buf, 0x5a, block);
    double start = now(CLOCK_MONOTONIC), cpu_start = now(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t i = 0; i < mb; i++)
        if (veil_hash_update(h, buf, block) < 0) return 1;
    if (veil_hash_final(h, out) < 0) return 1;
    double s = now(CLOCK_MONOTONIC) - start, cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    printf("%.0f %.0f\n", (double)mb / s, (double)mb / cpu);
    veil_hash_free(h);
    free(buf);
    return 0;
}
