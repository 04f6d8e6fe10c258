/* SPDX-License-Identifier: Apache-2.0 */
/* The arguments of the key generators (`veil keygen`, `veil pfs keygen`): exactly `-o FILE`, or -h. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/*
 * Parses `-o/--output FILE` and `-h/--help` and nothing else into *ret_out. Returns false
 * when the command should end now with exit code *ret_exit: 0 after --help (usage on
 * stdout), 2 on anything else or a missing -o (usage on stderr).
 */
bool veil_cli_output_arg(int argc, char **argv, void (*usage)(FILE *out), const char **ret_out, int *ret_exit);
