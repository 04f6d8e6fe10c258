/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz path resolution: a path and a set of on-disk symlinks from the input; the result must stay normal. */
#include <stdint.h>
#include <string.h>

#include "shield/policy.h"
#include "shield/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: "path\0base\0link1-name\0link1-target\0..." (links are what the disk says under /tmp and /app). */
struct links {
    const char *name[8], *target[8];
    size_t count;
};

static int fuzz_readlink(void *ctx, const char *path, char *buf, size_t size) {
    const struct links *l = ctx;
    for (size_t i = 0; i < l->count; i++)
        if (!strcmp(l->name[i], path)) {
            size_t n = strlen(l->target[i]);
            if (n > size) n = size;
            memcpy(buf, l->target[i], n);
            return (int)n;
        }
    return -EINVAL;
}

static struct veil_shield_table *table;
static struct veil_shield_policy policy;

static void setup(void) {
    if (table) return;
    if (veil_shield_table_new(&table) < 0) __builtin_trap();
    struct veil_shield_verdict dir = { .class = VEIL_SHIELD_DIRECTORY };
    struct veil_shield_verdict link = { .class = VEIL_SHIELD_SYMLINK, .target = "../usr/./bin/" };
    struct veil_shield_verdict file = { .class = VEIL_SHIELD_TRUSTED };
    if (veil_shield_table_add_entry(table, "/", &dir) < 0 || veil_shield_table_add_entry(table, "/usr", &dir) < 0 ||
        veil_shield_table_add_entry(table, "/usr/bin", &dir) < 0 || veil_shield_table_add_entry(table, "/bin", &link) < 0 ||
        veil_shield_table_add_entry(table, "/usr/bin/sh", &file) < 0 ||
        veil_shield_table_add_rule(table, "/proc", VEIL_SHIELD_PASSTHROUGH, NULL) < 0 ||
        veil_shield_table_add_rule(table, "/tmp", VEIL_SHIELD_EPHEMERAL, NULL) < 0 ||
        veil_shield_table_add_rule(table, "/app", VEIL_SHIELD_ENCRYPTED, "image") < 0)
        __builtin_trap();
    veil_shield_table_seal(table);
    policy = veil_shield_table_policy(table);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    char buf[8192];
    if (size >= sizeof(buf)) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    const char *fields[18];
    size_t n = 0;
    for (size_t pos = 0; pos <= size && n < ELEMENTSOF(fields);) {
        fields[n++] = buf + pos;
        pos += strlen(buf + pos) + 1;
    }
    const char *path = fields[0];
    const char *base = n > 1 ? fields[1] : "/";
    struct links l = { .count = 0 };
    for (size_t i = 2; i + 1 < n && l.count < 8; i += 2) {
        l.name[l.count] = fields[i];
        l.target[l.count] = fields[i + 1];
        l.count++;
    }
    struct veil_shield_resolver r = { .policy = &policy, .readlink = fuzz_readlink, .ctx = &l };
    struct veil_shield_resolved out;
    if (veil_shield_resolve(&r, base, path, size & 1, &out) == 0) {
        /* normal, absolute, and no `..` component outside passthrough */
        if (out.path[0] != '/' || strlen(out.path) != out.path_size) __builtin_trap();
        if (out.verdict.class != VEIL_SHIELD_PASSTHROUGH &&
            (strstr(out.path, "/../") || strstr(out.path, "//") || strstr(out.path, "/./") ||
             (out.path_size > 1 && out.path[out.path_size - 1] == '/')))
            __builtin_trap();
    }
    return 0;
}
