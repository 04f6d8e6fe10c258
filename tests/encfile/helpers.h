/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the encfile tests: scratch directories, a seeded PRNG, file bytes. */
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "encfile/encfile.h"

/* A scratch directory; fast=true prefers /dev/shm (tmpfs) for tests that flush a lot. */
static inline char *test_dir_make(const char *name, int fast) {
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (fast && access("/dev/shm", W_OK) == 0) base = "/dev/shm";
    char *dir;
    if (asprintf(&dir, "%s/veil-test-%s-XXXXXX", base, name) < 0 || !mkdtemp(dir)) abort();
    return dir;
}

static inline void test_dir_remove(char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
    free(dir);
}

/* Entries in dir; with hidden_only, only dot-files (the atomic writer's temporaries). */
static inline int test_dir_count(const char *dir, int hidden_only) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!hidden_only || e->d_name[0] == '.')) n++;
    if (d) closedir(d);
    return n;
}

static inline char *test_path(const char *dir, const char *name) {
    char *p;
    if (asprintf(&p, "%s/%s", dir, name) < 0) abort();
    return p;
}

/* xorshift64*: reproducible data and operations from a seed. */
static inline uint64_t test_rand(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static inline void test_fill(uint8_t *p, size_t size, uint64_t seed) {
    uint64_t s = seed | 1;
    for (size_t i = 0; i < size; i++) p[i] = (uint8_t)(test_rand(&s) >> 56);
}

static inline uint8_t *test_read_bytes(const char *path, size_t *ret_size) {
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) abort();
    uint8_t *p = malloc((size_t)st.st_size + 1);
    if (!p || pread(fd, p, (size_t)st.st_size, 0) != st.st_size) abort();
    close(fd);
    *ret_size = (size_t)st.st_size;
    return p;
}

/* Write a file, leaving all-zero 4 KiB blocks as holes (so copies of sparse files stay cheap). */
static inline void test_write_bytes(const char *path, const uint8_t *p, size_t size) {
    static const uint8_t zero[4096];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) abort();
    for (size_t at = 0; at < size; at += sizeof(zero)) {
        size_t n = size - at < sizeof(zero) ? size - at : sizeof(zero);
        if (!memcmp(p + at, zero, n)) continue;
        if (pwrite(fd, p + at, n, (off_t)at) != (ssize_t)n) abort();
    }
    close(fd);
}

static const uint8_t test_key[VEIL_ENCFILE_KEY_SIZE] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};
