/* SPDX-License-Identifier: Apache-2.0 */
/* The configfs-tsm report protocol, with the generation check that detects a concurrent writer. */
#include "tsm.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/random.h"

static int attr_path(char *out, const char *entry, const char *attr) {
    if (snprintf(out, PATH_MAX, "%s/%s", entry, attr) >= PATH_MAX) return -ENAMETOOLONG;
    return 0;
}

static int read_attr(const char *entry, const char *attr, size_t max, uint8_t **ret, size_t *ret_size) {
    char path[PATH_MAX];
    int r = attr_path(path, entry, attr);
    if (r < 0) return r;
    return veil_read_file(path, max, ret, ret_size);
}

static int read_generation(const char *entry, uint64_t *ret) {
    _cleanup_free_ uint8_t *text = NULL;
    size_t size;
    int r = read_attr(entry, "generation", 64, &text, &size);
    if (r < 0) return veil_err(r, "configfs-tsm: cannot read generation");
    char *end;
    errno = 0;
    unsigned long long g = strtoull((char *)text, &end, 10);
    if (errno || end == (char *)text || (*end && *end != '\n')) return veil_err(-EBADMSG, "configfs-tsm: bad generation");
    *ret = g;
    return 0;
}

static int read_provider(const char *entry, char out[32]) {
    _cleanup_free_ uint8_t *text = NULL;
    size_t size;
    int r = read_attr(entry, "provider", 31, &text, &size);
    if (r < 0) return veil_err(r, "configfs-tsm: cannot read provider");
    while (size > 0 && (text[size - 1] == '\n' || text[size - 1] == ' ')) size--;
    memcpy(out, text, size);
    out[size] = 0;
    if (strlen(out) != size) return veil_err(-EBADMSG, "configfs-tsm: bad provider");
    return 0;
}

static int write_inblob(const char *entry, const uint8_t *data, size_t size) {
    char path[PATH_MAX];
    int r = attr_path(path, entry, "inblob");
    if (r < 0) return r;
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return veil_err(-errno, "configfs-tsm: cannot open inblob");
    r = veil_write_all(fd, data, size);
    if (r < 0) return veil_err(r, "configfs-tsm: cannot write inblob");
    return 0;
}

void veil_tsm_report_done(struct veil_tsm_report *r) {
    free(r->outblob);
    free(r->auxblob);
    *r = (struct veil_tsm_report){ 0 };
}

static int check_outblob(const struct veil_tsm_report *rep, const uint8_t report_data[VEIL_REPORT_DATA_SIZE]) {
    size_t min = rep->tee == VEIL_TEE_SNP ? VEIL_SNP_REPORT_SIZE : VEIL_TDX_QUOTE_MIN_SIZE;
    size_t offset = rep->tee == VEIL_TEE_SNP ? VEIL_SNP_REPORT_DATA_OFFSET : VEIL_TDX_QUOTE_REPORT_DATA_OFFSET;
    if (rep->outblob_size < min)
        return veil_err(-EBADMSG, "configfs-tsm: short outblob (%zu bytes, a %s report has at least %zu)",
                        rep->outblob_size, rep->provider, min);
    /* the report must carry what we wrote: otherwise another writer's request was answered */
    if (memcmp(rep->outblob + offset, report_data, VEIL_REPORT_DATA_SIZE) != 0)
        return veil_err(-EBUSY, "configfs-tsm: the outblob carries other report data (a concurrent writer?)");
    return 0;
}

static int run_protocol(const struct veil_tsm_request *req, const char *entry,
                        const uint8_t report_data[VEIL_REPORT_DATA_SIZE], struct veil_tsm_report *rep) {
    int r = write_inblob(entry, report_data, VEIL_REPORT_DATA_SIZE);
    if (r < 0) return r;
    uint64_t before, after;
    r = read_generation(entry, &before);
    if (r < 0) return r;
    r = read_provider(entry, rep->provider);
    if (r < 0) return r;
    if (!strcmp(rep->provider, "sev_guest"))
        rep->tee = VEIL_TEE_SNP;
    else if (!strcmp(rep->provider, "tdx_guest"))
        rep->tee = VEIL_TEE_TDX;
    else
        return veil_err(-ENXIO, "configfs-tsm: unknown provider '%s'", rep->provider);
    if (req->expected_provider && strcmp(req->expected_provider, rep->provider) != 0)
        return veil_err(-ENXIO, "configfs-tsm: provider is '%s', expected '%s'", rep->provider, req->expected_provider);

    r = read_attr(entry, "outblob", VEIL_TSM_OUTBLOB_MAX_SIZE, &rep->outblob, &rep->outblob_size);
    if (r < 0) return veil_err(r, "configfs-tsm: cannot read outblob: %s", veil_err_msg());
    r = read_attr(entry, "auxblob", VEIL_TSM_AUXBLOB_MAX_SIZE, &rep->auxblob, &rep->auxblob_size);
    if (r == -ENOENT) /* providers without auxiliary data do not show the attribute */
        r = 0;
    if (r < 0) return veil_err(r, "configfs-tsm: cannot read auxblob: %s", veil_err_msg());
    if (req->after_read_hook) req->after_read_hook(entry, req->hook_arg);

    r = read_generation(entry, &after);
    if (r < 0) return r;
    if (after != before)
        return veil_err(-EBUSY, "configfs-tsm: generation changed from %" PRIu64 " to %" PRIu64
                                " while reading: another writer used the entry", before, after);
    rep->generation = after;
    return check_outblob(rep, report_data);
}

int veil_tsm_get_report(const struct veil_tsm_request *req, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                        struct veil_tsm_report *ret) {
    const char *base = req->base_dir ? req->base_dir : VEIL_TSM_DEFAULT_DIR;
    char entry[PATH_MAX];
    bool ours = !req->entry_name;
    if (req->entry_name) {
        if (!*req->entry_name || strchr(req->entry_name, '/')) return veil_err(-EINVAL, "bad configfs-tsm entry name");
        if (snprintf(entry, sizeof(entry), "%s/%s", base, req->entry_name) >= (int)sizeof(entry)) return -ENAMETOOLONG;
    } else {
        uint32_t nonce;
        int r = veil_random(&nonce, sizeof(nonce));
        if (r < 0) return r;
        if (snprintf(entry, sizeof(entry), "%s/veil-%d-%08x", base, (int)getpid(), nonce) >= (int)sizeof(entry))
            return -ENAMETOOLONG;
    }
    if (mkdir(entry, 0700) < 0) {
        /* a caller-named entry may exist already; the generation check covers sharing it */
        if (!(errno == EEXIST && !ours)) return veil_err(-errno, "configfs-tsm: cannot create %s", entry);
    }
    struct veil_tsm_report rep = { 0 };
    int r = run_protocol(req, entry, report_data, &rep);
    if (ours) (void)rmdir(entry);
    if (r < 0) {
        veil_tsm_report_done(&rep);
        return r;
    }
    *ret = rep;
    return 0;
}
