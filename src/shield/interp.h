/* SPDX-License-Identifier: Apache-2.0 */
/* Which interpreter the kernel will load for an executable: "#!" line or ELF PT_INTERP. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

#define VEIL_SHIELD_INTERP_MAX 256 /* the kernel's BINPRM_BUF_SIZE bounds a "#!" line */

/*
 * From the first bytes of an executable (up to 64 KiB: enough for the ELF
 * program headers), the interpreter path the kernel would open without asking
 * the supervisor: 0 with the NUL-terminated path, -ENOENT when there is none
 * (a static ELF), -EBADMSG when the bytes are neither a script nor a sane ELF.
 */
int veil_shield_interpreter(const uint8_t *data, size_t size, char *ret_path, size_t path_size) _warn_unused_;
