/* SPDX-License-Identifier: Apache-2.0 */
/* Verifying a trusted file against its content digest, on every core, optionally while copying it. */
#pragma once

#include <stdint.h>

#include "base/macro.h"
#include "policy.h"

/*
 * Check that src's v->size bytes have the content digest v->sha256.
 *
 * dest, when not -1, is an empty memory file that is ours alone: each piece of
 * src is read into a private buffer, hashed there and written from that same
 * buffer to the same offset of dest, so the digest covers exactly the bytes
 * later opens read, whatever the host does to src meanwhile. dest -1: hash only
 * (for execve, whose binary the kernel reads from disk itself).
 *
 * A file digested in 1 MiB chunks (over 1 MiB, docs/manifest.md) is worked on
 * by up to one thread per CPU, each taking whole chunks; smaller files by the
 * calling thread. -EACCES when src shrank or the digest differs (with the
 * file named in the error); other errors as they come.
 */
int veil_shield_verify_file(int src, int dest, const char *path, const struct veil_shield_verdict *v) _warn_unused_;
