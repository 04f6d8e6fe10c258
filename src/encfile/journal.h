/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the journal of an in-place write-back (docs/encfile.md, "In-place write-back"). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "format.h"

#define ENCFILE_JOURNAL_MAGIC "VEILJNL\0"
#define ENCFILE_JOURNAL_FORMAT 1
/* magic 8 | format 2 | reserved 2 | records 4 | file id 16 | new length 8 | header before 128 */
#define ENCFILE_JOURNAL_FIXED (8 + 2 + 2 + 4 + VEIL_ENCFILE_FILE_ID_SIZE + 8 + ENCFILE_HEADER_SIZE)
/* offset 8 | length 4 | reserved 4, then the bytes */
#define ENCFILE_JOURNAL_RECORD_HEAD 16
#define ENCFILE_JOURNAL_MAC_SIZE 32
/* A write-back whose journal would be larger copies the file instead (and recovery reads no more). */
#define ENCFILE_JOURNAL_MAX ((size_t)32 << 20)

/* A journal being built, in memory. */
struct encfile_journal {
    uint8_t *data;
    size_t size, capacity;
    uint32_t records;
};

int encfile_journal_begin(struct encfile_journal *j, const uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE],
                          uint64_t new_length, const uint8_t header_before[ENCFILE_HEADER_SIZE]) _warn_unused_;
/* Append a write of size bytes at offset of the target; -EFBIG past ENCFILE_JOURNAL_MAX. */
int encfile_journal_add(struct encfile_journal *j, uint64_t offset, const void *data, size_t size) _warn_unused_;
/* Append the MAC: the journal is complete. */
int encfile_journal_seal(struct encfile_journal *j, const uint8_t hdr_key[32], const char *logical_path) _warn_unused_;
void encfile_journal_free(struct encfile_journal *j);

/* A journal's fields, pointing into its bytes. */
struct encfile_journal_view {
    const uint8_t *file_id;
    uint64_t new_length;
    const uint8_t *header_before; /* ENCFILE_HEADER_SIZE bytes */
    const uint8_t *header_after;  /* the last record: the target's new header */
    const uint8_t *records;       /* the first record head */
    uint32_t count;
};

/*
 * Check the structure (-EBADMSG): magic, format, every record inside the new
 * length and the buffer, the new header last and alone at offset 0. No crypto:
 * call encfile_journal_check_mac before acting on it.
 */
int encfile_journal_parse(const uint8_t *data, size_t size, struct encfile_journal_view *ret) _warn_unused_;
/* -EACCES unless the MAC (under the header key of the journal's file id, bound to the path) verifies. */
int encfile_journal_check_mac(const uint8_t *data, size_t size, const uint8_t hdr_key[32],
                              const char *logical_path) _warn_unused_;
/* Write every record to fd, the new header last, after setting the new length. No sync. */
int encfile_journal_apply(const struct encfile_journal_view *v, int fd) _warn_unused_;

/* dir/.veil.<32 hex of SHA-256(name)>.journal for dir/name (malloc'd). */
int encfile_journal_path(const char *disk_path, char **ret) _warn_unused_;
