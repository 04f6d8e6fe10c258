/* SPDX-License-Identifier: Apache-2.0 */
/* DER bytes out of OpenSSL's i2d_* functions into memory of our own (callers free them with free()). */
#include "der.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ossl.h"

int veil_der_from_ossl(unsigned char *der, int size, const char *what, uint8_t **ret_der, size_t *ret_size) {
    if (size <= 0) {
        OPENSSL_free(der);
        return veil_ossl_err(-EIO, what);
    }
    uint8_t *copy = malloc((size_t)size);
    if (!copy) {
        OPENSSL_free(der);
        return -ENOMEM;
    }
    memcpy(copy, der, (size_t)size);
    OPENSSL_free(der);
    *ret_der = copy;
    *ret_size = (size_t)size;
    return 0;
}
