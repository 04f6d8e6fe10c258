/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stand-in for veil-run in the wrap tests (static, so it runs in any image): verifies
 * /veil/manifest, prints the measurement it computes from its own executable, takes the
 * manifest's user, directory and environment, and execs the application. It mediates
 * nothing; it only proves that a wrapped image carries what veil-run needs.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "manifest/manifest.h"

int main(void) {
    struct veil_manifest *m;
    int r = veil_manifest_load_file(VEIL_MANIFEST_PATH, &m);
    if (r < 0) {
        fprintf(stderr, "test-runtime: %s\n", veil_err_describe(r));
        return 125;
    }
    uint8_t *self, runtime_digest[32], digest[32], measurement[32];
    size_t size;
    if (veil_read_file("/proc/self/exe", (size_t)256 << 20, &self, &size) < 0 || veil_sha256(self, size, runtime_digest) < 0)
        return 125;
    free(self);
    veil_manifest_digest(m, digest);
    if (veil_manifest_measurement(runtime_digest, digest, measurement) < 0) return 125;
    char hex[65];
    veil_hex_encode(measurement, 32, hex);
    fprintf(stderr, "test-runtime: measurement %s\n", hex);

    const struct veil_manifest_config *c = veil_manifest_config(m);
    if (chdir(c->cwd) < 0 || setgroups(0, NULL) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0) {
        perror("test-runtime: entering the manifest's user and directory");
        return 125;
    }
    execve(c->argv[0], (char *const *)c->argv, (char *const *)c->env);
    perror("test-runtime: exec");
    return 127;
}
