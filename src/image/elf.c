/* SPDX-License-Identifier: Apache-2.0 */
/* Reads just enough of an ELF header (System V gABI, ELF-64) to tell a static executable from a dynamic one. */
#include "elf.h"

#include <errno.h>
#include <string.h>

#include "base/cursor.h"
#include "base/err.h"

#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define ET_DYN 3
#define PT_INTERP 3
#define ELF64_PHDR_SIZE 56
#define MAX_PHDRS 256

int image_elf_check_static(const uint8_t *data, size_t size) {
    struct veil_cursor c = veil_cursor_make(data, size);
    uint8_t ident[EI_NIDENT];
    uint16_t type, phentsize, phnum;
    uint64_t phoff;
    /* e_ident, e_type @16, e_phoff @32, e_phentsize @54, e_phnum @56 */
    if (veil_cursor_read(&c, ident, sizeof(ident)) < 0 || memcmp(ident, "\177ELF", 4) != 0)
        return veil_err(-ENOEXEC, "the runtime is not an ELF executable");
    if (ident[4] != ELFCLASS64 || ident[5] != ELFDATA2LSB)
        return veil_err(-ENOEXEC, "the runtime is not a 64-bit little-endian ELF executable");
    if (veil_cursor_u16le(&c, &type) < 0 || veil_cursor_seek(&c, 32) < 0 || veil_cursor_u64le(&c, &phoff) < 0 ||
        veil_cursor_seek(&c, 54) < 0 || veil_cursor_u16le(&c, &phentsize) < 0 || veil_cursor_u16le(&c, &phnum) < 0)
        return veil_err(-ENOEXEC, "the runtime's ELF header is truncated");
    if ((type != ET_EXEC && type != ET_DYN) || phentsize != ELF64_PHDR_SIZE || phnum > MAX_PHDRS || phoff > size)
        return veil_err(-ENOEXEC, "the runtime is not an ELF executable with sane program headers");
    for (uint16_t i = 0; i < phnum; i++) {
        uint32_t p_type;
        if (veil_cursor_seek(&c, (size_t)phoff + (size_t)i * ELF64_PHDR_SIZE) < 0 || veil_cursor_u32le(&c, &p_type) < 0)
            return veil_err(-ENOEXEC, "the runtime's program headers are truncated");
        if (p_type == PT_INTERP)
            return veil_err(-ENOEXEC, "the runtime is dynamically linked; veil-run must be static to run in any image");
    }
    return 0;
}
