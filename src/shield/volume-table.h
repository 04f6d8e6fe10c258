/* SPDX-License-Identifier: Apache-2.0 */
/* The content of a volume's version file: the encfile version of every file of the volume. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/macro.h"

/*
 * Layout (little-endian), the plaintext of PATH/.veil-volume (docs/attestation-flow.md):
 *   0   8  magic "VEILVOL1"
 *   8   4  count (<= VEIL_VOLUME_TABLE_MAX)
 *   12  ... count entries: u16 path size (1..4096), path (absolute, no NUL), u64 version
 * Paths unique. The file is authenticated by encfile under the volume key; the
 * parser still reads it through the bounded cursor.
 */
#define VEIL_VOLUME_TABLE_MAGIC "VEILVOL1"
#define VEIL_VOLUME_TABLE_MAX 100000
#define VEIL_VOLUME_PATH_MAX 4096

struct veil_volume_entry {
    char *path;
    uint64_t version;
};

struct veil_volume_table {
    struct veil_volume_entry *v;
    size_t count, capacity;
};

int veil_volume_table_parse(const uint8_t *data, size_t size, struct veil_volume_table *ret) _warn_unused_;
int veil_volume_table_encode(const struct veil_volume_table *t, struct veil_buf *out) _warn_unused_;
/* The recorded version of path, or NULL. */
const uint64_t *veil_volume_table_get(const struct veil_volume_table *t, const char *path);
int veil_volume_table_set(struct veil_volume_table *t, const char *path, uint64_t version) _warn_unused_;
/* 1 when an entry was removed, 0 when there was none. */
int veil_volume_table_remove(struct veil_volume_table *t, const char *path);
void veil_volume_table_done(struct veil_volume_table *t);
