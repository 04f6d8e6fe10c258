/* SPDX-License-Identifier: Apache-2.0 */
/* Path-prefix rules of a wrap (encrypted, passthrough, ephemeral) and the longest-prefix match. */
#pragma once

#include <stddef.h>

#include "base/macro.h"
#include "manifest/manifest.h"

struct image_rule {
    char path[VEIL_MANIFEST_MAX_PATH + 2];
    size_t size;
    enum veil_manifest_class class;
    char key[65]; /* encrypted volumes (--volume): the volume key's name; "" = the image key */
};

struct image_rules {
    struct image_rule *v;
    size_t count;
};

/* Add (or, for an existing path, re-class) a rule; the path must be absolute, without "..". */
int image_rules_add(struct image_rules *rs, const char *path, enum veil_manifest_class class) _warn_unused_;
/* The longest rule that is `path` or one of its parent directories; NULL when none. */
const struct image_rule *image_rules_match(const struct image_rules *rs, const char *path, size_t size);
/* passthrough /proc /sys /dev /etc/hosts /etc/hostname /etc/resolv.conf; ephemeral /tmp /run /var/tmp */
int image_rules_add_defaults(struct image_rules *rs) _warn_unused_;
void image_rules_done(struct image_rules *rs);
/* volume.c: "PATH=NAME" as an encrypted rule with key NAME; and refuse image files below such rules */
struct image_tree;
int image_rules_add_volume(struct image_rules *rs, const char *spec) _warn_unused_;
int image_rules_check_volumes_empty(const struct image_rules *rs, struct image_tree *tree) _warn_unused_;
