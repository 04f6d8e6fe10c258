/* SPDX-License-Identifier: Apache-2.0 */
/* The error convention: functions return 0 or a negative errno, and may leave a detail message. */
#pragma once

#include "macro.h"

/*
 * Every function that can fail returns a negative errno:
 *   -EBADMSG  malformed input (bad magic, short buffer, bad length)
 *   -EACCES   a failed integrity or authenticity check (MAC, signature, digest)
 *   -EPERM    a policy refused something that verified fine
 *   -EINVAL   a caller's mistake (bad argument)
 *   -ENOMEM, -EIO, -ENOENT, ... as the system returns them.
 *
 * Library code never prints. To let programs say *why* something failed, a
 * function may record a one-line, secret-free detail with veil_err(); the
 * program reads it back with veil_err_msg() right after the failing call.
 */

/* Record a detail message for this thread and return err (a negative errno). */
int veil_err(int err, const char *fmt, ...) _printf_(2, 3);

/* The last detail recorded on this thread, or "" when there is none. */
const char *veil_err_msg(void);

/* Forget the last detail (programs call this before an operation whose detail they will print). */
void veil_err_clear(void);

/* "detail: strerror" when a detail exists, else strerror(-err). Thread-local buffer. */
const char *veil_err_describe(int err);
