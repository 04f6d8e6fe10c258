/* SPDX-License-Identifier: Apache-2.0 */
/* A hand-built policy: prefix rules and exact entries, looked up like the manifest does. */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/hash.h"
#include "manifest/file-digest.h"

struct table_rule {
    char *path;
    enum veil_shield_class class;
    char *key_name;
};

struct table_entry {
    char *path;
    struct veil_shield_verdict verdict; /* strings owned by the table */
};

struct veil_shield_table {
    struct table_rule *rules;
    size_t rule_count;
    struct table_entry *entries;
    size_t entry_count, entry_capacity;
    bool sealed;
};

const char *veil_shield_class_name(enum veil_shield_class c) {
    static const char *const names[] = {
        [VEIL_SHIELD_DENIED] = "denied",         [VEIL_SHIELD_TRUSTED] = "trusted",
        [VEIL_SHIELD_ENCRYPTED] = "encrypted",   [VEIL_SHIELD_EPHEMERAL] = "ephemeral",
        [VEIL_SHIELD_SECRET] = "secret",         [VEIL_SHIELD_PASSTHROUGH] = "passthrough",
        [VEIL_SHIELD_DIRECTORY] = "directory",   [VEIL_SHIELD_SYMLINK] = "symlink",
    };
    return (unsigned)c < ELEMENTSOF(names) && names[c] ? names[c] : "?";
}

bool veil_shield_path_has_prefix(const char *path, size_t path_size, const char *prefix) {
    size_t n = strlen(prefix);
    if (n == 1 && prefix[0] == '/') return path_size > 0 && path[0] == '/';
    if (path_size < n || memcmp(path, prefix, n) != 0) return false;
    return path_size == n || path[n] == '/';
}

int veil_shield_table_new(struct veil_shield_table **ret) {
    struct veil_shield_table *t = calloc(1, sizeof(*t));
    if (!t) return -ENOMEM;
    *ret = t;
    return 0;
}

void veil_shield_table_free(struct veil_shield_table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->rule_count; i++) {
        free(t->rules[i].path);
        free(t->rules[i].key_name);
    }
    for (size_t i = 0; i < t->entry_count; i++) {
        free(t->entries[i].path);
        free((char *)t->entries[i].verdict.target);
        free((char *)t->entries[i].verdict.key_name);
        free((uint8_t *)t->entries[i].verdict.secret);
    }
    free(t->rules);
    free(t->entries);
    free(t);
}

int veil_shield_table_add_rule(struct veil_shield_table *t, const char *path, enum veil_shield_class class,
                               const char *key_name) {
    if (path[0] != '/' || t->sealed) return -EINVAL;
    if (class != VEIL_SHIELD_PASSTHROUGH && class != VEIL_SHIELD_EPHEMERAL && class != VEIL_SHIELD_ENCRYPTED &&
        class != VEIL_SHIELD_DENIED)
        return veil_err(-EINVAL, "a rule must be passthrough, ephemeral, encrypted or denied");
    struct table_rule *rules = realloc(t->rules, (t->rule_count + 1) * sizeof(*rules));
    if (!rules) return -ENOMEM;
    t->rules = rules;
    struct table_rule *r = &rules[t->rule_count];
    r->path = strdup(path);
    r->key_name = key_name ? strdup(key_name) : NULL;
    r->class = class;
    if (!r->path || (key_name && !r->key_name)) {
        free(r->path);
        free(r->key_name);
        return -ENOMEM;
    }
    t->rule_count++;
    return 0;
}

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

int veil_shield_table_add_entry(struct veil_shield_table *t, const char *path, const struct veil_shield_verdict *v) {
    if (path[0] != '/' || t->sealed) return -EINVAL;
    if (t->entry_count == t->entry_capacity) {
        size_t cap = t->entry_capacity ? t->entry_capacity * 2 : 64;
        struct table_entry *e = realloc(t->entries, cap * sizeof(*e));
        if (!e) return -ENOMEM;
        t->entries = e;
        t->entry_capacity = cap;
    }
    struct table_entry *e = &t->entries[t->entry_count];
    *e = (struct table_entry){ .path = strdup(path), .verdict = *v };
    e->verdict.target = dup_or_null(v->target);
    e->verdict.key_name = dup_or_null(v->key_name);
    e->verdict.secret = NULL;
    if (v->secret_size) {
        uint8_t *s = malloc(v->secret_size);
        if (s) memcpy(s, v->secret, v->secret_size);
        e->verdict.secret = s;
    }
    if (!e->path || (v->target && !e->verdict.target) || (v->key_name && !e->verdict.key_name) ||
        (v->secret_size && !e->verdict.secret)) {
        free(e->path);
        free((char *)e->verdict.target);
        free((char *)e->verdict.key_name);
        free((uint8_t *)e->verdict.secret);
        return -ENOMEM;
    }
    t->entry_count++;
    return 0;
}

int veil_shield_table_add_trusted_file(struct veil_shield_table *t, const char *path, const char *host_path) {
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    int r = veil_read_file(host_path, (size_t)1 << 31, &data, &size);
    if (r < 0) return r;
    struct veil_shield_verdict v = { .class = VEIL_SHIELD_TRUSTED, .size = size, .mode = 0755 };
    r = veil_file_digest(data, size, v.sha256);
    if (r < 0) return r;
    return veil_shield_table_add_entry(t, path, &v);
}

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const struct table_entry *)a)->path, ((const struct table_entry *)b)->path);
}

void veil_shield_table_seal(struct veil_shield_table *t) {
    qsort(t->entries, t->entry_count, sizeof(*t->entries), entry_cmp);
    t->sealed = true;
}

static const struct table_rule *longest_rule(const struct veil_shield_table *t, const char *path, size_t path_size) {
    const struct table_rule *best = NULL;
    for (size_t i = 0; i < t->rule_count; i++)
        if (veil_shield_path_has_prefix(path, path_size, t->rules[i].path) &&
            (!best || strlen(t->rules[i].path) > strlen(best->path)))
            best = &t->rules[i];
    return best;
}

static const struct table_entry *find_entry(const struct veil_shield_table *t, const char *path, size_t path_size) {
    size_t lo = 0, hi = t->entry_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *p = t->entries[mid].path;
        size_t n = strlen(p);
        int c = memcmp(p, path, MIN(n, path_size));
        if (c == 0) c = n < path_size ? -1 : n > path_size ? 1 : 0;
        if (c == 0) return &t->entries[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* The manifest's order: passthrough/ephemeral rules, then exact entries, then encrypted rules, else denied. */
static void table_classify(void *ctx, const char *path, size_t path_size, struct veil_shield_verdict *ret) {
    const struct veil_shield_table *t = ctx;
    const struct table_rule *rule = longest_rule(t, path, path_size);
    *ret = (struct veil_shield_verdict){ .class = VEIL_SHIELD_DENIED };
    if (rule && (rule->class == VEIL_SHIELD_PASSTHROUGH || rule->class == VEIL_SHIELD_EPHEMERAL)) {
        ret->class = rule->class;
        ret->from_rule = true;
        return;
    }
    const struct table_entry *e = find_entry(t, path, path_size);
    if (e) {
        *ret = e->verdict;
        return;
    }
    if (rule && rule->class == VEIL_SHIELD_ENCRYPTED) {
        ret->class = VEIL_SHIELD_ENCRYPTED;
        ret->key_name = rule->key_name;
        ret->from_rule = true;
    }
}

struct veil_shield_policy veil_shield_table_policy(struct veil_shield_table *t) {
    return (struct veil_shield_policy){ .ctx = t, .classify = table_classify };
}
