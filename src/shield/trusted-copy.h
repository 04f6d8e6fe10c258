/* SPDX-License-Identifier: Apache-2.0 */
/* A large trusted file into its memfd: copied by one thread while another hashes what the memfd holds. */
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
