/* SPDX-License-Identifier: Apache-2.0 */
/* Encrypted and ephemeral files: decrypted once into a shared memfd, written back encrypted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/macro.h"

/*
 * One open plaintext copy per path, shared by every process that opens it: each
 * open gets a fresh open file description of the same memfd, so processes see
 * each other's writes as on a local file system. The copy goes back to disk
 * encrypted (encfile, logical path = the application's path) and atomically
 * on fsync/fdatasync/msync/sync/syncfs, by the periodic writeback, on
 * rename and truncate, and when the application exits. Plaintext never touches
 * the disk.
 */
struct veil_shield_vault;

/* Keys are 32 bytes owned by the caller, alive as long as the vault. */
/* before_slow_work(ctx) is called before a file is decrypted or written back. */
int veil_shield_vault_new(const char *root, void (*before_slow_work)(void *), void *ctx,
                          struct veil_shield_vault **ret) _warn_unused_;
void veil_shield_vault_free(struct veil_shield_vault *v);
/* Call fn after every successful write-back (under the vault's lock); its error becomes the write-back's. */
struct veil_shield_vault_hooks;
void veil_shield_vault_set_hooks(struct veil_shield_vault *v, const struct veil_shield_vault_hooks *hooks);

/*
 * Open (O_CREAT/O_EXCL/O_TRUNC/O_APPEND/access mode honoured) and return a fresh
 * descriptor (O_CLOEXEC) for injection. A created file gets `mode` (the caller
 * applied the umask) and the owner uid/gid. -EACCES when the file fails its
 * integrity check (logged).
 */
int veil_shield_vault_open(struct veil_shield_vault *v, const char *path, const uint8_t *key, int flags,
                           mode_t mode, uid_t uid, gid_t gid, int *ret_fd) _warn_unused_;
/* The plaintext size of a regular encrypted file (for the stat family). */
int veil_shield_vault_size(struct veil_shield_vault *v, const char *path, const uint8_t *key,
                           uint64_t *ret_size) _warn_unused_;
/* Re-encrypt under the new path (and key), then remove the old file. flags: RENAME_NOREPLACE. */
int veil_shield_vault_rename(struct veil_shield_vault *v, const char *old_path, const uint8_t *old_key,
                             const char *new_path, const uint8_t *new_key, unsigned flags) _warn_unused_;
/* Forget the copy of a path about to be unlinked (holders keep their descriptors). */
void veil_shield_vault_forget(struct veil_shield_vault *v, const char *path);
int veil_shield_vault_truncate(struct veil_shield_vault *v, const char *path, const uint8_t *key,
                               uint64_t size) _warn_unused_;
/* fsync of a descriptor: write back the copy with this memfd identity; -ENOENT when it is not one of ours. */
int veil_shield_vault_sync_inode(struct veil_shield_vault *v, dev_t dev, ino_t ino) _warn_unused_;
/*
 * Look through /proc for the copies no process holds any more (no descriptor,
 * no mapping): write them back when they may have changed and drop them. When a
 * process that could be ours cannot be looked into, nothing is dropped. scan_begin/end
 * bracket the /proc look-ups (the supervisor takes the application's fs ids there).
 */
int veil_shield_vault_collect(struct veil_shield_vault *v, void (*scan_begin)(void *), void (*scan_end)(void *),
                              void *ctx) _warn_unused_;
/* Write back every copy that changed (force: every copy ever opened for writing). */
int veil_shield_vault_flush(struct veil_shield_vault *v, bool force) _warn_unused_;
