/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal DER (X.690) reader over the bounded cursor, for the vendor extensions in VCEK and PCK certificates. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/cursor.h"
#include "base/macro.h"

/* Universal tags we meet in vendor extensions (X.690, 8.1.2). */
#define VEIL_DER_INTEGER 0x02
#define VEIL_DER_OCTET_STRING 0x04
#define VEIL_DER_OID 0x06
#define VEIL_DER_ENUMERATED 0x0a
#define VEIL_DER_IA5STRING 0x16
#define VEIL_DER_SEQUENCE 0x30

/* Vendor extensions are small; a longer length is refused before any use. */
#define VEIL_DER_MAX_LENGTH ((size_t)64 << 10)

/*
 * Read one TLV with a single-byte tag and a definite length (short form or
 * long form up to 3 bytes, minimal encoding not required). *ret_value covers
 * the value bytes. -EBADMSG on truncation or an unsupported form.
 */
int veil_der_read(struct veil_cursor *c, uint8_t *ret_tag, struct veil_cursor *ret_value) _warn_unused_;
/* Like veil_der_read, but the tag must equal `tag`. */
int veil_der_expect(struct veil_cursor *c, uint8_t tag, struct veil_cursor *ret_value) _warn_unused_;
/* A non-negative INTEGER or ENUMERATED value that fits in 64 bits. */
int veil_der_uint(struct veil_cursor value, uint64_t *ret) _warn_unused_;
/* Whether an OID value equals the dotted text `oid` (e.g. "1.2.840.113741.1.13.1.2"). */
int veil_der_oid_equals(struct veil_cursor value, const char *oid);
