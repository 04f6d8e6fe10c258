/* SPDX-License-Identifier: Apache-2.0 */
/* The journal of an in-place write-back: building it, checking it, applying it, and recovering after a crash. */
#include "journal.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/secbuf.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/random.h"

static const char journal_label[] = "veil-encfile-v1 journal";

int encfile_journal_begin(struct encfile_journal *j, const uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE],
                          uint64_t new_length, const uint8_t header_before[ENCFILE_HEADER_SIZE]) {
    *j = (struct encfile_journal){ .capacity = ENCFILE_JOURNAL_FIXED + ENCFILE_JOURNAL_RECORD_HEAD + ENCFILE_NODE_SIZE };
    if (!(j->data = malloc(j->capacity))) return -ENOMEM;
    uint8_t *p = j->data;
    memcpy(p, ENCFILE_JOURNAL_MAGIC, 8);
    veil_store_u16le(p + 8, ENCFILE_JOURNAL_FORMAT);
    veil_store_u16le(p + 10, 0);
    veil_store_u32le(p + 12, 0); /* the record count, set as records are added */
    memcpy(p + 16, file_id, VEIL_ENCFILE_FILE_ID_SIZE);
    veil_store_u64le(p + 16 + VEIL_ENCFILE_FILE_ID_SIZE, new_length);
    memcpy(p + 24 + VEIL_ENCFILE_FILE_ID_SIZE, header_before, ENCFILE_HEADER_SIZE);
    j->size = ENCFILE_JOURNAL_FIXED;
    return 0;
}

static int reserve(struct encfile_journal *j, size_t more) {
    if (more > ENCFILE_JOURNAL_MAX - j->size) return -EFBIG;
    if (j->size + more <= j->capacity) return 0;
    size_t capacity = MAX(j->capacity * 2, j->size + more);
    uint8_t *p = realloc(j->data, capacity);
    if (!p) return -ENOMEM;
    j->data = p;
    j->capacity = capacity;
    return 0;
}

int encfile_journal_add(struct encfile_journal *j, uint64_t offset, const void *data, size_t size) {
    if (size == 0) return -EINVAL; /* a record writes something (the parser refuses empty ones) */
    if (size > UINT32_MAX) return -EFBIG;
    int r = reserve(j, ENCFILE_JOURNAL_RECORD_HEAD + size);
    if (r < 0) return r;
    uint8_t *p = j->data + j->size;
    veil_store_u64le(p, offset);
    veil_store_u32le(p + 8, (uint32_t)size);
    veil_store_u32le(p + 12, 0);
    memcpy(p + ENCFILE_JOURNAL_RECORD_HEAD, data, size);
    j->size += ENCFILE_JOURNAL_RECORD_HEAD + size;
    veil_store_u32le(j->data + 12, ++j->records);
    return 0;
}

/* HMAC-SHA256(K_jnl, journal bytes before the MAC), K_jnl = HMAC-SHA256(K_hdr, label || u32le len(path) || path). */
static int journal_mac(const uint8_t *data, size_t size, const uint8_t hdr_key[32], const char *logical_path,
                       uint8_t out[ENCFILE_JOURNAL_MAC_SIZE]) {
    size_t path_size = strlen(logical_path);
    if (path_size > VEIL_ENCFILE_PATH_MAX) return veil_err(-EINVAL, "logical path longer than %d bytes", VEIL_ENCFILE_PATH_MAX);
    uint8_t msg[sizeof(journal_label) - 1 + 4 + VEIL_ENCFILE_PATH_MAX], key[32];
    memcpy(msg, journal_label, sizeof(journal_label) - 1);
    veil_store_u32le(msg + sizeof(journal_label) - 1, (uint32_t)path_size);
    memcpy(msg + sizeof(journal_label) - 1 + 4, logical_path, path_size);
    int r = veil_hmac_sha256(hdr_key, 32, msg, sizeof(journal_label) - 1 + 4 + path_size, key);
    if (r >= 0) r = veil_hmac_sha256(key, sizeof(key), data, size, out);
    veil_wipe(key, sizeof(key));
    return r;
}

int encfile_journal_seal(struct encfile_journal *j, const uint8_t hdr_key[32], const char *logical_path) {
    int r = reserve(j, ENCFILE_JOURNAL_MAC_SIZE);
    if (r >= 0) r = journal_mac(j->data, j->size, hdr_key, logical_path, j->data + j->size);
    if (r < 0) return r;
    j->size += ENCFILE_JOURNAL_MAC_SIZE;
    return 0;
}

void encfile_journal_free(struct encfile_journal *j) {
    free(j->data);
    *j = (struct encfile_journal){ 0 };
}

int encfile_journal_parse(const uint8_t *data, size_t size, struct encfile_journal_view *ret) {
    if (size < ENCFILE_JOURNAL_FIXED + ENCFILE_JOURNAL_MAC_SIZE || memcmp(data, ENCFILE_JOURNAL_MAGIC, 8))
        return veil_err(-EBADMSG, "not a write-back journal");
    if (veil_load_u16le(data + 8) != ENCFILE_JOURNAL_FORMAT || veil_load_u16le(data + 10))
        return veil_err(-EBADMSG, "unsupported write-back journal format");
    struct encfile_journal_view v = {
        .file_id = data + 16,
        .new_length = veil_load_u64le(data + 16 + VEIL_ENCFILE_FILE_ID_SIZE),
        .header_before = data + 24 + VEIL_ENCFILE_FILE_ID_SIZE,
        .records = data + ENCFILE_JOURNAL_FIXED,
        .count = veil_load_u32le(data + 12),
    };
    struct encfile_geometry largest;
    if (encfile_geometry(VEIL_ENCFILE_MAX_SIZE, &largest) < 0) return -EINVAL;
    if (v.count == 0 || v.new_length < ENCFILE_HEADER_SIZE || v.new_length > largest.disk_size)
        return veil_err(-EBADMSG, "write-back journal: bad record count or length");
    size_t end = size - ENCFILE_JOURNAL_MAC_SIZE, at = ENCFILE_JOURNAL_FIXED;
    for (uint32_t i = 0; i < v.count; i++) {
        if (end - at < ENCFILE_JOURNAL_RECORD_HEAD) return veil_err(-EBADMSG, "write-back journal: truncated record");
        uint64_t offset = veil_load_u64le(data + at);
        uint32_t length = veil_load_u32le(data + at + 8);
        if (veil_load_u32le(data + at + 12) || length == 0 || length > end - at - ENCFILE_JOURNAL_RECORD_HEAD ||
            offset > v.new_length || length > v.new_length - offset)
            return veil_err(-EBADMSG, "write-back journal: record %u out of bounds", i);
        /* the header is written last and alone: a crash before it leaves the old header in place */
        bool last = i + 1 == v.count;
        if (last ? offset != 0 || length != ENCFILE_HEADER_SIZE : offset < ENCFILE_HEADER_SIZE)
            return veil_err(-EBADMSG, "write-back journal: the new header must be the last record");
        if (last) v.header_after = data + at + ENCFILE_JOURNAL_RECORD_HEAD;
        at += ENCFILE_JOURNAL_RECORD_HEAD + length;
    }
    if (at != end) return veil_err(-EBADMSG, "write-back journal: trailing bytes");
    *ret = v;
    return 0;
}

int encfile_journal_check_mac(const uint8_t *data, size_t size, const uint8_t hdr_key[32], const char *logical_path) {
    if (size < ENCFILE_JOURNAL_MAC_SIZE) return -EBADMSG;
    uint8_t mac[ENCFILE_JOURNAL_MAC_SIZE];
    int r = journal_mac(data, size - ENCFILE_JOURNAL_MAC_SIZE, hdr_key, logical_path, mac);
    if (r < 0) return r;
    if (!veil_memeq_ct(mac, data + size - ENCFILE_JOURNAL_MAC_SIZE, sizeof(mac)))
        return veil_err(-EACCES, "write-back journal does not authenticate");
    return 0;
}

int encfile_journal_apply(const struct encfile_journal_view *v, int fd) {
    const uint8_t *p = v->records;
    for (uint32_t i = 0; i + 1 < v->count; i++) {
        uint64_t offset = veil_load_u64le(p);
        uint32_t length = veil_load_u32le(p + 8);
        int r = veil_pwrite_all(fd, p + ENCFILE_JOURNAL_RECORD_HEAD, length, (off_t)offset);
        if (r < 0) return veil_err(r, "cannot write back in place");
        p += ENCFILE_JOURNAL_RECORD_HEAD + length;
    }
    if (ftruncate(fd, (off_t)v->new_length) < 0) return veil_err(-errno, "cannot set the length in place");
    int r = veil_pwrite_all(fd, v->header_after, ENCFILE_HEADER_SIZE, 0);
    return r < 0 ? veil_err(r, "cannot write back the header in place") : 0;
}

int encfile_journal_path(const char *disk_path, char **ret) {
    _cleanup_free_ char *d = strdup(disk_path), *b = strdup(disk_path);
    if (!d || !b) return -ENOMEM;
    const char *name = basename(b), *dir = dirname(d);
    uint8_t digest[VEIL_SHA256_SIZE];
    int r = veil_sha256(name, strlen(name), digest);
    if (r < 0) return r;
    char hex[2 * 16 + 1];
    veil_hex_encode(digest, 16, hex);
    return asprintf(ret, "%s/.veil.%s.journal", dir, hex) < 0 ? -ENOMEM : 0;
}
