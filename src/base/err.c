/* SPDX-License-Identifier: Apache-2.0 */
/* Thread-local detail messages behind the negative-errno convention. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char detail[512];
static _Thread_local char described[768];

int veil_err(int err, const char *fmt, ...) {
    /* format into a scratch buffer first: callers may pass veil_err_msg() as an argument */
    char scratch[sizeof(detail)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(scratch, sizeof(scratch), fmt, ap);
    va_end(ap);
    memcpy(detail, scratch, sizeof(detail));
    return err;
}

const char *veil_err_msg(void) {
    return detail;
}

void veil_err_clear(void) {
    detail[0] = '\0';
}

const char *veil_err_describe(int err) {
    const char *reason = strerror(err < 0 ? -err : err);
    if (detail[0])
        snprintf(described, sizeof(described), "%s (%s)", detail, reason);
    else
        snprintf(described, sizeof(described), "%s", reason);
    return described;
}
