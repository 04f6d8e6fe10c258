/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr with a program prefix; one write per line so lines from threads don't interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

static const char *log_program = "veil";
static enum veil_log_level log_max = VEIL_LOG_INFO;

void veil_log_setup(const char *program, enum veil_log_level max_level) {
    if (program) log_program = program;
    log_max = max_level;
}

void veil_log_setup_from_env(const char *program) {
    const char *e = getenv("VEIL_LOG");
    enum veil_log_level level = VEIL_LOG_INFO;
    if (e) {
        if (!strcmp(e, "error")) level = VEIL_LOG_ERROR;
        else if (!strcmp(e, "warning")) level = VEIL_LOG_WARNING;
        else if (!strcmp(e, "debug")) level = VEIL_LOG_DEBUG;
    }
    veil_log_setup(program, level);
}

enum veil_log_level veil_log_get_level(void) {
    return log_max;
}

static void log_va(enum veil_log_level level, const char *fmt, va_list ap) {
    static const char *const names[] = { "error", "warning", "info", "debug" };
    char line[2048];
    int n = snprintf(line, sizeof(line), "%s: %s: ", log_program, names[level]);
    if (n < 0) return;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m < 0) return;
    size_t len = strnlen(line, sizeof(line) - 2);
    line[len++] = '\n';
    /* one write() so concurrent lines stay whole */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void veil_log(enum veil_log_level level, const char *fmt, ...) {
    if (level > log_max) return;
    va_list ap;
    va_start(ap, fmt);
    log_va(level, fmt, ap);
    va_end(ap);
}

int veil_log_errno(int err, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    veil_log(VEIL_LOG_ERROR, "%s: %s", msg, veil_err_describe(err));
    return err;
}
