/* SPDX-License-Identifier: Apache-2.0 */
/* A volume's table of file versions: parse, encode, look up, change. */
#include "volume-table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/cursor.h"
#include "base/err.h"

const uint64_t *veil_volume_table_get(const struct veil_volume_table *t, const char *path) {
    for (size_t i = 0; i < t->count; i++)
        if (!strcmp(t->v[i].path, path)) return &t->v[i].version;
    return NULL;
}

int veil_volume_table_set(struct veil_volume_table *t, const char *path, uint64_t version) {
    for (size_t i = 0; i < t->count; i++)
        if (!strcmp(t->v[i].path, path)) {
            t->v[i].version = version;
            return 0;
        }
    size_t n = strlen(path);
    if (n == 0 || n > VEIL_VOLUME_PATH_MAX) return -ENAMETOOLONG;
    if (t->count == VEIL_VOLUME_TABLE_MAX) return veil_err(-E2BIG, "a volume holds at most %d files", VEIL_VOLUME_TABLE_MAX);
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? 2 * t->capacity : 16;
        struct veil_volume_entry *v = realloc(t->v, cap * sizeof(*v));
        if (!v) return -ENOMEM;
        t->v = v;
        t->capacity = cap;
    }
    char *copy = strdup(path);
    if (!copy) return -ENOMEM;
    t->v[t->count++] = (struct veil_volume_entry){ .path = copy, .version = version };
    return 0;
}

int veil_volume_table_remove(struct veil_volume_table *t, const char *path) {
    for (size_t i = 0; i < t->count; i++)
        if (!strcmp(t->v[i].path, path)) {
            free(t->v[i].path);
            t->v[i] = t->v[--t->count];
            return 1;
        }
    return 0;
}

void veil_volume_table_done(struct veil_volume_table *t) {
    for (size_t i = 0; i < t->count; i++) free(t->v[i].path);
    free(t->v);
    *t = (struct veil_volume_table){ 0 };
}

int veil_volume_table_parse(const uint8_t *data, size_t size, struct veil_volume_table *ret) {
    struct veil_cursor c = veil_cursor_make(data, size);
    uint8_t magic[8];
    uint32_t count;
    if (veil_cursor_read(&c, magic, 8) < 0 || memcmp(magic, VEIL_VOLUME_TABLE_MAGIC, 8) || veil_cursor_u32le(&c, &count) < 0)
        return veil_err(-EBADMSG, "volume table: bad header");
    if (count > VEIL_VOLUME_TABLE_MAX) return veil_err(-EBADMSG, "volume table: more than %d files", VEIL_VOLUME_TABLE_MAX);
    struct veil_volume_table t = { 0 };
    int r = 0;
    for (uint32_t i = 0; i < count && r >= 0; i++) {
        uint16_t n;
        const uint8_t *p;
        uint64_t version;
        char path[VEIL_VOLUME_PATH_MAX + 1];
        if (veil_cursor_u16le(&c, &n) < 0 || n == 0 || n > VEIL_VOLUME_PATH_MAX || veil_cursor_borrow(&c, n, &p) < 0 ||
            veil_cursor_u64le(&c, &version) < 0 || memchr(p, 0, n) || p[0] != '/') {
            r = veil_err(-EBADMSG, "volume table: bad entry %u", i);
            break;
        }
        memcpy(path, p, n);
        path[n] = 0;
        if (veil_volume_table_get(&t, path)) r = veil_err(-EBADMSG, "volume table: %s twice", path);
        else r = veil_volume_table_set(&t, path, version);
    }
    if (r >= 0 && veil_cursor_expect_eof(&c) < 0) r = veil_err(-EBADMSG, "volume table: trailing bytes");
    if (r < 0) {
        veil_volume_table_done(&t);
        return r;
    }
    *ret = t;
    return 0;
}

int veil_volume_table_encode(const struct veil_volume_table *t, struct veil_buf *out) {
    int r = veil_buf_append(out, VEIL_VOLUME_TABLE_MAGIC, 8);
    if (r >= 0) r = veil_buf_append_u32le(out, (uint32_t)t->count);
    for (size_t i = 0; r >= 0 && i < t->count; i++) {
        size_t n = strlen(t->v[i].path);
        if ((r = veil_buf_append_u16le(out, (uint16_t)n)) >= 0 && (r = veil_buf_append(out, t->v[i].path, n)) >= 0)
            r = veil_buf_append_u64le(out, t->v[i].version);
    }
    return r;
}
