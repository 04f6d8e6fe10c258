/* SPDX-License-Identifier: Apache-2.0 */
/* Random bytes from OpenSSL's DRBG, and CRYPTO_memcmp for constant-time equality. */
#include "random.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/err.h"

int veil_random(void *out, size_t size) {
    unsigned char *p = out;
    while (size) {
        int chunk = size > INT_MAX ? INT_MAX : (int)size;
        if (RAND_bytes(p, chunk) != 1) return veil_err(-EIO, "random generator failed");
        p += chunk;
        size -= (size_t)chunk;
    }
    return 0;
}

bool veil_memeq_ct(const void *a, const void *b, size_t size) {
    return CRYPTO_memcmp(a, b, size) == 0;
}
