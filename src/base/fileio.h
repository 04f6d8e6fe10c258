/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads with a size cap, and crash-safe whole-file writes. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Read all of `path` (a regular file, at most max_size bytes) into a malloc'd buffer.
 * The buffer is NUL-terminated one byte past *ret_size. */
int veil_read_file(const char *path, size_t max_size, uint8_t **ret_data, size_t *ret_size) _warn_unused_;

/* Read an open fd to EOF (at most max_size bytes). */
int veil_read_fd(int fd, size_t max_size, uint8_t **ret_data, size_t *ret_size) _warn_unused_;

/* Write all of data to fd, retrying on short writes and EINTR. */
int veil_write_all(int fd, const void *data, size_t size) _warn_unused_;
/* pread/pwrite that loop until done; a short pread at EOF returns -EBADMSG. */
int veil_pread_all(int fd, void *data, size_t size, off_t offset) _warn_unused_;
int veil_pwrite_all(int fd, const void *data, size_t size, off_t offset) _warn_unused_;

/*
 * Crash-safe replacement of `path`: a temporary file in the same directory
 * (O_TMPFILE where the filesystem has it, else a random name), written, fsync'd,
 * then renamed over `path`, then the directory fsync'd. After a crash the path
 * holds either the old or the new contents, never a mix, and a failure removes
 * the temporary file so no partial output is left behind.
 */
int veil_write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) _warn_unused_;

/*
 * The same protocol for writers that stream: veil_atomic_begin() opens the
 * temporary file, the caller writes to ret_fd, then veil_atomic_commit() makes
 * it visible (fsync, rename, fsync dir) or veil_atomic_abort() removes it.
 */
struct veil_atomic_file {
    int fd;
    int dir_fd;
    char *path;      /* final path */
    char *tmp_name;  /* name inside dir, NULL when O_TMPFILE is used */
    char *base_name; /* final name inside dir */
};
int veil_atomic_begin(const char *path, mode_t mode, struct veil_atomic_file *ret) _warn_unused_;
int veil_atomic_commit(struct veil_atomic_file *f) _warn_unused_;
void veil_atomic_abort(struct veil_atomic_file *f);

/* Lowercase hex. `out` must hold 2*size+1 bytes. */
void veil_hex_encode(const void *data, size_t size, char *out);
/* Decode exactly `size` bytes from a 2*size-char hex string; -EBADMSG on bad input. */
int veil_hex_decode(const char *hex, void *out, size_t size) _warn_unused_;
