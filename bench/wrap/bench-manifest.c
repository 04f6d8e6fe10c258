/* SPDX-License-Identifier: Apache-2.0 */
/* Verify+load time of a signed 10,000-file manifest (what veil-run pays at start), and lookups per second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/key.h"
#include "manifest/manifest.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    size_t files = argc > 1 ? (size_t)atoi(argv[1]) : 10000;
    struct veil_manifest_builder *b;
    EVP_PKEY *key;
    if (veil_manifest_builder_new(&b) < 0 || veil_key_generate(VEIL_KEY_ED25519, &key) < 0) return 1;
    const char *argv0[] = { "/usr/bin/python3", "/app/main.py" };
    if (veil_manifest_builder_set_argv(b, argv0, 2) < 0) return 1;
    if (veil_manifest_builder_add_rule(b, "/proc", VEIL_MANIFEST_PASSTHROUGH, NULL) < 0 ||
        veil_manifest_builder_add_rule(b, "/tmp", VEIL_MANIFEST_EPHEMERAL, NULL) < 0 ||
        veil_manifest_builder_add_rule(b, "/app", VEIL_MANIFEST_ENCRYPTED, "image") < 0)
        return 1;
    char **paths = calloc(files, sizeof(char *));
    for (size_t i = 0; i < files; i++) {
        /* realistic depth and length: /usr/lib/python3.11/pkgNNN/moduleNNNNN.py */
        if (asprintf(&paths[i], "/usr/lib/python3.11/pkg%03zu/module_with_a_longer_name_%05zu.py", i % 300, i) < 0) return 1;
        struct veil_manifest_entry e = { .path = paths[i], .class = VEIL_MANIFEST_TRUSTED, .mode = 0644, .size = 4096 };
        memset(e.sha256, (int)i, sizeof(e.sha256));
        if (veil_manifest_builder_add_entry(b, &e) < 0) return 1;
    }
    uint8_t *body, *signed_data;
    size_t body_size, signed_size;
    if (veil_manifest_builder_encode(b, &body, &body_size) < 0 ||
        veil_manifest_sign(body, body_size, key, &signed_data, &signed_size) < 0)
        return 1;

    int rounds = 50;
    double start = now();
    for (int i = 0; i < rounds; i++) {
        struct veil_manifest *m;
        if (veil_manifest_load(signed_data, signed_size, &m) < 0) return 1;
        veil_manifest_free(m);
    }
    double load_ms = (now() - start) * 1000 / rounds;

    struct veil_manifest *m;
    if (veil_manifest_load(signed_data, signed_size, &m) < 0) return 1;
    size_t lookups = 1000000;
    start = now();
    for (size_t i = 0; i < lookups; i++) {
        const char *p = paths[(i * 7919) % files];
        if (veil_manifest_classify(m, p, strlen(p), NULL, NULL) != VEIL_MANIFEST_TRUSTED) return 1;
    }
    double lookup_ns = (now() - start) * 1e9 / (double)lookups;
    printf("manifest: %zu files, %zu bytes\n", files, signed_size);
    printf("verify+load: %.2f ms (target < 20 ms; ratio to target %.3f)\n", load_ms, load_ms / 20.0);
    printf("classify: %.0f ns per lookup\n", lookup_ns);
    veil_manifest_free(m);
    return 0;
}
