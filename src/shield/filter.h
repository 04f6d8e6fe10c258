/* SPDX-License-Identifier: Apache-2.0 */
/* The seccomp filter that sends file-naming and durability calls to the supervisor. */
#pragma once

#include "base/macro.h"

/*
 * Install the filter on the calling thread (which must be single-threaded: the
 * child between fork and execve) and return the notification listener.
 * Sets no_new_privs first, as an unprivileged filter requires.
 */
int veil_shield_filter_install(int *ret_listener) _warn_unused_;

/* Also send bind() and connect() to the supervisor (an image with network rules, net.c); before the fork. */
void veil_shield_filter_mediate_network(void);

/* True when the system call number is one the filter sends to the supervisor. */
int veil_shield_filter_is_mediated(long nr);
