/* SPDX-License-Identifier: Apache-2.0 */
/* Translate OpenSSL's error queue into the project's detail message. */
#include "ossl.h"

#include <openssl/err.h>

#include "base/err.h"

int veil_ossl_err(int err, const char *what) {
    unsigned long e = ERR_peek_last_error();
    char buf[256] = "";
    if (e) ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    if (buf[0]) return veil_err(err, "%s: %s", what, buf);
    return veil_err(err, "%s", what);
}
