/* SPDX-License-Identifier: Apache-2.0 */
/* Interpreter lookup: "#!" lines, ELF PT_INTERP from real binaries, and refusal of malformed headers. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/fileio.h"
#include "shield/interp.h"

static void test_script(void **state) {
    (void)state;
    char p[VEIL_SHIELD_INTERP_MAX];
    const char *s = "#! /usr/bin/python3 -u\nprint(1)\n";
    assert_int_equal(veil_shield_interpreter((const uint8_t *)s, strlen(s), p, sizeof(p)), 0);
    assert_string_equal(p, "/usr/bin/python3");
    s = "#!/bin/sh\n";
    assert_int_equal(veil_shield_interpreter((const uint8_t *)s, strlen(s), p, sizeof(p)), 0);
    assert_string_equal(p, "/bin/sh");
    s = "#!   \n";
    assert_int_equal(veil_shield_interpreter((const uint8_t *)s, strlen(s), p, sizeof(p)), -EBADMSG);
    s = "plain text";
    assert_int_equal(veil_shield_interpreter((const uint8_t *)s, strlen(s), p, sizeof(p)), -EBADMSG);
    assert_int_equal(veil_shield_interpreter((const uint8_t *)"#!/x", 4, p, 2), -ENAMETOOLONG);
}

static void test_real_elf(void **state) {
    (void)state;
    uint8_t *data;
    size_t size;
    char p[VEIL_SHIELD_INTERP_MAX];
    /* a dynamic executable of this system names the loader */
    assert_int_equal(veil_read_file("/usr/bin/env", (size_t)64 << 20, &data, &size), 0);
    assert_int_equal(veil_shield_interpreter(data, size, p, sizeof(p)), 0);
    assert_non_null(strstr(p, "ld-linux"));
    free(data);
    /* a static one has none */
    if (veil_read_file("/bin/busybox", (size_t)64 << 20, &data, &size) == 0) {
        assert_int_equal(veil_shield_interpreter(data, size, p, sizeof(p)), -ENOENT);
        free(data);
    }
}

static void test_bad_elf(void **state) {
    (void)state;
    uint8_t buf[sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 16];
    memset(buf, 0, sizeof(buf));
    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_phoff = sizeof(Elf64_Ehdr);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 1;
    Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));
    ph->p_type = PT_INTERP;
    ph->p_offset = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
    ph->p_filesz = 5;
    memcpy(buf + ph->p_offset, "/ld\0", 4);
    char p[VEIL_SHIELD_INTERP_MAX];
    /* path not NUL-terminated inside p_filesz */
    assert_int_equal(veil_shield_interpreter(buf, sizeof(buf), p, sizeof(p)), -EBADMSG);
    ph->p_filesz = 4;
    assert_int_equal(veil_shield_interpreter(buf, sizeof(buf), p, sizeof(p)), 0);
    assert_string_equal(p, "/ld");
    ph->p_offset = sizeof(buf) - 2; /* runs off the end */
    assert_int_equal(veil_shield_interpreter(buf, sizeof(buf), p, sizeof(p)), -EBADMSG);
    eh->e_phnum = 2; /* the second header lies past the end */
    ph->p_type = PT_LOAD;
    assert_int_equal(veil_shield_interpreter(buf, sizeof(buf), p, sizeof(p)), -EBADMSG);
    eh->e_ident[EI_CLASS] = ELFCLASS32;
    assert_int_equal(veil_shield_interpreter(buf, sizeof(buf), p, sizeof(p)), -EBADMSG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_script),
        cmocka_unit_test(test_real_elf),
        cmocka_unit_test(test_bad_elf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
