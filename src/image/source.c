/* SPDX-License-Identifier: Apache-2.0 */
/* Opens image inputs: finds the manifest, config and layer blobs of each format and checks their digests. */
#include "source.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/random.h"
#include "digest.h"
#include "layer.h"

#define READ_BLOCK ((size_t)8 << 20)

const char *image_input_kind_name(enum image_input_kind k) {
    switch (k) {
    case IMAGE_INPUT_OCI_DIR: return "oci-dir";
    case IMAGE_INPUT_OCI_ARCHIVE: return "oci-archive";
    case IMAGE_INPUT_DOCKER_ARCHIVE: return "docker-archive";
    case IMAGE_INPUT_ROOTFS: return "rootfs";
    }
    return "?";
}

/* Member names compare without a leading "./". */
static const char *member_name(const char *name) {
    while (name[0] == '.' && name[1] == '/') name += 2;
    return name;
}

/*
 * Input files are mapped rather than read: libarchive then hands out member data as
 * pointers into the mapping, and the layer bytes are hashed and copied without
 * passing through a read buffer first. (A file truncated under us while mapped would
 * kill the process with SIGBUS; that is the owner's own input, so we accept it.)
 */
struct mapping {
    void *data;
    size_t size;
};

static int map_file(int fd, const char *path, struct mapping *ret) {
    struct stat st;
    if (fstat(fd, &st) < 0) return veil_err(-errno, "cannot stat %s", path);
    if (!S_ISREG(st.st_mode)) return veil_err(-EBADMSG, "%s is not a regular file", path);
    ret->size = (size_t)st.st_size;
    ret->data = NULL;
    if (ret->size == 0) return 0;
    ret->data = mmap(NULL, ret->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (ret->data == MAP_FAILED) {
        ret->data = NULL;
        return veil_err(-errno, "cannot map %s", path);
    }
    (void)madvise(ret->data, ret->size, MADV_SEQUENTIAL);
    return 0;
}

static void unmap(struct mapping *m) {
    if (m->data) munmap(m->data, m->size);
    *m = (struct mapping){ 0 };
}

/* A tar reader over the mapped file at path; m receives the mapping (unmap after freeing the reader). */
static struct archive *outer_reader(const char *path, struct mapping *m) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        veil_err(-errno, "cannot open %s", path);
        return NULL;
    }
    int r = map_file(fd, path, m);
    close(fd);
    if (r < 0) return NULL;
    struct archive *a = image_tar_reader_new();
    if (!a) {
        unmap(m);
        return NULL;
    }
    if (archive_read_open_memory(a, m->data ? m->data : (void *)"", m->size) != ARCHIVE_OK) {
        image_archive_err(a, path);
        archive_read_free(a);
        unmap(m);
        return NULL;
    }
    return a;
}

/* Position `a` at the data of `member`; -ENOENT when the archive ends first. */
static int seek_member(struct archive *a, const char *member, struct archive_entry **ret) {
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) return -ENOENT;
        if (r != ARCHIVE_OK) return image_archive_err(a, "corrupt or truncated image archive");
        const char *name = archive_entry_pathname(e);
        if (name && strcmp(member_name(name), member) == 0) {
            if (archive_entry_filetype(e) != AE_IFREG) return veil_err(-EBADMSG, "archive member %s is not a regular file", member);
            *ret = e;
            return 0;
        }
    }
}

int image_archive_read_member(const char *archive_path, const char *member, size_t max_size, uint8_t **ret_data,
                              size_t *ret_size) {
    struct mapping map;
    struct archive *a = outer_reader(archive_path, &map);
    if (!a) return -EBADMSG; /* outer_reader recorded why */
    struct archive_entry *e;
    int r = seek_member(a, member, &e);
    if (r >= 0) {
        la_int64_t size = archive_entry_size(e);
        uint8_t *data = NULL;
        if (size < 0 || (uint64_t)size > max_size)
            r = veil_err(-EBADMSG, "archive member %s is larger than %zu bytes", member, max_size);
        else if (!(data = malloc((size_t)size + 1)))
            r = -ENOMEM;
        else {
            la_ssize_t n = archive_read_data(a, data, (size_t)size);
            if (n != size) {
                free(data);
                r = image_archive_err(a, "truncated image archive");
            } else {
                data[size] = 0;
                *ret_data = data;
                *ret_size = (size_t)size;
            }
        }
    }
    archive_read_free(a);
    unmap(&map);
    return r;
}

/* Read a JSON document of the input: a file below the directory, or an archive member. */
static int read_doc(struct image_source *s, const char *member, uint8_t **ret_data, size_t *ret_size) {
    if (s->kind == IMAGE_INPUT_OCI_DIR) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", s->path, member) < 0) return -ENOMEM;
        int r = veil_read_file(p, IMAGE_JSON_MAX_SIZE, ret_data, ret_size);
        if (r < 0) return veil_err(r, "cannot read %s", p);
        return 0;
    }
    int r = image_archive_read_member(s->path, member, IMAGE_JSON_MAX_SIZE, ret_data, ret_size);
    if (r == -ENOENT) return veil_err(-EBADMSG, "image archive has no member %s", member);
    return r;
}

static int check_digest(const uint8_t *data, size_t size, const char *digest, const char *what) {
    uint8_t d[VEIL_SHA256_SIZE];
    char hex[2 * VEIL_SHA256_SIZE + 1];
    int r = veil_sha256(data, size, d);
    if (r < 0) return r;
    veil_hex_encode(d, sizeof(d), hex);
    if (strcmp(hex, digest + 7) != 0) return veil_err(-EBADMSG, "%s does not match its digest %s", what, digest);
    return 0;
}

static int read_blob(struct image_source *s, const struct image_descriptor *d, const char *what, uint8_t **ret_data,
                     size_t *ret_size) {
    char member[80];
    snprintf(member, sizeof(member), "blobs/sha256/%s", d->digest + 7);
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    int r = read_doc(s, member, &data, &size);
    if (r < 0) return r;
    if ((r = check_digest(data, size, d->digest, what)) < 0) return r;
    if ((int64_t)size != d->size) return veil_err(-EBADMSG, "%s has %zu bytes, its descriptor says %lld", what, size, (long long)d->size);
    *ret_data = TAKE_PTR(data);
    *ret_size = size;
    return 0;
}

static int add_layer(struct image_source *s, const char *member, const char *digest, int64_t size, const char *media_type) {
    struct image_layer_ref *l = &s->layers[s->layer_count];
    if (!(l->member = strdup(member)) || !(l->media_type = strdup(media_type))) return -ENOMEM;
    l->compressed = strstr(media_type, "gzip") || strstr(media_type, "zstd") || strstr(media_type, "xz") || strstr(media_type, "bzip");
    snprintf(l->digest, sizeof(l->digest), "%s", digest);
    l->size = size;
    s->layer_count++;
    return 0;
}

static bool media_type_is_layer(const char *mt) {
    return !*mt || strstr(mt, "layer") || strstr(mt, "diff.tar");
}

static int open_oci(struct image_source *s) {
    _cleanup_free_ uint8_t *layout = NULL, *index = NULL, *manifest = NULL, *config = NULL;
    size_t layout_size, index_size, manifest_size, config_size;
    int r = read_doc(s, "oci-layout", &layout, &layout_size);
    if (r < 0) return r;
    if (!strstr((const char *)layout, "imageLayoutVersion")) return veil_err(-EBADMSG, "oci-layout is not an OCI layout marker");
    if ((r = read_doc(s, "index.json", &index, &index_size)) < 0) return r;
    struct image_descriptor md = { 0 };
    if ((r = image_index_parse(index, index_size, &md)) < 0) return r;
    r = read_blob(s, &md, "image manifest", &manifest, &manifest_size);
    image_descriptor_done(&md);
    if (r < 0) return r;
    struct image_manifest m = { 0 };
    if ((r = image_manifest_parse(manifest, manifest_size, &m)) < 0) return r;
    if ((r = read_blob(s, &m.config, "image config", &config, &config_size)) >= 0 &&
        (r = image_config_parse(config, config_size, &s->config)) >= 0) {
        if (s->config->diff_id_count != m.layer_count)
            r = veil_err(-EBADMSG, "image manifest has %zu layers, its config %zu", m.layer_count, s->config->diff_id_count);
        else if (!(s->layers = calloc(m.layer_count + 1, sizeof(*s->layers))))
            r = -ENOMEM;
    }
    for (size_t i = 0; r >= 0 && i < m.layer_count; i++) {
        char member[80];
        if (!media_type_is_layer(m.layers[i].media_type)) {
            r = veil_err(-EBADMSG, "layer %zu has media type %s", i, m.layers[i].media_type);
            break;
        }
        snprintf(member, sizeof(member), "blobs/sha256/%s", m.layers[i].digest + 7);
        r = add_layer(s, member, m.layers[i].digest, m.layers[i].size, m.layers[i].media_type);
        s->total_size += (uint64_t)m.layers[i].size;
    }
    image_manifest_done(&m);
    return r;
}

static int open_docker(struct image_source *s) {
    _cleanup_free_ uint8_t *manifest = NULL, *config = NULL;
    size_t manifest_size, config_size;
    int r = read_doc(s, "manifest.json", &manifest, &manifest_size);
    if (r < 0) return r;
    struct image_docker_manifest m = { 0 };
    if ((r = image_docker_manifest_parse(manifest, manifest_size, &m)) < 0) return r;
    if ((r = read_doc(s, m.config, &config, &config_size)) >= 0) {
        /* docker names the config by its digest: "<hex>.json" (or blobs/sha256/<hex>) */
        const char *base = strrchr(m.config, '/') ? strrchr(m.config, '/') + 1 : m.config;
        char digest[72];
        snprintf(digest, sizeof(digest), "sha256:%.64s", base);
        if (strlen(base) >= 64 && image_digest_valid(digest)) r = check_digest(config, config_size, digest, "image config");
    }
    if (r >= 0) r = image_config_parse(config, config_size, &s->config);
    if (r >= 0 && s->config->diff_id_count != m.layer_count)
        r = veil_err(-EBADMSG, "manifest.json has %zu layers, the config %zu", m.layer_count, s->config->diff_id_count);
    if (r >= 0 && !(s->layers = calloc(m.layer_count + 1, sizeof(*s->layers)))) r = -ENOMEM;
    /* docker-archive layers are uncompressed, so their digest is the config's diff_id */
    for (size_t i = 0; r >= 0 && i < m.layer_count; i++) r = add_layer(s, m.layers[i], s->config->diff_ids[i], -1, "");
    image_docker_manifest_done(&m);
    return r;
}

int image_source_open(const char *path, struct image_source **ret) {
    _cleanup_(image_source_freep) struct image_source *s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(path))) return -ENOMEM;
    struct stat st;
    if (stat(path, &st) < 0) return veil_err(-errno, "cannot open input %s", path);
    int r;
    if (S_ISDIR(st.st_mode)) {
        _cleanup_free_ char *marker = NULL;
        if (asprintf(&marker, "%s/oci-layout", path) < 0) return -ENOMEM;
        s->kind = access(marker, F_OK) == 0 ? IMAGE_INPUT_OCI_DIR : IMAGE_INPUT_ROOTFS;
        r = s->kind == IMAGE_INPUT_OCI_DIR ? open_oci(s) : 0;
    } else if (S_ISREG(st.st_mode)) {
        /* an archive: which marker does it hold? */
        uint8_t *data;
        size_t size;
        r = image_archive_read_member(path, "oci-layout", 4096, &data, &size);
        if (r >= 0) {
            free(data);
            s->kind = IMAGE_INPUT_OCI_ARCHIVE;
            r = open_oci(s);
        } else if (r == -ENOENT) {
            s->kind = IMAGE_INPUT_DOCKER_ARCHIVE;
            r = open_docker(s);
        }
    } else
        return veil_err(-EINVAL, "input %s is neither a directory nor a file", path);
    if (r < 0) return r;
    *ret = TAKE_PTR(s);
    return 0;
}

void image_source_free(struct image_source *s) {
    if (!s) return;
    for (size_t i = 0; i < s->layer_count; i++) {
        free(s->layers[i].member);
        free(s->layers[i].media_type);
    }
    free(s->layers);
    image_config_free(s->config);
    free(s->path);
    free(s);
}

/* ---- layer streams ---- */

struct image_layer_stream {
    struct archive *a;     /* the layer's tar reader */
    struct archive *outer; /* archives: the image archive, positioned at the blob */
    struct mapping map;    /* the mapped image archive, or the mapped blob of an OCI directory */
    uint64_t map_pos;      /* OCI directory: next byte of the blob to hand out */
    struct image_digest_worker *digest; /* when verifying */
    struct image_digest_worker *copier; /* when teeing: copies the raw bytes to the output (digest.h) */
    const struct image_layer_ref *ref;
    uint64_t bytes;
    bool eof;
};

static la_ssize_t stream_read(struct archive *a, void *userdata, const void **ret_buf) {
    struct image_layer_stream *st = userdata;
    ssize_t n;
    if (st->eof) return 0;
    if (st->outer) {
        const void *block;
        size_t size;
        la_int64_t offset;
        int r = archive_read_data_block(st->outer, &block, &size, &offset);
        if (r == ARCHIVE_EOF) {
            st->eof = true;
            return 0;
        }
        if (r != ARCHIVE_OK) {
            if (a) archive_set_error(a, EIO, "image archive: %s", archive_error_string(st->outer));
            return -1;
        }
        if ((uint64_t)offset != st->bytes) {
            if (a) archive_set_error(a, EIO, "sparse layer blob");
            return -1;
        }
        *ret_buf = block;
        n = (ssize_t)size;
    } else {
        n = (ssize_t)MIN((uint64_t)READ_BLOCK, st->map.size - st->map_pos);
        if (n == 0) st->eof = true;
        *ret_buf = (const uint8_t *)st->map.data + st->map_pos;
        st->map_pos += (uint64_t)n;
    }
    if (st->digest && n > 0 && image_digest_feed(st->digest, st->map.data, st->map.size, *ret_buf, (size_t)n, st->bytes) < 0) {
        if (a) archive_set_error(a, EIO, "hashing failed");
        return -1;
    }
    if (st->copier && n > 0 && image_digest_feed(st->copier, st->map.data, st->map.size, *ret_buf, (size_t)n, st->bytes) < 0) {
        if (a) archive_set_error(a, EIO, "writing the output");
        return -1;
    }
    st->bytes += (uint64_t)n;
    return n;
}

int image_layer_stream_open(struct image_source *s, size_t index, bool verify, struct image_layer_stream **ret) {
    return image_layer_stream_open_tee(s, index, verify, -1, 0, ret);
}

int image_layer_stream_open_tee(struct image_source *s, size_t index, bool verify, int tee_fd, uint64_t tee_offset,
                                struct image_layer_stream **ret) {
    _cleanup_(image_layer_stream_freep) struct image_layer_stream *st = calloc(1, sizeof(*st));
    if (!st) return -ENOMEM;
    st->ref = &s->layers[index];
    int r;
    if (s->kind == IMAGE_INPUT_OCI_DIR) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", s->path, st->ref->member) < 0) return -ENOMEM;
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) return veil_err(-errno, "cannot open layer %s", p);
        if ((r = map_file(fd, p, &st->map)) < 0) return r;
    } else {
        if (!(st->outer = outer_reader(s->path, &st->map))) return -EBADMSG;
        struct archive_entry *e;
        r = seek_member(st->outer, st->ref->member, &e);
        if (r == -ENOENT) return veil_err(-EBADMSG, "image archive has no layer %s", st->ref->member);
        if (r < 0) return r;
    }
    if (verify) {
        if (!(st->digest = calloc(1, sizeof(*st->digest)))) return -ENOMEM;
        if ((r = image_digest_start(st->digest, true, -1, 0)) < 0) return r;
    }
    if (tee_fd >= 0) {
        if (!(st->copier = calloc(1, sizeof(*st->copier)))) return -ENOMEM;
        if ((r = image_digest_start(st->copier, false, tee_fd, tee_offset)) < 0) return r;
    }
    if (!(st->a = image_tar_reader_new())) return -ENOMEM;
    if (archive_read_open(st->a, st, NULL, stream_read, NULL) != ARCHIVE_OK)
        return image_archive_err(st->a, "corrupt layer");
    *ret = TAKE_PTR(st);
    return 0;
}

struct archive *image_layer_stream_archive(struct image_layer_stream *st) {
    return st->a;
}

uint64_t image_layer_stream_bytes(const struct image_layer_stream *st) {
    return st->bytes;
}

int image_layer_stream_finish(struct image_layer_stream *st) {
    const void *buf;
    int r;
    while (!st->eof)
        if (stream_read(NULL, st, &buf) < 0) return veil_err(-EBADMSG, "cannot read layer %s to its end", st->ref->member);
    if (st->copier && (r = image_digest_stop(st->copier)) < 0) return veil_err(r, "writing layer %s to the output", st->ref->member);
    if (!st->digest) return 0;
    uint8_t d[VEIL_SHA256_SIZE];
    char hex[2 * VEIL_SHA256_SIZE + 1];
    r = image_digest_stop(st->digest);
    if (r < 0 || (r = veil_hash_final(st->digest->hash, d)) < 0) return r;
    veil_hex_encode(d, sizeof(d), hex);
    if (strcmp(hex, st->ref->digest + 7) != 0)
        return veil_err(-EBADMSG, "layer %s does not match its digest %s", st->ref->member, st->ref->digest);
    if (st->ref->size >= 0 && st->bytes != (uint64_t)st->ref->size)
        return veil_err(-EBADMSG, "layer %s has %llu bytes, its descriptor says %lld", st->ref->member,
                        (unsigned long long)st->bytes, (long long)st->ref->size);
    return 0;
}

void image_layer_stream_free(struct image_layer_stream *st) {
    if (!st) return;
    if (st->a) archive_read_free(st->a);
    if (st->outer) archive_read_free(st->outer);
    if (st->copier) {
        image_digest_done(st->copier);
        free(st->copier);
    }
    if (st->digest) {
        image_digest_done(st->digest);
        free(st->digest);
    }
    unmap(&st->map);
    free(st);
}
