/* SPDX-License-Identifier: Apache-2.0 */
/* Maps the manifest's classes and entries onto the supervisor's verdicts. */
#include "policy-manifest.h"

#include <string.h>

static void manifest_classify(void *ctx, const char *path, size_t path_size, struct veil_shield_verdict *ret) {
    const struct veil_manifest *m = ctx;
    struct veil_manifest_entry e;
    memset(&e, 0, sizeof(e));
    const char *key_name = NULL;
    enum veil_manifest_class c = veil_manifest_classify(m, path, path_size, &e, &key_name);
    *ret = (struct veil_shield_verdict){ .class = VEIL_SHIELD_DENIED, .from_rule = e.path == NULL, .uid = e.uid,
                                         .gid = e.gid };
    switch (c) {
    case VEIL_MANIFEST_TRUSTED:
        ret->class = VEIL_SHIELD_TRUSTED;
        ret->size = e.size;
        ret->mode = e.mode;
        memcpy(ret->sha256, e.sha256, sizeof(ret->sha256));
        break;
    case VEIL_MANIFEST_ENCRYPTED:
        ret->class = VEIL_SHIELD_ENCRYPTED;
        ret->key_name = key_name ? key_name : e.key_name;
        ret->mode = e.mode;
        break;
    case VEIL_MANIFEST_PASSTHROUGH:
        ret->class = VEIL_SHIELD_PASSTHROUGH;
        break;
    case VEIL_MANIFEST_DIRECTORY:
        ret->class = VEIL_SHIELD_DIRECTORY;
        ret->mode = e.mode;
        break;
    case VEIL_MANIFEST_SYMLINK:
        ret->class = VEIL_SHIELD_SYMLINK;
        ret->target = e.target;
        break;
    case VEIL_MANIFEST_EPHEMERAL:
        ret->class = VEIL_SHIELD_EPHEMERAL;
        break;
    case VEIL_MANIFEST_NONE:
    default:
        break;
    }
}

struct veil_shield_policy veil_shield_manifest_policy(const struct veil_manifest *m) {
    return (struct veil_shield_policy){ .ctx = (void *)m, .classify = manifest_classify };
}
