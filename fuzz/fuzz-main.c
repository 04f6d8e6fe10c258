/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a fuzz target over corpus files or directories, for builds without libFuzzer (the regression test). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, unsigned *count) {
    uint8_t *data;
    size_t size;
    if (veil_read_file(path, 64u << 20, &data, &size) < 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    /* give the target an exactly-sized heap copy so ASan sees overreads */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) return -1;
    memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    (*count)++;
    return 0;
}

static int run_path(const char *path, unsigned *count) {
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "cannot stat %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return run_file(path, count);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) return -1;
    int r = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char child[4096];
            snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
            if (run_path(child, count) < 0) r = -1;
        }
        free(names[i]);
    }
    free(names);
    return r;
}

int main(int argc, char **argv) {
    unsigned count = 0;
    int r = 0;
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &count) < 0) r = 1;
    printf("1..1\n%s 1 - %u inputs\n", r ? "not ok" : "ok", count);
    return r;
}
