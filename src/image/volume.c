/* SPDX-License-Identifier: Apache-2.0 */
/* `veil wrap --volume PATH=NAME`: an encrypted rule whose files are made at run time under the volume key NAME. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/macro.h"
#include "image.h"
#include "rules.h"
#include "tree.h"

int image_rules_add_volume(struct image_rules *rs, const char *spec) {
    const char *eq = strchr(spec, '=');
    size_t n = eq ? strlen(eq + 1) : 0;
    if (!eq || n == 0 || n > VEIL_IMAGE_VOLUME_NAME_MAX ||
        strspn(eq + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n ||
        !strcmp(eq + 1, VEIL_MANIFEST_IMAGE_KEY))
        return veil_err(-EINVAL, "--volume needs PATH=NAME with a name of [A-Za-z0-9_-] other than 'image', got '%s'", spec);
    _cleanup_free_ char *path = strndup(spec, (size_t)(eq - spec));
    if (!path) return -ENOMEM;
    if (!strcmp(path, "/")) return veil_err(-EINVAL, "--volume / would hold the whole image");
    int r = image_rules_add(rs, path, VEIL_MANIFEST_ENCRYPTED);
    if (r < 0) return r;
    char norm[VEIL_MANIFEST_MAX_PATH + 2];
    size_t size;
    if (image_path_normalise(path, norm, sizeof(norm), &size) < 0) return -EINVAL;
    for (size_t i = 0; i < rs->count; i++)
        if (!strcmp(rs->v[i].path, norm)) {
            memcpy(rs->v[i].key, eq + 1, n + 1);
            return 0;
        }
    return -EINVAL;
}

int image_rules_check_volumes_empty(const struct image_rules *rs, struct image_tree *tree) {
    _cleanup_free_ struct image_node **nodes = NULL;
    size_t count;
    int r = image_tree_list(tree, &nodes, &count);
    if (r < 0) return r;
    for (size_t i = 0; i < count; i++) {
        const struct image_rule *rule =
            nodes[i]->type == IMAGE_NODE_FILE ? image_rules_match(rs, nodes[i]->path, nodes[i]->path_size) : NULL;
        /* wrap has no volume key to encrypt them with: a volume's files are made at run time */
        if (rule && rule->key[0])
            return veil_err(-EINVAL, "the volume %s holds %s in the image; a volume must hold no files when wrapped",
                            rule->path, nodes[i]->path);
    }
    return 0;
}
