/* SPDX-License-Identifier: Apache-2.0 */
/* The SEV-SNP certificate table (extended report / configfs-tsm auxblob): GUID-keyed VCEK, VLEK, ASK, ARK. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "collateral.h"

/*
 * GHCB specification (AMD pub. 56421), section 4.1.8.1 "SNP Extended Guest Request",
 * Table 9 "Certificate table": entries of { GUID[16], u32 offset, u32 length }
 * (offsets from the start of the table), ended by an all-zero entry; the
 * certificates (DER) follow. Known GUIDs: VCEK 63da758d-e664-4564-adc5-f4b93be8accd,
 * VLEK a8074bc2-a25a-483e-aae6-39c045a0b8a1, ASK 4ab7b379-bbac-4fe4-a02f-05aef327c782,
 * ARK c0b406a4-a803-4952-9743-3fb6014cd0ae. Entries with other GUIDs are skipped.
 */
#define VEIL_SNP_CERTTABLE_MAX_ENTRIES 16

/* Add every known certificate of the table to coll; -EBADMSG naming the bad entry. */
int veil_snp_certtable_add(const uint8_t *table, size_t size, struct veil_collateral *coll) _warn_unused_;
