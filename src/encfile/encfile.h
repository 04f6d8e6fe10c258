/* SPDX-License-Identifier: Apache-2.0 */
/* The encrypted, integrity-protected file format (version 1): random access, Merkle tree, versions. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/macro.h"
#include "base/secbuf.h"

/*
 * Format: docs/encfile.md. In short: 64 KiB nodes, each sealed with AES-256-GCM
 * under a key derived (HKDF) from the 32-byte volume key, a random per-write
 * salt and the file's random id; every node's salt and tag sit in its parent
 * tree node, the root's in a header that is MAC'd together with the logical
 * path. Reads verify only the nodes on their path. Nodes never written are
 * holes: no disk space, no crypto, read as zeros.
 *
 * Errors (negative errno, detail in veil_err_msg()):
 *   -EACCES   a MAC or tag failed: wrong key, wrong logical path, tampered,
 *             swapped or rolled-back file (also a pinned version that differs)
 *   -EBADMSG  not an encfile, or its length does not match its header
 *   -EINVAL   caller mistake (bad flags, size past VEIL_ENCFILE_MAX_SIZE, ...)
 *   -EROFS    a write on a handle opened read-only
 * Once a handle returned -EACCES/-EBADMSG for a node, it stays usable for other
 * nodes, but no plaintext of the failed node is ever returned.
 *
 * A handle is not thread-safe; use one per thread (or lock around it).
 */

#define VEIL_ENCFILE_KEY_SIZE 32
#define VEIL_ENCFILE_FILE_ID_SIZE 16
#define VEIL_ENCFILE_NODE_SIZE ((size_t)65536)
/* Largest plaintext size (1 TiB): keeps the tree at most 3 levels deep (2^11 children per tree node). */
#define VEIL_ENCFILE_MAX_SIZE ((uint64_t)1 << 40)
/* Longest logical path accepted (bytes, without NUL). */
#define VEIL_ENCFILE_PATH_MAX 4096

struct veil_encfile;

enum {
    VEIL_ENCFILE_READ = 0,
    /* allow pwrite/truncate/flush; flush atomically replaces disk_path */
    VEIL_ENCFILE_WRITE = 1 << 0,
    /* with WRITE: when disk_path does not exist, start an empty file (version 0,
     * nothing on disk until the first flush, which writes version 1) */
    VEIL_ENCFILE_CREATE = 1 << 1,
};

/*
 * Open the encrypted file at disk_path, whose contents must have been written
 * under `logical_path` (the path the application sees, e.g. "/data/x") with `key`.
 * When pinned_version is not NULL, the header's version must equal *pinned_version
 * or the open fails with -EACCES (rollback or fork detected).
 * The header is authenticated here; tree and data nodes are verified when read.
 */
int veil_encfile_open(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                      const char *logical_path, unsigned flags, const uint64_t *pinned_version,
                      struct veil_encfile **ret) _warn_unused_;
/*
 * Finish an in-place write-back of disk_path that a crash interrupted, if its
 * journal is there and authenticates under key and logical_path; a journal of
 * a file that has moved on since is removed, one that does not authenticate is
 * ignored. veil_encfile_open does this itself; a caller that opens the file
 * another way (an fd, /proc/self/fd) calls it first. 0 when nothing was
 * pending or it was finished.
 */
int veil_encfile_recover(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                         const char *logical_path) _warn_unused_;
/* Remove disk_path's write-back journal, if one is there: for a caller removing the file itself. */
void veil_encfile_remove_journal(const char *disk_path);
/* Read-only open of an already open file descriptor (duplicated; the caller keeps fd).
 * No journal is looked for: see veil_encfile_recover. */
int veil_encfile_open_fd(int fd, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                         const uint64_t *pinned_version, struct veil_encfile **ret) _warn_unused_;

/* Read up to size bytes at offset; returns the count read (short only at end of file) or -errno. */
ssize_t veil_encfile_pread(struct veil_encfile *f, void *buf, size_t size, uint64_t offset) _warn_unused_;
/* Write size bytes at offset (extending with zeros past the end); returns size or -errno.
 * Changes live in memory until veil_encfile_flush(); a very large dirty set
 * (VEIL_ENCFILE_DIRTY_LIMIT) triggers a flush on its own. */
ssize_t veil_encfile_pwrite(struct veil_encfile *f, const void *buf, size_t size, uint64_t offset) _warn_unused_;
/* Shrink or extend (the new part reads as zeros and costs no disk space or crypto). */
int veil_encfile_truncate(struct veil_encfile *f, uint64_t size) _warn_unused_;
#define VEIL_ENCFILE_DIRTY_LIMIT ((size_t)64 << 20)

/*
 * When anything changed since open or the last flush: write the next version,
 * version+1, crash-safely. Either as a new file next to disk_path (fsync,
 * rename over disk_path, fsync the directory), or — when the changed nodes are
 * a small part of a larger file — in place through a journal next to it
 * (docs/encfile.md, "In-place write-back"), so the cost follows the change and
 * not the file. After a crash disk_path holds the old or the new version,
 * never a mix (an interrupted in-place write-back is finished by the next
 * veil_encfile_open or veil_encfile_recover of the path). On failure before
 * the new version is committed, the handle keeps its changes and the old file
 * stays in place. disk_path is used as given at open (keep it absolute if the
 * process changes directory).
 */
int veil_encfile_flush(struct veil_encfile *f) _warn_unused_;
/*
 * Like flush, but the new file carries `version` (any value, as with store) and is
 * written even when nothing changed. For a caller that numbers versions itself
 * (veil-run's volume counters); clean nodes are still copied as ciphertext.
 */
int veil_encfile_flush_version(struct veil_encfile *f, uint64_t version) _warn_unused_;
/* Flush and free; the handle is gone even when the flush failed. */
int veil_encfile_close(struct veil_encfile *f) _warn_unused_;
/* Free without flushing: unflushed changes are discarded. */
void veil_encfile_free(struct veil_encfile *f);
VEIL_DEFINE_CLEANUP(struct veil_encfile *, veil_encfile_free, veil_encfile_freep)

/* Plaintext size (including unflushed changes). */
uint64_t veil_encfile_size(const struct veil_encfile *f);
/* Version of the file on disk as of open or the last successful flush. */
uint64_t veil_encfile_version(const struct veil_encfile *f);
/* Read every node of the file as on disk (unflushed changes aside) and check it;
 * -EACCES/-EBADMSG with the failing node in the detail. */
int veil_encfile_verify(struct veil_encfile *f) _warn_unused_;

struct veil_encfile_info {
    uint16_t format_version;
    uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE];
    uint64_t version;
    uint64_t size;            /* plaintext bytes */
    uint64_t data_node_count;
    uint64_t tree_node_count;
    unsigned tree_depth;      /* tree levels above the data nodes (>= 1) */
    uint64_t disk_size;       /* bytes of the encrypted file */
    bool authenticated;       /* false for veil_encfile_peek(): nothing checked but the layout */
};
/* Facts about an open handle (as on disk at open or last flush). */
void veil_encfile_get_info(const struct veil_encfile *f, struct veil_encfile_info *ret);
/* Parse the header without a key: NOT authenticated, for `veil pfs info` without --key. */
int veil_encfile_peek(int fd, struct veil_encfile_info *ret) _warn_unused_;

/*
 * Whole-file load: open, verify every node and decrypt into a new secbuf of the
 * plaintext size (ret_data->size). ret_version may be NULL. For the supervisor,
 * which then copies the plaintext into a memfd.
 */
int veil_encfile_load(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                      const char *logical_path, const uint64_t *pinned_version,
                      struct veil_secbuf **ret_data, uint64_t *ret_version) _warn_unused_;
int veil_encfile_load_fd(int fd, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                         const uint64_t *pinned_version, struct veil_secbuf **ret_data,
                         uint64_t *ret_version) _warn_unused_;

/*
 * Whole-file load into a file descriptor (a memfd): verify and decrypt in 1 MiB
 * chunks, written with pwrite at their offsets, so no second full-size copy of
 * the plaintext exists. out_fd is truncated to 0 first and then sized to the
 * plaintext; all-zero chunks are not written, so a sparse file stays sparse.
 * On failure out_fd is truncated to 0 again (no partial plaintext left in it).
 */
int veil_encfile_load_into_fd(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                              const char *logical_path, const uint64_t *pinned_version, int out_fd,
                              uint64_t *ret_size, uint64_t *ret_version) _warn_unused_;

/*
 * Whole-file store: encrypt data (or everything readable from src_fd, from offset 0
 * to its size at the time of the call, read with pread so the fd's offset is left
 * alone) as a fresh file (new random file id) bound to logical_path with the given
 * version, and atomically replace disk_path with it (write new, fsync, rename,
 * fsync directory). Nothing is left behind on failure. mode applies to a new file.
 * store_fd keeps whole-node holes of a sparse src_fd (SEEK_HOLE) as holes, so a
 * mostly-empty memfd stays cheap; store never makes holes (zero data is encrypted).
 */
int veil_encfile_store(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                       const char *logical_path, uint64_t version, const void *data, size_t size,
                       mode_t mode) _warn_unused_;
int veil_encfile_store_fd(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                          const char *logical_path, uint64_t version, int src_fd, mode_t mode) _warn_unused_;

/*
 * Deterministic store, for conversion time (`veil wrap`): like store/store_fd,
 * but the file id and the salt are derived (HMAC under a key derived from `key`)
 * from the logical path, the version, the size and a digest of the whole
 * plaintext, so the same (key, path, version, content) always gives the same
 * bytes, and any other content gets another file id and salt, so no key/nonce
 * pair ever seals two different plaintexts (docs/encfile.md, "Deterministic
 * store"). Costs one extra SHA-256 pass over the plaintext. store_fd_deterministic
 * never makes holes; unless src_fd is a memfd sealed against writes and size
 * changes (F_SEAL_WRITE|F_SEAL_SHRINK|F_SEAL_GROW), it re-hashes each run before
 * sealing it and fails with -EBUSY, leaving nothing behind, if the plaintext
 * changed between the two passes. Later flushes and stores (veil-run) stay random.
 */
int veil_encfile_store_deterministic(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                                     const char *logical_path, uint64_t version, const void *data, size_t size,
                                     mode_t mode) _warn_unused_;
int veil_encfile_store_fd_deterministic(const char *disk_path, const uint8_t key[VEIL_ENCFILE_KEY_SIZE],
                                        const char *logical_path, uint64_t version, int src_fd,
                                        mode_t mode) _warn_unused_;
/*
 * The bytes store_deterministic would write, written to out_fd from offset 0 and
 * nothing more: no temporary, no fsync, no rename. For `veil wrap`, which streams
 * them into an archive from a reused memory file; *ret_size is their length (bytes
 * of out_fd past it are not part of the file).
 */
int veil_encfile_encode_deterministic(int out_fd, const uint8_t key[VEIL_ENCFILE_KEY_SIZE], const char *logical_path,
                                      uint64_t version, const void *data, size_t size, uint64_t *ret_size) _warn_unused_;
