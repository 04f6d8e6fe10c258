/* SPDX-License-Identifier: Apache-2.0 */
/* veil-run's network set-up: the image's measured network rules and the TLS identity that serves them. */
#include "net-setup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/secbuf.h"
#include "crypto/hash.h"
#include "manifest/file-digest.h"
#include "nettls/nettls.h"

/* The rules file, read inside the root and checked against the manifest's digest. */
static int read_rules(const struct veil_manifest *m, const char *root, struct veil_nettls_rules **ret) {
    struct veil_manifest_entry e;
    int r = veil_manifest_find(m, VEIL_SHIELD_NETTLS_RULES, strlen(VEIL_SHIELD_NETTLS_RULES), &e);
    if (r == -ENOENT) {
        *ret = NULL;
        return 0;
    }
    if (r < 0) return r;
    if (e.class != VEIL_MANIFEST_TRUSTED)
        return veil_err(-EPERM, "%s must be a plain (trusted) file of the image", VEIL_SHIELD_NETTLS_RULES);
    _cleanup_close_ int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) return veil_err(-errno, "cannot open the root %s", root);
    struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    _cleanup_close_ int fd = (int)syscall(SYS_openat2, root_fd, VEIL_SHIELD_NETTLS_RULES + 1, &how, sizeof(how));
    if (fd < 0) return veil_err(-errno, "cannot open the network rules %s", VEIL_SHIELD_NETTLS_RULES);
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    if ((r = veil_read_fd(fd, VEIL_NETTLS_RULES_MAX_SIZE, &data, &size)) < 0) return r;
    uint8_t digest[VEIL_SHA256_SIZE];
    if ((r = veil_file_digest(data, size, digest)) < 0) return r;
    if (size != e.size || memcmp(digest, e.sha256, sizeof(digest)))
        return veil_err(-EACCES, "%s does not match its digest in the manifest", VEIL_SHIELD_NETTLS_RULES);
    return veil_nettls_rules_parse(data, size, ret);
}

static int read_pem(const char *dir, const char *name, struct veil_secbuf **ret) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) return -ENAMETOOLONG;
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    int r = veil_read_file(path, VEIL_NETTLS_PEM_MAX_SIZE, &data, &size);
    if (r < 0) return veil_err(r, "cannot read %s", path);
    r = veil_secbuf_dup(data, size, ret);
    explicit_bzero(data, size);
    return r;
}

/* A secret file the attestation service delivered (never a file of the image: a key on disk is no secret). */
static int read_secret(const struct veil_shield_policy *policy, const char *name, struct veil_secbuf **ret) {
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", VEIL_SHIELD_NETTLS_IDENTITY_DIR, name);
    struct veil_shield_verdict v;
    veil_shield_classify(policy, path, strlen(path), &v);
    if (v.class != VEIL_SHIELD_SECRET)
        return veil_err(-EPERM, "the image's network rules need a TLS identity from the policy CA: the attestation service "
                                "delivered no %s (policy: files: %s: \"{{secret.NAME...}}\"; development: --dev-tls-dir DIR)",
                        path, path);
    return veil_secbuf_dup(v.secret, v.secret_size, ret);
}

int veil_shield_net_setup(const struct veil_manifest *m, const char *root, const struct veil_shield_policy *policy,
                          const char *dev_tls_dir, struct veil_nettls **ret) {
    _cleanup_free_ struct veil_nettls_rules *rules = NULL;
    int r = read_rules(m, root, &rules);
    if (r < 0) return r;
    if (!rules) {
        if (dev_tls_dir) veil_log_warning("--dev-tls-dir: the image has no network rules (%s); ignored", VEIL_SHIELD_NETTLS_RULES);
        *ret = NULL;
        return 0;
    }
    if ((r = veil_nettls_rules_resolve(rules)) < 0) return r;
    _cleanup_secbuf_ struct veil_secbuf *cert = NULL, *key = NULL, *ca = NULL;
    if (dev_tls_dir) {
        veil_log_warning("DEVELOPMENT MODE: the TLS identity for attested connections comes from %s, "
                         "not from the attestation service", dev_tls_dir);
        if ((r = read_pem(dev_tls_dir, "cert.pem", &cert)) < 0 || (r = read_pem(dev_tls_dir, "key.pem", &key)) < 0 ||
            (r = read_pem(dev_tls_dir, "ca.pem", &ca)) < 0)
            return r;
    } else if ((r = read_secret(policy, "cert.pem", &cert)) < 0 || (r = read_secret(policy, "key.pem", &key)) < 0 ||
               (r = read_secret(policy, "ca.pem", &ca)) < 0)
        return r;
    struct veil_nettls *n;
    r = veil_nettls_new(rules, cert->data, cert->size, key->data, key->size, ca->data, ca->size, &n);
    if (r < 0) return r;
    TAKE_PTR(rules);
    veil_log_info("network rules: %zu protected port(s), %zu protected destination(s)",
                  veil_nettls_rules(n)->listen_count, veil_nettls_rules(n)->connect_count);
    *ret = n;
    return 0;
}
