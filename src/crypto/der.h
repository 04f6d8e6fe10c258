/* SPDX-License-Identifier: Apache-2.0 */
/* DER bytes out of OpenSSL's i2d_* functions into memory of our own. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

/*
 * Pass an i2d_*() call's buffer and result: der (OPENSSL_malloc'd, size bytes) becomes a
 * malloc'd copy in *ret_der and is freed. size <= 0 is the encoder's failure: the OpenSSL
 * error is recorded under `what` and -EIO returned.
 */
int veil_der_from_ossl(unsigned char *der, int size, const char *what, uint8_t **ret_der,
                       size_t *ret_size) _warn_unused_;
