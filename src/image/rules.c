/* SPDX-License-Identifier: Apache-2.0 */
/* The rules `veil wrap` puts into the manifest, and which of the image's paths each covers. */
#include "rules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "tree.h"

static const char *const default_passthrough[] = { "/proc", "/sys", "/dev", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf" };
static const char *const default_ephemeral[] = { "/tmp", "/run", "/var/tmp" };

int image_rules_add(struct image_rules *rs, const char *path, enum veil_manifest_class class) {
    struct image_rule r = { .class = class };
    if (path[0] != '/' || image_path_normalise(path, r.path, sizeof(r.path), &r.size) < 0)
        return veil_err(-EINVAL, "'%s' is not an absolute path without '..'", path);
    for (size_t i = 0; i < rs->count; i++)
        if (strcmp(rs->v[i].path, r.path) == 0) {
            rs->v[i].class = class; /* the owner's word replaces a default */
            return 0;
        }
    struct image_rule *v = realloc(rs->v, (rs->count + 1) * sizeof(*v));
    if (!v) return -ENOMEM;
    rs->v = v;
    v[rs->count++] = r;
    return 0;
}

const struct image_rule *image_rules_match(const struct image_rules *rs, const char *path, size_t size) {
    const struct image_rule *best = NULL;
    for (size_t i = 0; i < rs->count; i++) {
        const struct image_rule *r = &rs->v[i];
        bool covers = r->size == 1 || (r->size <= size && memcmp(r->path, path, r->size) == 0 &&
                                       (r->size == size || path[r->size] == '/'));
        if (covers && (!best || r->size > best->size)) best = r;
    }
    return best;
}

void image_rules_done(struct image_rules *rs) {
    free(rs->v);
}


int image_rules_add_defaults(struct image_rules *rs) {
    int r = 0;
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(default_passthrough); i++)
        r = image_rules_add(rs, default_passthrough[i], VEIL_MANIFEST_PASSTHROUGH);
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(default_ephemeral); i++)
        r = image_rules_add(rs, default_ephemeral[i], VEIL_MANIFEST_EPHEMERAL);
    return r;
}
