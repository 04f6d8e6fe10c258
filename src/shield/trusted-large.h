/* SPDX-License-Identifier: Apache-2.0 */
/* Large trusted files on several threads: copied while hashed, or hashed chunk by chunk on every core. */
#pragma once

#include <stdint.h>

#include "base/macro.h"
#include "policy.h"

/* Files at least this large are copied and hashed on two threads (below, the thread costs more than it saves). */
#define VEIL_SHIELD_PARALLEL_COPY_MIN ((uint64_t)4 << 20)

/*
 * Copy v->size bytes of src into memfd (empty, not sealed, ours alone) and check
 * that what the memfd now holds hashes to v->sha256. A second thread copies
 * while this one hashes the ranges already copied, reading them back from the
 * memfd: so the digest covers exactly the bytes later opens will read, whatever
 * the host does to src meanwhile, and the two passes overlap (copying into fresh
 * memory costs about as much as SHA-256 here: 52 ms and 65 ms for the JVM's
 * 128 MB lib/modules). -EACCES when src shrank or the digest differs; other
 * errors as they come. The caller seals the memfd.
 */
int veil_shield_copy_and_hash(int src, int memfd, const char *path, const struct veil_shield_verdict *v) _warn_unused_;

/*
 * Check that src's v->size bytes have the content digest v->sha256, for a file
 * digested in chunks (veil_file_digest_chunks(v->size) > 0): the chunks are
 * hashed on up to one thread per CPU and combined. For `execve`, whose binary
 * the kernel reads from disk itself (a 99 MB node binary: 54 ms on one core).
 * -EACCES when src shrank or the digest differs.
 */
int veil_shield_hash_chunks(int src, const char *path, const struct veil_shield_verdict *v) _warn_unused_;
