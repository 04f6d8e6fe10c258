/* SPDX-License-Identifier: Apache-2.0 */
/* Flattening: applies a layer's tar members (whiteouts, opaque dirs, links) to the image tree. */
#include "layer.h"

#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "base/cursor.h"
#include "base/err.h"
#include "manifest/manifest.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

struct archive *image_tar_reader_new(void) {
    struct archive *a = archive_read_new();
    if (!a) return NULL;
    if (archive_read_support_filter_all(a) != ARCHIVE_OK || archive_read_support_format_tar(a) != ARCHIVE_OK) {
        archive_read_free(a);
        return NULL;
    }
    return a;
}

int image_archive_err(struct archive *a, const char *what) {
    const char *s = archive_error_string(a);
    return veil_err(-EBADMSG, "%s: %s", what, s ? s : "corrupt or truncated archive");
}

/* A whiteout hides the path and everything below it in lower layers. */
static void whiteout(struct image_node *n, unsigned layer) {
    if (!n || !n->present || n->layer >= layer) return;
    image_tree_remove_children(n, UINT_MAX);
    image_node_reset(n);
}

static int apply_entry(struct image_tree *t, struct archive_entry *e, unsigned layer, uint64_t ordinal) {
    const char *name = archive_entry_pathname(e);
    if (!name) return veil_err(-EBADMSG, "layer member without a name");
    char path[VEIL_MANIFEST_MAX_PATH + 2];
    size_t path_size;
    int r = image_path_normalise(name, path, sizeof(path), &path_size);
    if (r < 0) return r;

    /* whiteouts: ".wh.NAME" removes NAME of lower layers; ".wh..wh..opq" empties its directory */
    const char *base = strrchr(path, '/') + 1;
    if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0) {
        size_t dir_size = (size_t)(base - path) - 1;
        if (dir_size == 0) dir_size = 1;
        struct image_node *dir;
        if ((r = image_tree_make(t, path, dir_size, layer, &dir)) < 0) return r;
        if (strcmp(base, WHITEOUT_OPAQUE) == 0) {
            image_tree_remove_children(dir, layer);
            return 0;
        }
        if (strncmp(base, ".wh..wh.", 8) == 0) return 0; /* other aufs metadata: nothing to apply */
        char victim[VEIL_MANIFEST_MAX_PATH + 2];
        size_t n = (size_t)(base - path) + strlen(base + 4);
        memcpy(victim, path, (size_t)(base - path));
        strcpy(victim + (base - path), base + 4);
        whiteout(image_tree_lookup(t, victim, n), layer);
        return 0;
    }

    mode_t type = archive_entry_filetype(e);
    const char *hardlink = archive_entry_hardlink(e);
    enum image_node_type nt;
    if (hardlink)
        nt = IMAGE_NODE_FILE;
    else if (type == AE_IFREG)
        nt = IMAGE_NODE_FILE;
    else if (type == AE_IFDIR)
        nt = IMAGE_NODE_DIR;
    else if (type == AE_IFLNK)
        nt = IMAGE_NODE_SYMLINK;
    else if (type == AE_IFCHR || type == AE_IFBLK)
        return veil_err(-EBADMSG, "layer member '%s' is a device node", path);
    else
        return veil_err(-EBADMSG, "layer member '%s' is a FIFO, socket or unknown type (0%o)", path, (unsigned)type);

    if (path_size == 1 && nt != IMAGE_NODE_DIR) return veil_err(-EBADMSG, "the image root is not a directory");
    la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX) return veil_err(-EBADMSG, "layer member '%s' has a bad owner", path);

    /* a symlink's target, and a hard link's, are checked before the node changes */
    if (nt == IMAGE_NODE_SYMLINK) {
        const char *target = archive_entry_symlink(e);
        if (!target || !*target || strlen(target) > VEIL_MANIFEST_MAX_PATH)
            return veil_err(-EBADMSG, "symlink '%s' has an empty or too long target", path);
    }
    /* resolve the link target before the node changes (a link to itself is refused) */
    struct image_node *link_target = NULL;
    if (hardlink) {
        char tp[VEIL_MANIFEST_MAX_PATH + 2];
        size_t tp_size;
        if ((r = image_path_normalise(hardlink, tp, sizeof(tp), &tp_size)) < 0) return r;
        link_target = image_tree_lookup(t, tp, tp_size);
        if (!link_target || !link_target->present || link_target->type != IMAGE_NODE_FILE ||
            (tp_size == path_size && memcmp(tp, path, path_size) == 0))
            return veil_err(-EBADMSG, "hard link '%s' -> '%s' points to no regular file", path, hardlink);
    }

    struct image_node *n;
    if ((r = image_tree_make(t, path, path_size, layer, &n)) < 0) return r;
    if (n->present && n->layer == layer && !n->implicit)
        return veil_err(-EBADMSG, "layer has a duplicate member '%s'", path);
    if (n->present && n->type == IMAGE_NODE_DIR && nt != IMAGE_NODE_DIR) image_tree_remove_children(n, UINT_MAX);
    if (!(n->present && n->type == IMAGE_NODE_DIR && nt == IMAGE_NODE_DIR)) image_node_reset(n);

    n->present = true;
    n->implicit = false;
    if (nt == IMAGE_NODE_FILE && (!n->was_file || layer < n->first_file_layer)) n->first_file_layer = layer;
    n->was_file |= nt == IMAGE_NODE_FILE;
    n->type = nt;
    n->layer = layer;
    n->mode = archive_entry_perm(e) & 07777;
    n->uid = (uint32_t)uid;
    n->gid = (uint32_t)gid;
    n->mtime = archive_entry_mtime(e);
    if (link_target) {
        n->hardlink = true;
        n->size = link_target->size;
        n->src_layer = link_target->src_layer;
        n->src_ordinal = link_target->src_ordinal;
    } else if (nt == IMAGE_NODE_FILE) {
        la_int64_t size = archive_entry_size(e);
        if (size < 0) return veil_err(-EBADMSG, "layer member '%s' has a negative size", path);
        n->size = (uint64_t)size;
        n->src_layer = layer;
        n->src_ordinal = ordinal;
    } else if (nt == IMAGE_NODE_SYMLINK) {
        if (!(n->target = strdup(archive_entry_symlink(e)))) return -ENOMEM;
    }
    return 0;
}

static int hash_string(struct veil_hash *h, const char *s) {
    uint8_t len[4];
    size_t n = s ? strlen(s) : 0;
    veil_store_u32le(len, (uint32_t)n);
    int r = veil_hash_update(h, len, sizeof(len));
    return r < 0 || n == 0 ? r : veil_hash_update(h, s, n);
}

int image_header_fingerprint(struct veil_hash *h, struct archive_entry *e) {
    uint8_t fixed[8 + 6 * 8];
    veil_store_u64le(fixed, archive_entry_filetype(e));
    veil_store_u64le(fixed + 8, archive_entry_perm(e));
    veil_store_u64le(fixed + 16, (uint64_t)archive_entry_uid(e));
    veil_store_u64le(fixed + 24, (uint64_t)archive_entry_gid(e));
    veil_store_u64le(fixed + 32, (uint64_t)archive_entry_mtime(e));
    veil_store_u64le(fixed + 40, (uint64_t)archive_entry_size(e));
    veil_store_u64le(fixed + 48, archive_entry_hardlink(e) != NULL);
    int r = veil_hash_update(h, fixed, sizeof(fixed));
    if (r >= 0) r = hash_string(h, archive_entry_pathname(e));
    if (r >= 0) r = hash_string(h, archive_entry_hardlink(e));
    if (r >= 0) r = hash_string(h, archive_entry_symlink(e));
    return r;
}

int image_layer_apply(struct image_tree *t, struct archive *a, unsigned layer, uint8_t ret_fingerprint[VEIL_SHA256_SIZE]) {
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    int r = veil_hash_new(VEIL_HASH_SHA256, &h);
    if (r < 0) return r;
    struct archive_entry *e;
    for (uint64_t ordinal = 0;; ordinal++) {
        r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK) return image_archive_err(a, "corrupt or truncated layer");
        if (ordinal >= IMAGE_LAYER_MAX_ENTRIES) return veil_err(-EBADMSG, "layer has more than %u members", IMAGE_LAYER_MAX_ENTRIES);
        if ((r = apply_entry(t, e, layer, ordinal)) < 0) return r;
        if ((r = image_header_fingerprint(h, e)) < 0) return r;
    }
    uint8_t fp[VEIL_SHA256_SIZE];
    if ((r = veil_hash_final(h, fp)) < 0) return r;
    if (ret_fingerprint) memcpy(ret_fingerprint, fp, sizeof(fp));
    return 0;
}
