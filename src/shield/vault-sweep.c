/* SPDX-License-Identifier: Apache-2.0 */
/* Interrupted write-backs: the ciphertext temporary a crash left beside the file it was to replace. */
#include "vault-sweep.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#define PREFIX ".veil."
#define SUFFIX ".tmp"
#define HEX_DIGITS 16

static bool is_writeback_temporary(const char *name) {
    size_t n = strlen(name), p = strlen(PREFIX), s = strlen(SUFFIX);
    if (n != p + HEX_DIGITS + s || strncmp(name, PREFIX, p) || strcmp(name + n - s, SUFFIX)) return false;
    for (size_t i = p; i < p + HEX_DIGITS; i++)
        if (!strchr("0123456789abcdef", name[i])) return false;
    return true;
}

/* Remember the directory; false when it was swept already (or cannot be remembered). */
static bool first_visit(struct vault_sweep *s, const char *dir) {
    for (size_t i = 0; i < s->count; i++)
        if (!strcmp(s->done[i], dir)) return false;
    if (s->count == s->capacity) {
        size_t capacity = s->capacity ? 2 * s->capacity : 16;
        char **p = realloc(s->done, capacity * sizeof(*s->done));
        if (!p) return false; /* only untidy: try again another time */
        s->done = p;
        s->capacity = capacity;
    }
    if (!(s->done[s->count] = strdup(dir))) return false;
    s->count++;
    return true;
}

void vault_sweep_once(struct vault_sweep *s, const char *file_path) {
    const char *slash = strrchr(file_path, '/');
    char dir[4096];
    size_t n = slash ? (size_t)(slash - file_path) : 0;
    if (n >= sizeof(dir)) return;
    memcpy(dir, file_path, n);
    dir[n] = 0;
    if (!first_visit(s, dir)) return;
    int fd = open(n ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0) close(fd);
        return;
    }
    for (struct dirent *e; (e = readdir(d));) {
        struct stat f;
        if (!is_writeback_temporary(e->d_name) || fstatat(fd, e->d_name, &f, AT_SYMLINK_NOFOLLOW) < 0) continue;
        if (!S_ISREG(f.st_mode) || f.st_nlink != 1 || f.st_mtime >= s->before) continue;
        if (unlinkat(fd, e->d_name, 0) == 0)
            veil_log_info("removed %s/%s: the ciphertext temporary of a write-back a crash interrupted", n ? dir : "",
                          e->d_name);
    }
    closedir(d);
}

void vault_sweep_clear(struct vault_sweep *s) {
    for (size_t i = 0; i < s->count; i++) free(s->done[i]);
    free(s->done);
    *s = (struct vault_sweep){ 0 };
}
