/* SPDX-License-Identifier: Apache-2.0 */
/* Trusted files: verified once against the manifest digest, then served from a sealed memfd. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "policy.h"

/*
 * The cache maps a normalised path to a sealed memfd holding the bytes that
 * hashed to the manifest's digest. The copy is made first and sealed
 * (no write, grow or shrink) before it is hashed, so what was verified is
 * exactly what every later open reads: the host cannot change it afterwards.
 * A failed verification is remembered too, so a tampered file is refused
 * without being read again.
 */
struct veil_shield_trusted;

/* before_slow_work(ctx) is called before a file is read and hashed (the supervisor hands its listener on). */
int veil_shield_trusted_new(int root_fd, void (*before_slow_work)(void *), void *ctx,
                            struct veil_shield_trusted **ret) _warn_unused_;
void veil_shield_trusted_free(struct veil_shield_trusted *t);

/*
 * A fresh read-only open file description of the verified copy (own offset),
 * with O_CLOEXEC. -EACCES when the file does not match the manifest (and the
 * reason is logged once), -ENOENT when it is missing.
 */
int veil_shield_trusted_open(struct veil_shield_trusted *t, const char *path, size_t path_size,
                             const struct veil_shield_verdict *v, int *ret_fd) _warn_unused_;
/*
 * For execve, whose file the kernel reads from disk itself: hash the file on
 * disk (no copy) and return its first bytes (to find its interpreter). A file
 * verified before is recognised by device, inode and change time.
 */
int veil_shield_trusted_check(struct veil_shield_trusted *t, const char *path, size_t path_size,
                              const struct veil_shield_verdict *v, uint8_t *head, size_t head_size,
                              size_t *ret_head_size) _warn_unused_;

/* A memory file that can be sealed and executed, named after path's last component; -errno. */
int veil_shield_exec_memfd(const char *path, bool cloexec) _warn_unused_;
