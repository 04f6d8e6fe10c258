/* SPDX-License-Identifier: Apache-2.0 */
/* `veil keygen -o signer.pem`: an Ed25519 key for signing image manifests. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "base/fileio.h"
#include "command.h"
#include "output-arg.h"
#include "crypto/key.h"
#include "crypto/ossl.h"

static void usage(FILE *out) {
    fprintf(out, "usage: veil keygen -o SIGNER.pem\n"
                 "\n"
                 "Writes a new Ed25519 signing key (PKCS#8 PEM, mode 0600) for `veil wrap -k` and\n"
                 "prints its signer id (SHA-256 of the public key), which attestation policies name.\n");
}

int veil_cmd_keygen(int argc, char **argv) {
    const char *out;
    int exit_code;
    if (!veil_cli_output_arg(argc, argv, usage, &out, &exit_code)) return exit_code;
    struct stat st;
    if (lstat(out, &st) == 0) {
        fprintf(stderr, "veil keygen: %s already exists; refusing to overwrite a key\n", out);
        return 1;
    }
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    uint8_t id[32];
    char hex[65];
    veil_err_clear();
    int r = veil_key_generate(VEIL_KEY_ED25519, &key);
    if (r >= 0) r = veil_key_save_private_pem(key, out);
    if (r >= 0) r = veil_key_id(key, id);
    if (r < 0) {
        fprintf(stderr, "veil keygen: %s\n", veil_err_describe(r));
        return 1;
    }
    veil_hex_encode(id, sizeof(id), hex);
    printf("signer %s\n", hex);
    return 0;
}
