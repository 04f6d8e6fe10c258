/* SPDX-License-Identifier: Apache-2.0 */
/* Parse "#!" lines and ELF64 program headers (System V gABI, "Program Header") for the interpreter. */
#include "interp.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "base/cursor.h"

static int script_interpreter(const uint8_t *data, size_t size, char *ret, size_t ret_size) {
    /* like fs/binfmt_script.c: skip blanks after "#!", the path ends at blank or newline */
    size_t end = MIN(size, (size_t)VEIL_SHIELD_INTERP_MAX);
    size_t i = 2;
    while (i < end && (data[i] == ' ' || data[i] == '\t')) i++;
    size_t start = i;
    while (i < end && data[i] != ' ' && data[i] != '\t' && data[i] != '\n' && data[i] != 0) i++;
    if (i == start) return -EBADMSG;
    if (i - start >= ret_size) return -ENAMETOOLONG;
    memcpy(ret, data + start, i - start);
    ret[i - start] = 0;
    return 0;
}

static int elf_interpreter(const uint8_t *data, size_t size, char *ret, size_t ret_size) {
    struct veil_cursor c = veil_cursor_make(data, size);
    int r;
    /* e_ident[16], e_type, e_machine, e_version, e_entry, e_phoff, ... (Elf64_Ehdr) */
    if ((r = veil_cursor_seek(&c, EI_CLASS)) < 0) return r;
    uint8_t cls, enc;
    if ((r = veil_cursor_u8(&c, &cls)) < 0 || (r = veil_cursor_u8(&c, &enc)) < 0) return r;
    if (cls != ELFCLASS64 || enc != ELFDATA2LSB) return -EBADMSG;
    uint64_t phoff;
    uint16_t phentsize, phnum;
    if ((r = veil_cursor_seek(&c, offsetof(Elf64_Ehdr, e_phoff))) < 0 || (r = veil_cursor_u64le(&c, &phoff)) < 0 ||
        (r = veil_cursor_seek(&c, offsetof(Elf64_Ehdr, e_phentsize))) < 0 ||
        (r = veil_cursor_u16le(&c, &phentsize)) < 0 || (r = veil_cursor_u16le(&c, &phnum)) < 0)
        return r;
    if (phentsize < sizeof(Elf64_Phdr)) return -EBADMSG;
    for (uint16_t i = 0; i < phnum; i++) {
        if (phoff > size || ((uint64_t)i + 1) * phentsize > size - phoff) return -EBADMSG;
        struct veil_cursor ph = veil_cursor_make(data, size);
        if ((r = veil_cursor_seek(&ph, (size_t)(phoff + (uint64_t)i * phentsize))) < 0) return r;
        uint32_t type;
        uint64_t offset, filesz;
        if ((r = veil_cursor_u32le(&ph, &type)) < 0) return r;
        if (type != PT_INTERP) continue;
        if ((r = veil_cursor_skip(&ph, offsetof(Elf64_Phdr, p_offset) - 4)) < 0 ||
            (r = veil_cursor_u64le(&ph, &offset)) < 0 ||
            (r = veil_cursor_skip(&ph, offsetof(Elf64_Phdr, p_filesz) - offsetof(Elf64_Phdr, p_offset) - 8)) < 0 ||
            (r = veil_cursor_u64le(&ph, &filesz)) < 0)
            return r;
        if (filesz < 2 || filesz > ret_size || offset > size || filesz > size - offset) return -EBADMSG;
        const uint8_t *p;
        struct veil_cursor s = veil_cursor_make(data, size);
        if ((r = veil_cursor_seek(&s, (size_t)offset)) < 0 || (r = veil_cursor_borrow(&s, (size_t)filesz, &p)) < 0)
            return r;
        if (p[filesz - 1] != 0 || memchr(p, 0, (size_t)filesz - 1)) return -EBADMSG;
        memcpy(ret, p, (size_t)filesz);
        return 0;
    }
    return -ENOENT;
}

int veil_shield_interpreter(const uint8_t *data, size_t size, char *ret_path, size_t path_size) {
    if (path_size == 0) return -EINVAL;
    if (size >= 2 && data[0] == '#' && data[1] == '!') return script_interpreter(data, size, ret_path, path_size);
    if (size >= SELFMAG && !memcmp(data, ELFMAG, SELFMAG)) return elf_interpreter(data, size, ret_path, path_size);
    return -EBADMSG;
}
