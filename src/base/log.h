/* SPDX-License-Identifier: Apache-2.0 */
/* Logging for programs (libraries only use veil_log_debug). */
#pragma once

#include "macro.h"

enum veil_log_level {
    VEIL_LOG_ERROR = 0,
    VEIL_LOG_WARNING,
    VEIL_LOG_INFO,
    VEIL_LOG_DEBUG,
};

/* Programs set the program name shown as prefix, and the most verbose level printed. */
void veil_log_setup(const char *program, enum veil_log_level max_level);
/* Reads VEIL_LOG=error|warning|info|debug if set. */
void veil_log_setup_from_env(const char *program);
enum veil_log_level veil_log_get_level(void);

void veil_log(enum veil_log_level level, const char *fmt, ...) _printf_(2, 3);

#define veil_log_error(...) veil_log(VEIL_LOG_ERROR, __VA_ARGS__)
#define veil_log_warning(...) veil_log(VEIL_LOG_WARNING, __VA_ARGS__)
#define veil_log_info(...) veil_log(VEIL_LOG_INFO, __VA_ARGS__)
#define veil_log_debug(...) veil_log(VEIL_LOG_DEBUG, __VA_ARGS__)

/* Log an error with the detail of err (see err.h) and return err. */
int veil_log_errno(int err, const char *fmt, ...) _printf_(2, 3);
