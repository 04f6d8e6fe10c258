/* SPDX-License-Identifier: Apache-2.0 */
/* The sim platform's keys and certificates: created on first use in a state directory, or in memory. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/err.h"
#include "crypto/certgen.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "sim.h"

#define SIM_VALIDITY_SECONDS (10 * 365 * 24 * 3600L)
#define SIM_CLOCK_SKEW_SECONDS 3600

int veil_sim_dir(char **ret) {
    const char *env = getenv("VEIL_SIM_DIR");
    char *dir = NULL;
    if (env && *env)
        dir = strdup(env);
    else if ((env = getenv("XDG_STATE_HOME")) && *env == '/') {
        if (asprintf(&dir, "%s/veil/sim", env) < 0) dir = NULL;
    } else if ((env = getenv("HOME")) && *env == '/') {
        if (asprintf(&dir, "%s/.local/state/veil/sim", env) < 0) dir = NULL;
    } else
        return veil_err(-ENOENT, "no sim directory: set VEIL_SIM_DIR or HOME");
    if (!dir) return -ENOMEM;
    *ret = dir;
    return 0;
}

void veil_sim_platform_free(struct veil_sim_platform *p) {
    if (!p) return;
    X509_free(p->root);
    X509_free(p->ak_cert);
    EVP_PKEY_free(p->ak_key);
    free(p);
}

int veil_sim_platform_new(struct veil_sim_platform **ret) {
    _cleanup_(veil_sim_platform_freep) struct veil_sim_platform *p = calloc(1, sizeof(*p));
    if (!p) return -ENOMEM;
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *root_key = NULL;
    int r = veil_key_generate(VEIL_KEY_ECDSA_P384, &root_key);
    if (r < 0) return r;
    r = veil_key_generate(VEIL_KEY_ECDSA_P384, &p->ak_key);
    if (r < 0) return r;
    time_t now = time(NULL);
    struct veil_cert_params params = {
        .common_name = "veil sim platform root (NOT a hardware TEE)",
        .not_before = now - SIM_CLOCK_SKEW_SECONDS,
        .not_after = now + SIM_VALIDITY_SECONDS,
        .is_ca = true,
    };
    r = veil_cert_issue(&params, root_key, NULL, root_key, &p->root);
    if (r < 0) return r;
    params.common_name = "veil sim attestation key";
    params.is_ca = false;
    r = veil_cert_issue(&params, p->ak_key, p->root, root_key, &p->ak_cert);
    if (r < 0) return r;
    /* the root key is dropped here: nothing is ever issued by it again */
    *ret = TAKE_PTR(p);
    return 0;
}

static int join(char out[PATH_MAX], const char *dir, const char *name) {
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_MAX) return veil_err(-ENAMETOOLONG, "path too long: %s", dir);
    return 0;
}

static int load(const char *dir, struct veil_sim_platform **ret) {
    _cleanup_(veil_sim_platform_freep) struct veil_sim_platform *p = calloc(1, sizeof(*p));
    if (!p) return -ENOMEM;
    char path[PATH_MAX];
    if (join(path, dir, "root.pem") < 0) return -ENAMETOOLONG;
    if (access(path, F_OK) < 0) return veil_err(-errno, "no sim platform in %s", dir);
    int r = veil_cert_load_pem(path, &p->root);
    if (r < 0) return r;
    if (join(path, dir, "ak.pem") < 0) return -ENAMETOOLONG;
    r = veil_cert_load_pem(path, &p->ak_cert);
    if (r < 0) return r;
    if (join(path, dir, "ak.key") < 0) return -ENAMETOOLONG;
    r = veil_key_load_private_pem(path, &p->ak_key);
    if (r < 0) return veil_err(r, "cannot load the sim attestation key %s", path);
    if (X509_check_private_key(p->ak_cert, p->ak_key) != 1)
        return veil_ossl_err(-EBADMSG, "sim ak.key does not match ak.pem");
    *ret = TAKE_PTR(p);
    return 0;
}

static int mkdir_parents(const char *dir) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) return -ENAMETOOLONG;
    for (char *s = path + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(path, 0700) < 0 && errno != EEXIST) return veil_err(-errno, "cannot create %s", path);
        *s = '/';
    }
    return 0;
}

static int save(const struct veil_sim_platform *p, const char *dir) {
    char path[PATH_MAX];
    if (join(path, dir, "ak.key") < 0) return -ENAMETOOLONG;
    int r = veil_key_save_private_pem(p->ak_key, path);
    if (r < 0) return r;
    if (join(path, dir, "ak.pem") < 0) return -ENAMETOOLONG;
    r = veil_cert_save_pem(p->ak_cert, path);
    if (r < 0) return r;
    if (join(path, dir, "root.pem") < 0) return -ENAMETOOLONG;
    return veil_cert_save_pem(p->root, path);
}

static void remove_tree(const char *dir) {
    static const char *const names[] = { "ak.key", "ak.pem", "root.pem" };
    char path[PATH_MAX];
    for (size_t i = 0; i < ELEMENTSOF(names); i++) {
        if (join(path, dir, names[i]) == 0) (void)unlink(path);
    }
    (void)rmdir(dir);
}

int veil_sim_platform_open(const char *dir, bool create, struct veil_sim_platform **ret) {
    _cleanup_free_ char *default_dir = NULL;
    if (!dir) {
        int r = veil_sim_dir(&default_dir);
        if (r < 0) return r;
        dir = default_dir;
    }
    if (strlen(dir) > PATH_MAX - 32) return -ENAMETOOLONG;
    int r = load(dir, ret);
    if (r != -ENOENT || !create) return r;

    /* first use: build the platform in a private temporary directory, then rename it into
     * place; if another process won the race, use theirs */
    r = mkdir_parents(dir);
    if (r < 0) return r;
    char tmp[PATH_MAX];
    if (join(tmp, dir, "") < 0) return -ENAMETOOLONG;
    strcpy(tmp + strlen(tmp) - 1, ".tmp-XXXXXX"); /* "<dir>.tmp-XXXXXX"; length checked on entry */
    if (!mkdtemp(tmp)) return veil_err(-errno, "cannot create a temporary directory next to %s", dir);
    _cleanup_(veil_sim_platform_freep) struct veil_sim_platform *p = NULL;
    r = veil_sim_platform_new(&p);
    if (r >= 0) r = save(p, tmp);
    if (r >= 0 && rename(tmp, dir) < 0) {
        r = -errno;
        remove_tree(tmp);
        if (r == -EEXIST || r == -ENOTEMPTY) return load(dir, ret);
        return veil_err(r, "cannot create the sim platform in %s", dir);
    }
    if (r < 0) {
        remove_tree(tmp);
        return r;
    }
    *ret = TAKE_PTR(p);
    return 0;
}
