/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL set up for a process inside the trust boundary: nothing the host supplies tunes it. */
#include "ossl-init.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

#include "base/err.h"

extern char **environ;

int veil_ossl_init_isolated(void) {
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, "OPENSSL_", 8)) {
            size_t name = strcspn(*e, "=");
            return veil_err(-EPERM, "%.*s is set: OpenSSL in veil-run takes no settings from the host", (int)name, *e);
        }
    if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL))
        return veil_err(-EIO, "cannot initialise OpenSSL");
    return 0;
}
