#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The content digest of a file as docs/manifest.md defines it, written independently of src/manifest/file-digest.c:
# SHA-256 of files up to 1 MiB; above, SHA-256("veil-chunks-v1\0" || u64le(size) || SHA-256 of each 1 MiB chunk).
import hashlib, struct, sys

CHUNK = 1 << 20
data = open(sys.argv[1], "rb").read()
if len(data) <= CHUNK:
    print(hashlib.sha256(data).hexdigest())
else:
    outer = hashlib.sha256(b"veil-chunks-v1\0" + struct.pack("<Q", len(data)))
    for i in range(0, len(data), CHUNK):
        outer.update(hashlib.sha256(data[i:i + CHUNK]).digest())
    print(outer.hexdigest())
