/* SPDX-License-Identifier: Apache-2.0 */
/* Reads a root file system directory into the image tree, never following symlinks out of it. */
#include "rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/err.h"
#include "manifest/manifest.h"

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Sorted names of a directory (so that the walk, and with it the output, is reproducible). */
static int list_dir(int dir_fd, char ***ret, size_t *ret_count) {
    int fd = dup(dir_fd);
    if (fd < 0) return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int r = 0;
    errno = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **v = realloc(names, cap * sizeof(char *));
            if (!v) {
                r = -ENOMEM;
                break;
            }
            names = v;
        }
        if (!(names[n] = strdup(de->d_name))) {
            r = -ENOMEM;
            break;
        }
        n++;
    }
    if (r == 0 && errno) r = -errno;
    closedir(d);
    if (r < 0) {
        free_names(names, n);
        return r;
    }
    if (n) qsort(names, n, sizeof(char *), cmp_name);
    *ret = names;
    *ret_count = n;
    return 0;
}

static void set_meta(struct image_node *n, const struct stat *st) {
    n->present = true;
    n->implicit = false;
    n->layer = 0;
    n->mode = st->st_mode & 07777;
    n->uid = st->st_uid;
    n->gid = st->st_gid;
    n->mtime = st->st_mtime;
}

static int scan(struct image_tree *t, int dir_fd, char *path, size_t path_size, uint64_t *ordinal) {
    char **names = NULL;
    size_t count = 0;
    int r = list_dir(dir_fd, &names, &count);
    if (r < 0) return veil_err(r, "cannot list %s", path_size ? path : "/");
    for (size_t i = 0; r >= 0 && i < count; i++) {
        size_t len = strlen(names[i]);
        if (path_size + 1 + len > VEIL_MANIFEST_MAX_PATH) {
            r = veil_err(-ENAMETOOLONG, "path below %s is too long", path);
            break;
        }
        path[path_size] = '/';
        memcpy(path + path_size + 1, names[i], len + 1);
        size_t child_size = path_size + 1 + len;
        struct stat st;
        if (fstatat(dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            r = veil_err(-errno, "cannot stat %s", path);
            break;
        }
        struct image_node *n;
        if ((r = image_tree_make(t, path, child_size, 0, &n)) < 0) break;
        set_meta(n, &st);
        if (S_ISREG(st.st_mode)) {
            n->type = IMAGE_NODE_FILE;
            n->size = (uint64_t)st.st_size;
            n->src_layer = 0;
            n->src_ordinal = (*ordinal)++;
        } else if (S_ISLNK(st.st_mode)) {
            char target[VEIL_MANIFEST_MAX_PATH + 1];
            ssize_t k = readlinkat(dir_fd, names[i], target, sizeof(target));
            if (k <= 0 || (size_t)k > VEIL_MANIFEST_MAX_PATH) {
                r = veil_err(-EBADMSG, "cannot read symlink %s", path);
                break;
            }
            n->type = IMAGE_NODE_SYMLINK;
            if (!(n->target = strndup(target, (size_t)k))) r = -ENOMEM;
        } else if (S_ISDIR(st.st_mode)) {
            n->type = IMAGE_NODE_DIR;
            int fd = openat(dir_fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                r = veil_err(-errno, "cannot open directory %s", path);
                break;
            }
            r = scan(t, fd, path, child_size, ordinal);
            close(fd);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
            r = veil_err(-EBADMSG, "%s is a device node", path);
        else
            r = veil_err(-EBADMSG, "%s is a FIFO or socket", path);
    }
    free_names(names, count);
    return r;
}

int image_rootfs_scan(struct image_tree *t, int root_fd) {
    struct stat st;
    if (fstat(root_fd, &st) < 0) return -errno;
    set_meta(t->root, &st);
    char path[VEIL_MANIFEST_MAX_PATH + 2] = "";
    uint64_t ordinal = 0;
    return scan(t, root_fd, path, 0, &ordinal);
}

int image_rootfs_open(int root_fd, const char *path) {
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    int fd = (int)syscall(SYS_openat2, root_fd, path[0] == '/' ? path + 1 : path, &how, sizeof(how));
    if (fd < 0) return veil_err(-errno, "cannot open %s in the root file system", path);
    return fd;
}
