/* SPDX-License-Identifier: Apache-2.0 */
/* `veil`: dispatches to subcommands; each prints its own errors and returns an exit code. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "command.h"

static const struct veil_command commands[] = {
    { "version", "print the version", veil_cmd_version },
    { "pfs", "encrypted files: keygen, encrypt, decrypt, verify, info", veil_cmd_pfs },
    { "keygen", "make a signing key for image manifests", veil_cmd_keygen },
    { "wrap", "convert a container image into a measured, signed veil image", veil_cmd_wrap },
    { "inspect", "show a wrapped image's measurement, signer and start-up", veil_cmd_inspect },
    { "digest", "print files' content digests as a manifest records them", veil_cmd_digest },
    { "attest", "obtain TEE evidence for report data", veil_cmd_attest },
    { "verify", "verify evidence and check it against a policy", veil_cmd_verify },
    { "cas", "the attestation and secret service: serve, policies, audit", veil_cmd_cas },
};

static void usage(FILE *out) {
    fprintf(out, "usage: veil COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < ELEMENTSOF(commands); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    veil_log_setup_from_env("veil");
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < ELEMENTSOF(commands); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    veil_log_error("unknown command '%s' (see 'veil --help')", argv[1]);
    return 2;
}
