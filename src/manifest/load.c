/* SPDX-License-Identifier: Apache-2.0 */
/* Verifies a signed manifest and checks every structural rule of docs/manifest.md before anyone trusts it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "format.h"
#include "internal.h"

/* A configuration/key/rule string: u32 size, bytes without NUL, then a NUL. */
static int read_string(struct veil_cursor *c, size_t max, const char **ret, size_t *ret_size) {
    uint32_t n;
    const uint8_t *p;
    uint8_t nul;
    int r = veil_cursor_u32le(c, &n);
    if (r < 0) return r;
    if (n > max) return veil_err(-EBADMSG, "manifest string of %u bytes exceeds the limit", n);
    if ((r = veil_cursor_borrow(c, n, &p)) < 0 || (r = veil_cursor_u8(c, &nul)) < 0) return r;
    if (nul != 0 || memchr(p, 0, n)) return veil_err(-EBADMSG, "manifest string is not NUL-terminated text");
    *ret = (const char *)p;
    if (ret_size) *ret_size = n;
    return 0;
}

static int read_count(struct veil_cursor *c, uint32_t max, uint32_t *ret) {
    int r = veil_cursor_u32le(c, ret);
    if (r < 0) return r;
    if (*ret > max) return veil_err(-EBADMSG, "manifest list of %u elements exceeds the limit", *ret);
    return 0;
}

/* Padding to the section's end must be zero and shorter than the alignment. */
static int expect_padding(struct veil_cursor *c) {
    size_t n = veil_cursor_remaining(c);
    const uint8_t *p;
    if (n >= MF_ALIGN) return veil_err(-EBADMSG, "manifest section has unused bytes");
    int r = veil_cursor_borrow(c, n, &p);
    if (r < 0) return r;
    for (size_t i = 0; i < n; i++)
        if (p[i]) return veil_err(-EBADMSG, "manifest padding is not zero");
    if (c->pos % MF_ALIGN) return veil_err(-EBADMSG, "manifest section is not padded to 8 bytes");
    return 0;
}

static int parse_config(struct veil_manifest *m, struct veil_cursor c) {
    uint32_t counts[3];
    struct veil_cursor scan = c;
    size_t total = 0;
    /* first pass: the three list sizes, to allocate the pointer arrays once */
    for (int l = 0; l < 3; l++) {
        int r = read_count(&scan, VEIL_MANIFEST_MAX_LIST, &counts[l]);
        if (r < 0) return r;
        for (uint32_t i = 0; i < counts[l]; i++) {
            const char *s;
            if ((r = read_string(&scan, VEIL_MANIFEST_MAX_STRING, &s, NULL)) < 0) return r;
        }
        total += counts[l] + 1;
    }
    if (counts[0] == 0) return veil_err(-EBADMSG, "manifest has no entrypoint");
    m->lists = calloc(total, sizeof(char *));
    if (!m->lists) return -ENOMEM;

    const char **slot = m->lists;
    const char **starts[3];
    for (int l = 0; l < 3; l++) {
        uint32_t n;
        int r = veil_cursor_u32le(&c, &n);
        if (r < 0) return r;
        starts[l] = slot;
        for (uint32_t i = 0; i < n; i++, slot++)
            if ((r = read_string(&c, VEIL_MANIFEST_MAX_STRING, slot, NULL)) < 0) return r;
        *slot++ = NULL;
    }
    struct veil_manifest_config *cfg = &m->config;
    cfg->argv = starts[0];
    cfg->argc = counts[0];
    cfg->env = starts[1];
    cfg->env_count = counts[1];
    cfg->host_env = starts[2];
    cfg->host_env_count = counts[2];
    if (!veil_manifest_path_is_normal(cfg->argv[0], strlen(cfg->argv[0])))
        return veil_err(-EBADMSG, "manifest entrypoint is not a normal absolute path");
    for (size_t i = 0; i < cfg->env_count; i++) {
        const char *eq = strchr(cfg->env[i], '=');
        if (!eq || eq == cfg->env[i]) return veil_err(-EBADMSG, "manifest environment entry is not NAME=value");
    }
    for (size_t i = 0; i < cfg->host_env_count; i++) {
        if (!*cfg->host_env[i] || strchr(cfg->host_env[i], '='))
            return veil_err(-EBADMSG, "manifest host environment name is empty or holds '='");
        if (i > 0 && strcmp(cfg->host_env[i - 1], cfg->host_env[i]) >= 0)
            return veil_err(-EBADMSG, "manifest host environment names are not sorted and unique");
    }
    size_t cwd_size;
    int r = read_string(&c, VEIL_MANIFEST_MAX_PATH, &cfg->cwd, &cwd_size);
    if (r < 0) return r;
    if (!veil_manifest_path_is_normal(cfg->cwd, cwd_size)) return veil_err(-EBADMSG, "manifest working directory is not normal");
    if ((r = veil_cursor_u32le(&c, &cfg->uid)) < 0 || (r = veil_cursor_u32le(&c, &cfg->gid)) < 0 ||
        (r = read_string(&c, VEIL_MANIFEST_MAX_STRING, &cfg->attest_address, NULL)) < 0 ||
        (r = read_string(&c, VEIL_MANIFEST_MAX_STRING, &cfg->attest_policy, NULL)) < 0 ||
        (r = veil_cursor_u32le(&c, &cfg->product_id)) < 0 || (r = veil_cursor_u32le(&c, &cfg->security_version)) < 0)
        return r;
    return expect_padding(&c);
}

static int parse_keys(struct veil_manifest *m, struct veil_cursor c) {
    uint32_t n;
    int r = read_count(&c, VEIL_MANIFEST_MAX_LIST, &n);
    if (r < 0) return r;
    m->keys = calloc(n + 1, sizeof(char *));
    if (!m->keys) return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        size_t size;
        if ((r = read_string(&c, VEIL_MANIFEST_MAX_STRING, &m->keys[i], &size)) < 0) return r;
        if (size == 0) return veil_err(-EBADMSG, "manifest key name is empty");
        if (i > 0 && strcmp(m->keys[i - 1], m->keys[i]) >= 0)
            return veil_err(-EBADMSG, "manifest key names are not sorted and unique");
    }
    m->key_count = n;
    return expect_padding(&c);
}

static bool class_is_exclusive(enum veil_manifest_class c) {
    return c == VEIL_MANIFEST_PASSTHROUGH || c == VEIL_MANIFEST_EPHEMERAL;
}

static int parse_rules(struct veil_manifest *m, struct veil_cursor c) {
    uint32_t n;
    int r = read_count(&c, VEIL_MANIFEST_MAX_LIST, &n);
    if (r < 0) return r;
    m->rules = calloc(n ? n : 1, sizeof(*m->rules));
    if (!m->rules) return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t class, reserved;
        uint16_t key;
        size_t size;
        struct veil_manifest_rule *rule = &m->rules[i];
        if ((r = veil_cursor_u8(&c, &class)) < 0 || (r = veil_cursor_u8(&c, &reserved)) < 0 ||
            (r = veil_cursor_u16le(&c, &key)) < 0 || (r = read_string(&c, VEIL_MANIFEST_MAX_PATH, &rule->path, &size)) < 0)
            return r;
        if (reserved) return veil_err(-EBADMSG, "manifest rule has a non-zero reserved byte");
        if (!veil_manifest_path_is_normal(rule->path, size)) return veil_err(-EBADMSG, "manifest rule path is not normal");
        if (i > 0 && strcmp(m->rules[i - 1].path, rule->path) >= 0)
            return veil_err(-EBADMSG, "manifest rules are not sorted and unique");
        rule->class = class;
        if (class == VEIL_MANIFEST_ENCRYPTED) {
            if (key >= m->key_count) return veil_err(-EBADMSG, "manifest rule names a key that does not exist");
            rule->key_name = m->keys[key];
        } else if (class_is_exclusive(class)) {
            if (key != VEIL_MANIFEST_NO_KEY) return veil_err(-EBADMSG, "manifest rule has a key but is not encrypted");
        } else
            return veil_err(-EBADMSG, "manifest rule has an unknown class %u", class);
        /* earlier rules hold every parent, since a parent sorts before its children */
        m->rule_count = i;
        const struct veil_manifest_rule *parent = veil_manifest_match_rule(m, rule->path, size);
        if (parent && class_is_exclusive(parent->class))
            return veil_err(-EBADMSG, "manifest rule '%s' lies below a passthrough or ephemeral rule", rule->path);
    }
    m->rule_count = n;
    return expect_padding(&c);
}

static bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* A pool string must start exactly at *pool_pos, hold no NUL and end with one. */
static int check_pool_string(const struct veil_manifest *m, uint32_t offset, uint32_t size, size_t *pool_pos) {
    if (offset != *pool_pos) return veil_err(-EBADMSG, "manifest string pool is not in record order");
    if (size == 0 || size > VEIL_MANIFEST_MAX_PATH) return veil_err(-EBADMSG, "manifest path or target has a bad size");
    if ((size_t)offset + size >= m->strings_size) return veil_err(-EBADMSG, "manifest string lies outside the pool");
    if (m->strings[offset + size] != 0 || memchr(m->strings + offset, 0, size))
        return veil_err(-EBADMSG, "manifest pool string is not NUL-terminated text");
    *pool_pos = (size_t)offset + size + 1;
    return 0;
}

static int check_entries(struct veil_manifest *m) {
    size_t pool_pos = 0;
    const char *prev = NULL;
    size_t prev_size = 0;
    for (size_t i = 0; i < m->entry_count; i++) {
        const uint8_t *rec = m->entries + i * MF_ENTRY_SIZE;
        uint32_t path_offset = veil_load_u32le(rec + MF_E_PATH_OFFSET), path_size = veil_load_u32le(rec + MF_E_PATH_SIZE);
        uint32_t target_offset = veil_load_u32le(rec + MF_E_TARGET_OFFSET), target_size = veil_load_u32le(rec + MF_E_TARGET_SIZE);
        uint64_t size = veil_load_u64le(rec + MF_E_SIZE);
        uint8_t class = rec[MF_E_CLASS];
        uint16_t key = veil_load_u16le(rec + MF_E_KEY);
        const uint8_t *sha = rec + MF_E_SHA256;

        int r = check_pool_string(m, path_offset, path_size, &pool_pos);
        if (r < 0) return r;
        const char *path = m->strings + path_offset;
        if (!veil_manifest_path_is_normal(path, path_size)) return veil_err(-EBADMSG, "manifest entry path is not normal");
        if (prev && mf_path_cmp(prev, prev_size, path, path_size) >= 0)
            return veil_err(-EBADMSG, "manifest entries are not sorted and unique");
        prev = path;
        prev_size = path_size;
        if (rec[MF_E_RESERVED] != 0) return veil_err(-EBADMSG, "manifest entry has a non-zero reserved byte");
        if (veil_load_u32le(rec + MF_E_MODE) & ~07777u) return veil_err(-EBADMSG, "manifest entry mode has non-permission bits");

        if (class == VEIL_MANIFEST_SYMLINK) {
            if ((r = check_pool_string(m, target_offset, target_size, &pool_pos)) < 0) return r;
            if (size != target_size) return veil_err(-EBADMSG, "manifest symlink size differs from its target's");
        } else if (target_offset || target_size)
            return veil_err(-EBADMSG, "manifest entry has a target but is no symlink");

        switch (class) {
        case VEIL_MANIFEST_TRUSTED:
            if (key != VEIL_MANIFEST_NO_KEY) return veil_err(-EBADMSG, "trusted manifest entry names a key");
            break;
        case VEIL_MANIFEST_ENCRYPTED:
            if (key >= m->key_count) return veil_err(-EBADMSG, "encrypted manifest entry names no existing key");
            break;
        case VEIL_MANIFEST_DIRECTORY:
        case VEIL_MANIFEST_SYMLINK:
            if (key != VEIL_MANIFEST_NO_KEY || !all_zero(sha, VEIL_SHA256_SIZE) || (class == VEIL_MANIFEST_DIRECTORY && size))
                return veil_err(-EBADMSG, "manifest directory or symlink entry has content fields");
            break;
        default:
            return veil_err(-EBADMSG, "manifest entry has an unknown class %u", class);
        }

        const struct veil_manifest_rule *rule = veil_manifest_match_rule(m, path, path_size);
        if (rule && class_is_exclusive(rule->class))
            return veil_err(-EBADMSG, "manifest entry lies below a passthrough or ephemeral rule");
        if (rule && rule->class == VEIL_MANIFEST_ENCRYPTED &&
            (class == VEIL_MANIFEST_TRUSTED || (class == VEIL_MANIFEST_ENCRYPTED && m->keys[key] != rule->key_name)))
            return veil_err(-EBADMSG, "manifest file below an encrypted rule is not encrypted with its key");
    }
    if (pool_pos + mf_pad(pool_pos) != m->strings_size || !all_zero((const uint8_t *)m->strings + pool_pos, m->strings_size - pool_pos))
        return veil_err(-EBADMSG, "manifest string pool has unreferenced bytes");
    return 0;
}

int veil_manifest_parse_body(uint8_t *data, size_t size, size_t body_size, struct veil_manifest **ret) {
    _cleanup_(veil_manifest_freep) struct veil_manifest *m = calloc(1, sizeof(*m));
    if (!m) {
        free(data);
        return -ENOMEM;
    }
    m->data = data;
    m->size = size;
    m->body_size = body_size;
    if (body_size > size || body_size < MF_HEADER_SIZE) return veil_err(-EBADMSG, "manifest is too short");
    const uint8_t *h = data;
    if (memcmp(h + MF_H_MAGIC, VEIL_MANIFEST_MAGIC, 8) != 0) return veil_err(-EBADMSG, "not a veil manifest (bad magic)");
    if (veil_load_u32le(h + MF_H_VERSION) != VEIL_MANIFEST_VERSION)
        return veil_err(-EBADMSG, "unsupported manifest version %u", veil_load_u32le(h + MF_H_VERSION));
    if (veil_load_u32le(h + MF_H_BODY_SIZE) != body_size) return veil_err(-EBADMSG, "manifest body size mismatch");
    if (!all_zero(h + MF_H_RESERVED, 8)) return veil_err(-EBADMSG, "manifest header has non-zero reserved bytes");

    /* sections are contiguous, in order, and fill the body exactly */
    size_t config_offset = veil_load_u32le(h + MF_H_CONFIG_OFFSET), config_size = veil_load_u32le(h + MF_H_CONFIG_SIZE);
    size_t keys_offset = veil_load_u32le(h + MF_H_KEYS_OFFSET), keys_size = veil_load_u32le(h + MF_H_KEYS_SIZE);
    size_t rules_offset = veil_load_u32le(h + MF_H_RULES_OFFSET), rules_size = veil_load_u32le(h + MF_H_RULES_SIZE);
    size_t entries_offset = veil_load_u32le(h + MF_H_ENTRIES_OFFSET), entry_count = veil_load_u32le(h + MF_H_ENTRY_COUNT);
    size_t strings_offset = veil_load_u32le(h + MF_H_STRINGS_OFFSET), strings_size = veil_load_u32le(h + MF_H_STRINGS_SIZE);
    if (entry_count > VEIL_MANIFEST_MAX_ENTRIES) return veil_err(-EBADMSG, "manifest has too many entries");
    if (config_offset != MF_HEADER_SIZE || keys_offset != config_offset + config_size ||
        rules_offset != keys_offset + keys_size || entries_offset != rules_offset + rules_size ||
        strings_offset != entries_offset + entry_count * MF_ENTRY_SIZE || strings_offset + strings_size != body_size ||
        strings_size % MF_ALIGN)
        return veil_err(-EBADMSG, "manifest sections are not laid out as specified");

    struct veil_cursor body = veil_cursor_make(data, body_size), section;
    int r;
    if ((r = veil_cursor_seek(&body, config_offset)) < 0 || (r = veil_cursor_sub(&body, config_size, &section)) < 0 ||
        (r = parse_config(m, section)) < 0)
        return r;
    if ((r = veil_cursor_sub(&body, keys_size, &section)) < 0 || (r = parse_keys(m, section)) < 0) return r;
    if ((r = veil_cursor_sub(&body, rules_size, &section)) < 0 || (r = parse_rules(m, section)) < 0) return r;
    m->entries = data + entries_offset;
    m->entry_count = entry_count;
    m->strings = (const char *)data + strings_offset;
    m->strings_size = strings_size;
    if ((r = check_entries(m)) < 0) return r;
    if ((r = veil_sha256(data, body_size, m->digest)) < 0) return r;
    *ret = TAKE_PTR(m);
    return 0;
}

/* Verify and parse a whole file held in `data` (malloc'd), taking ownership of it. */
static int load_owned(uint8_t *data, size_t size, struct veil_manifest **ret) {
    _cleanup_free_ uint8_t *owned = data;
    if (size > VEIL_MANIFEST_MAX_SIZE) return veil_err(-EBADMSG, "manifest is larger than %zu bytes", VEIL_MANIFEST_MAX_SIZE);
    if (size < MF_HEADER_SIZE) return veil_err(-EBADMSG, "manifest is too short");
    size_t body_size = veil_load_u32le(data + MF_H_BODY_SIZE);
    if (body_size < MF_HEADER_SIZE || body_size > size) return veil_err(-EBADMSG, "manifest body size is out of range");

    /* the signature block, checked before any other field is trusted */
    struct veil_cursor c = veil_cursor_make(data, size);
    uint32_t spki_size, sig_size;
    const uint8_t *spki, *sig;
    int r;
    if ((r = veil_cursor_seek(&c, body_size)) < 0 || (r = veil_cursor_u32le(&c, &spki_size)) < 0) return r;
    if (spki_size == 0 || spki_size > MF_MAX_KEY_BLOB) return veil_err(-EBADMSG, "manifest signer key has a bad size");
    if ((r = veil_cursor_borrow(&c, spki_size, &spki)) < 0 || (r = veil_cursor_u32le(&c, &sig_size)) < 0) return r;
    if (sig_size == 0 || sig_size > MF_MAX_KEY_BLOB) return veil_err(-EBADMSG, "manifest signature has a bad size");
    if ((r = veil_cursor_borrow(&c, sig_size, &sig)) < 0) return r;
    if ((r = veil_cursor_expect_eof(&c)) < 0) return veil_err(r, "manifest has bytes after its signature");

    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    if ((r = veil_key_from_public_der(spki, spki_size, &key)) < 0) return veil_err(r, "manifest signer key is not a public key");
    if (veil_verify(key, data, body_size, sig, sig_size) < 0) return veil_err(-EACCES, "manifest signature does not verify");
    uint8_t signer_id[VEIL_SHA256_SIZE];
    if ((r = veil_sha256(spki, spki_size, signer_id)) < 0) return r;

    struct veil_manifest *m;
    if ((r = veil_manifest_parse_body(TAKE_PTR(owned), size, body_size, &m)) < 0) return r;
    memcpy(m->signer_id, signer_id, VEIL_SHA256_SIZE);
    *ret = m;
    return 0;
}

int veil_manifest_load(const void *data, size_t size, struct veil_manifest **ret) {
    if (size > VEIL_MANIFEST_MAX_SIZE) return veil_err(-EBADMSG, "manifest is larger than %zu bytes", VEIL_MANIFEST_MAX_SIZE);
    /* a private copy, so that what we verify is what we parse and keep */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return -ENOMEM;
    if (size) memcpy(copy, data, size);
    return load_owned(copy, size, ret);
}

int veil_manifest_load_file(const char *path, struct veil_manifest **ret) {
    uint8_t *data;
    size_t size;
    int r = veil_read_file(path, VEIL_MANIFEST_MAX_SIZE, &data, &size);
    if (r < 0) return veil_err(r, "cannot read manifest %s", path);
    return load_owned(data, size, ret);
}

void veil_manifest_free(struct veil_manifest *m) {
    if (!m) return;
    free(m->lists);
    free(m->keys);
    free(m->rules);
    free(m->data);
    free(m);
}
