/* SPDX-License-Identifier: Apache-2.0 */
/* The `veil` command's subcommands: each lives in its own cmd-*.c file. */
#pragma once

struct veil_command {
    const char *name;
    const char *summary;
    /* argv[0] is the subcommand name; returns the process exit code */
    int (*run)(int argc, char **argv);
};

/* One declaration per subcommand file. */
int veil_cmd_version(int argc, char **argv);
int veil_cmd_pfs(int argc, char **argv);
int veil_cmd_keygen(int argc, char **argv);
int veil_cmd_wrap(int argc, char **argv);
int veil_cmd_inspect(int argc, char **argv);
int veil_cmd_digest(int argc, char **argv);
int veil_cmd_attest(int argc, char **argv);
int veil_cmd_verify(int argc, char **argv);
int veil_cmd_cas(int argc, char **argv);
