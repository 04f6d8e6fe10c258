/* SPDX-License-Identifier: Apache-2.0 */
/* Taking the calling process's own ids when it runs as another user than veil-run expected (nginx's workers). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "base/macro.h"

/* Before a request: forget an earlier refusal. */
void veil_shield_caller_ids_reset(void);
/* Record a result of process_vm_readv or of a /proc look-up: -EPERM/-EACCES mean our ids did not match. */
void veil_shield_caller_ids_note(int r);
/* Whether this request was refused for our ids since the reset. */
bool veil_shield_caller_ids_refused(void);
/* Make this thread's real ids (and its /proc ids) the process's real ids: 1 when they changed, 0 when they were
   already those, -errno when they cannot be read or taken. */
int veil_shield_caller_ids_take(pid_t pid) _warn_unused_;
/* The ids to use around /proc look-ups, when a caller's ids were taken (false: none were). */
bool veil_shield_caller_ids_fs(uid_t *uid, gid_t *gid);
