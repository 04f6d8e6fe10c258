/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a loaded manifest: accessors, binary search by path, prefix rules and classification. */
#include <string.h>

#include "base/cursor.h"
#include "format.h"
#include "internal.h"

const char *veil_manifest_class_name(enum veil_manifest_class c) {
    switch (c) {
    case VEIL_MANIFEST_TRUSTED: return "trusted";
    case VEIL_MANIFEST_ENCRYPTED: return "encrypted";
    case VEIL_MANIFEST_PASSTHROUGH: return "passthrough";
    case VEIL_MANIFEST_DIRECTORY: return "directory";
    case VEIL_MANIFEST_SYMLINK: return "symlink";
    case VEIL_MANIFEST_EPHEMERAL: return "ephemeral";
    default: return "none";
    }
}

bool veil_manifest_path_is_normal(const char *path, size_t path_size) {
    if (path_size == 0 || path_size > VEIL_MANIFEST_MAX_PATH || path[0] != '/') return false;
    if (path_size == 1) return true;
    if (path[path_size - 1] == '/') return false;
    size_t start = 1;
    for (size_t i = 1; i <= path_size; i++) {
        if (i < path_size && path[i] != '/') {
            if (path[i] == 0) return false;
            continue;
        }
        size_t n = i - start;
        const char *comp = path + start;
        if (n == 0 || (n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.')) return false;
        start = i + 1;
    }
    return true;
}

void veil_manifest_signer_id(const struct veil_manifest *m, uint8_t out[VEIL_SHA256_SIZE]) {
    memcpy(out, m->signer_id, VEIL_SHA256_SIZE);
}

void veil_manifest_digest(const struct veil_manifest *m, uint8_t out[VEIL_SHA256_SIZE]) {
    memcpy(out, m->digest, VEIL_SHA256_SIZE);
}

const uint8_t *veil_manifest_body(const struct veil_manifest *m, size_t *ret_size) {
    *ret_size = m->body_size;
    return m->data;
}

const struct veil_manifest_config *veil_manifest_config(const struct veil_manifest *m) {
    return &m->config;
}

size_t veil_manifest_entry_count(const struct veil_manifest *m) {
    return m->entry_count;
}

void veil_manifest_entry_at(const struct veil_manifest *m, size_t index, struct veil_manifest_entry *ret) {
    const uint8_t *rec = m->entries + index * MF_ENTRY_SIZE;
    uint16_t key = veil_load_u16le(rec + MF_E_KEY);
    *ret = (struct veil_manifest_entry){
        .path = m->strings + veil_load_u32le(rec + MF_E_PATH_OFFSET),
        .path_size = veil_load_u32le(rec + MF_E_PATH_SIZE),
        .class = rec[MF_E_CLASS],
        .mode = veil_load_u32le(rec + MF_E_MODE),
        .uid = veil_load_u32le(rec + MF_E_UID),
        .gid = veil_load_u32le(rec + MF_E_GID),
        .size = veil_load_u64le(rec + MF_E_SIZE),
        .target = rec[MF_E_CLASS] == VEIL_MANIFEST_SYMLINK ? m->strings + veil_load_u32le(rec + MF_E_TARGET_OFFSET) : "",
        .key_name = key < m->key_count ? m->keys[key] : NULL,
    };
    memcpy(ret->sha256, rec + MF_E_SHA256, VEIL_SHA256_SIZE);
}

int veil_manifest_find(const struct veil_manifest *m, const char *path, size_t path_size, struct veil_manifest_entry *ret) {
    size_t lo = 0, hi = m->entry_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const uint8_t *rec = m->entries + mid * MF_ENTRY_SIZE;
        int c = mf_path_cmp(m->strings + veil_load_u32le(rec + MF_E_PATH_OFFSET), veil_load_u32le(rec + MF_E_PATH_SIZE),
                            path, path_size);
        if (c == 0) {
            if (ret) veil_manifest_entry_at(m, mid, ret);
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -ENOENT;
}

size_t veil_manifest_rule_count(const struct veil_manifest *m) {
    return m->rule_count;
}

const struct veil_manifest_rule *veil_manifest_rule_at(const struct veil_manifest *m, size_t index) {
    return &m->rules[index];
}

size_t veil_manifest_key_count(const struct veil_manifest *m) {
    return m->key_count;
}

const char *veil_manifest_key_at(const struct veil_manifest *m, size_t index) {
    return m->keys[index];
}

/* True when `prefix` is `path` or one of its parent directories. */
static bool covers(const char *prefix, size_t prefix_size, const char *path, size_t path_size) {
    if (prefix_size == 1) return true; /* "/" */
    if (prefix_size > path_size || memcmp(prefix, path, prefix_size) != 0) return false;
    return prefix_size == path_size || path[prefix_size] == '/';
}

const struct veil_manifest_rule *veil_manifest_match_rule(const struct veil_manifest *m, const char *path, size_t path_size) {
    const struct veil_manifest_rule *best = NULL;
    size_t best_size = 0;
    for (size_t i = 0; i < m->rule_count; i++) {
        size_t n = strlen(m->rules[i].path);
        if (n >= best_size && covers(m->rules[i].path, n, path, path_size)) {
            best = &m->rules[i];
            best_size = n;
        }
    }
    return best;
}

enum veil_manifest_class veil_manifest_classify(const struct veil_manifest *m, const char *path, size_t path_size,
                                                struct veil_manifest_entry *ret_entry, const char **ret_key_name) {
    const struct veil_manifest_rule *rule = veil_manifest_match_rule(m, path, path_size);
    if (rule && (rule->class == VEIL_MANIFEST_PASSTHROUGH || rule->class == VEIL_MANIFEST_EPHEMERAL)) return rule->class;
    struct veil_manifest_entry e;
    if (veil_manifest_find(m, path, path_size, &e) == 0) {
        if (ret_key_name && e.class == VEIL_MANIFEST_ENCRYPTED) *ret_key_name = e.key_name;
        if (ret_entry) *ret_entry = e;
        return e.class;
    }
    if (rule && rule->class == VEIL_MANIFEST_ENCRYPTED) {
        if (ret_key_name) *ret_key_name = rule->key_name;
        return VEIL_MANIFEST_ENCRYPTED;
    }
    return VEIL_MANIFEST_NONE;
}
