/* SPDX-License-Identifier: Apache-2.0 */
/* Checks that the runtime added to an image is a static ELF executable. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

/* 0 for a 64-bit little-endian ELF executable without a program interpreter (PT_INTERP);
 * -ENOEXEC with a detail otherwise (not ELF, or dynamically linked: it would not run in an
 * image with another libc, or none). */
int image_elf_check_static(const uint8_t *data, size_t size) _warn_unused_;
