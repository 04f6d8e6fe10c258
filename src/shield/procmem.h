/* SPDX-License-Identifier: Apache-2.0 */
/* Reading path arguments from, and writing results into, a supervised process's memory. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/macro.h"

/* Copy a NUL-terminated string at `addr` (at most size-1 bytes). -EFAULT, -ENAMETOOLONG. */
int veil_shield_read_string(pid_t pid, uint64_t addr, char *buf, size_t size) _warn_unused_;
/* Copy `size` bytes into the process at `addr`. */
int veil_shield_write_mem(pid_t pid, uint64_t addr, const void *data, size_t size) _warn_unused_;
int veil_shield_read_mem(pid_t pid, uint64_t addr, void *data, size_t size) _warn_unused_;
