/* SPDX-License-Identifier: Apache-2.0 */
/* Recognising collateral by content and keeping it for the verifiers. */
#include "collateral.h"

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "claims.h"
#include "collateral-x509.h"
#include "crypto/ossl.h"

int veil_collateral_new(struct veil_collateral **ret) {
    struct veil_collateral *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    c->certs = sk_X509_new_null();
    c->crls = sk_X509_CRL_new_null();
    if (!c->certs || !c->crls) {
        veil_collateral_free(c);
        return -ENOMEM;
    }
    *ret = c;
    return 0;
}

void veil_collateral_free(struct veil_collateral *c) {
    if (!c) return;
    sk_X509_pop_free(c->certs, X509_free);
    sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
    for (size_t i = 0; i < c->items_count; i++) {
        free(c->items[i].body);
        json_decref(c->items[i].json);
    }
    free(c);
}

static void skip_space(struct veil_cursor *c) {
    while (!veil_cursor_eof(c)) {
        uint8_t b = c->data[c->pos];
        if (b != ' ' && b != '\t' && b != '\r' && b != '\n') break;
        c->pos++;
    }
}

/* Skip one JSON string (cursor at the opening quote). */
static int skip_string(struct veil_cursor *c) {
    uint8_t b;
    int r = veil_cursor_u8(c, &b);
    if (r < 0 || b != '"') return -EBADMSG;
    for (;;) {
        r = veil_cursor_u8(c, &b);
        if (r < 0) return r;
        if (b == '\\') {
            r = veil_cursor_skip(c, 1);
            if (r < 0) return r;
        } else if (b == '"')
            return 0;
    }
}

/* Skip one JSON value of any kind, tracking nesting outside strings. */
static int skip_value(struct veil_cursor *c) {
    unsigned depth = 0;
    for (;;) {
        if (veil_cursor_eof(c)) return -EBADMSG;
        uint8_t b = c->data[c->pos];
        if (b == '"') {
            int r = skip_string(c);
            if (r < 0) return r;
        } else if (b == '{' || b == '[') {
            if (++depth > 64) return -EBADMSG;
            c->pos++;
        } else if (b == '}' || b == ']') {
            if (depth == 0) return 0; /* end of the enclosing container: a scalar ended */
            depth--;
            c->pos++;
        } else if (b == ',' && depth == 0)
            return 0;
        else
            c->pos++;
        if (depth == 0 && (b == '"' || b == '}' || b == ']')) return 0;
    }
}

/*
 * The exact text of the top-level member `key` of a JSON object: Intel signs the
 * bytes of the "tcbInfo" / "enclaveIdentity" value as served, so re-serialising
 * the parsed JSON would not reproduce them.
 */
static int json_member_span(const uint8_t *data, size_t size, const char *key, size_t *ret_offset,
                            size_t *ret_size) {
    struct veil_cursor c = veil_cursor_make(data, size);
    uint8_t b;
    skip_space(&c);
    if (veil_cursor_u8(&c, &b) < 0 || b != '{') return -EBADMSG;
    size_t key_size = strlen(key);
    for (;;) {
        skip_space(&c);
        size_t key_start = c.pos;
        if (skip_string(&c) < 0) return -EBADMSG;
        bool match = c.pos - key_start == key_size + 2 && memcmp(data + key_start + 1, key, key_size) == 0;
        skip_space(&c);
        if (veil_cursor_u8(&c, &b) < 0 || b != ':') return -EBADMSG;
        skip_space(&c);
        size_t value_start = c.pos;
        if (skip_value(&c) < 0) return -EBADMSG;
        if (match) {
            *ret_offset = value_start;
            *ret_size = c.pos - value_start;
            return 0;
        }
        skip_space(&c);
        if (veil_cursor_u8(&c, &b) < 0 || b != ',') return -ENOENT;
    }
}

static int add_signed(struct veil_collateral *c, enum veil_signed_json_kind kind, const char *body,
                      size_t body_size, const char *signature_hex, const char *origin) {
    if (c->items_count >= ELEMENTSOF(c->items))
        return veil_err(-E2BIG, "%s: more than %zu signed collateral documents", origin, ELEMENTSOF(c->items));
    struct veil_signed_json *item = &c->items[c->items_count];
    *item = (struct veil_signed_json){ .kind = kind };
    /* JSON text has no NUL bytes; one would also cut the body short for C string functions */
    if (memchr(body, 0, body_size)) return veil_err(-EBADMSG, "%s: NUL byte in the signed body", origin);
    if (!signature_hex || strlen(signature_hex) != 128 || veil_hex_decode(signature_hex, item->signature, 64) < 0)
        return veil_err(-EBADMSG, "%s: signature is not 64 bytes of hex (ECDSA P-256 r||s)", origin);
    json_error_t jerr;
    item->json = json_loadb(body, body_size, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(item->json)) {
        json_decref(item->json);
        return veil_err(-EBADMSG, "%s: signed body is not a JSON object: %s", origin, jerr.text);
    }
    item->body = malloc(body_size + 1);
    if (!item->body) {
        json_decref(item->json);
        return -ENOMEM;
    }
    memcpy(item->body, body, body_size);
    item->body[body_size] = '\0';
    item->body_size = body_size;
    snprintf(item->origin, sizeof(item->origin), "%s", origin);
    c->items_count++;
    return 0;
}

static int add_pem(struct veil_collateral *c, const uint8_t *data, size_t size, const char *origin) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new_mem_buf(data, (int)size);
    if (!bio) return -ENOMEM;
    STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    if (!infos) return veil_ossl_err(-EBADMSG, origin);
    int r = 0, count = 0;
    for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *info = sk_X509_INFO_value(infos, i);
        if (info->x509 && sk_X509_push(c->certs, info->x509)) {
            info->x509 = NULL;
            count++;
        }
        if (info->crl && sk_X509_CRL_push(c->crls, info->crl)) {
            info->crl = NULL;
            count++;
        }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    ERR_clear_error();
    if (count == 0) r = veil_err(-EBADMSG, "%s: PEM without certificates or CRLs", origin);
    return r;
}

static int add_der(struct veil_collateral *c, const uint8_t *data, size_t size, const char *origin) {
    const unsigned char *p = data;
    X509 *cert = d2i_X509(NULL, &p, (long)size);
    if (cert) {
        if (!sk_X509_push(c->certs, cert)) {
            X509_free(cert);
            return -ENOMEM;
        }
        return 0;
    }
    p = data;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)size);
    ERR_clear_error();
    if (!crl) return veil_err(-EBADMSG, "%s: DER that is neither a certificate nor a CRL", origin);
    if (!sk_X509_CRL_push(c->crls, crl)) {
        X509_CRL_free(crl);
        return -ENOMEM;
    }
    return 0;
}

static bool is_hex(const uint8_t *data, size_t size) {
    if (size < 2 || size % 2) return false;
    for (size_t i = 0; i < size; i++)
        if (!((data[i] >= '0' && data[i] <= '9') || (data[i] >= 'a' && data[i] <= 'f') ||
              (data[i] >= 'A' && data[i] <= 'F')))
            return false;
    return true;
}

static int add_hex_der(struct veil_collateral *c, const char *hex, const char *origin) {
    size_t len = strlen(hex);
    if (!is_hex((const uint8_t *)hex, len)) return veil_err(-EBADMSG, "%s: not hex-encoded DER", origin);
    _cleanup_free_ uint8_t *der = malloc(len / 2);
    if (!der) return -ENOMEM;
    int r = veil_hex_decode(hex, der, len / 2);
    if (r < 0) return veil_err(r, "%s: bad hex", origin);
    return add_der(c, der, len / 2, origin);
}

static int add_pcs_response(struct veil_collateral *c, const uint8_t *data, size_t size, json_t *root,
                            const char *key, enum veil_signed_json_kind kind, const char *origin) {
    size_t offset, body_size;
    if (json_member_span(data, size, key, &offset, &body_size) < 0)
        return veil_err(-EBADMSG, "%s: cannot locate the \"%s\" member", origin, key);
    return add_signed(c, kind, (const char *)data + offset, body_size,
                      json_string_value(json_object_get(root, "signature")), origin);
}

/* The combined collateral of dcap-qvl / PCCS clients: every piece as a string member. */
static int add_combined(struct veil_collateral *c, json_t *root, const char *origin) {
    static const char *const chains[] = { "pck_crl_issuer_chain", "tcb_info_issuer_chain", "qe_identity_issuer_chain" };
    char what[128];
    for (size_t i = 0; i < ELEMENTSOF(chains); i++) {
        const char *pem = json_string_value(json_object_get(root, chains[i]));
        if (!pem) continue;
        snprintf(what, sizeof(what), "%s: %s", origin, chains[i]);
        int r = add_pem(c, (const uint8_t *)pem, strlen(pem), what);
        if (r < 0) return r;
    }
    static const char *const crls[] = { "pck_crl", "root_ca_crl" };
    for (size_t i = 0; i < ELEMENTSOF(crls); i++) {
        const char *v = json_string_value(json_object_get(root, crls[i]));
        if (!v) continue;
        snprintf(what, sizeof(what), "%s: %s", origin, crls[i]);
        int r = !strncmp(v, "-----BEGIN", 10) ? add_pem(c, (const uint8_t *)v, strlen(v), what)
                                              : add_hex_der(c, v, what);
        if (r < 0) return r;
    }
    const char *tcb = json_string_value(json_object_get(root, "tcb_info"));
    if (tcb) {
        snprintf(what, sizeof(what), "%s: tcb_info", origin);
        int r = add_signed(c, VEIL_SIGNED_TCB_INFO, tcb, strlen(tcb),
                           json_string_value(json_object_get(root, "tcb_info_signature")), what);
        if (r < 0) return r;
    }
    const char *qe = json_string_value(json_object_get(root, "qe_identity"));
    if (qe) {
        snprintf(what, sizeof(what), "%s: qe_identity", origin);
        int r = add_signed(c, VEIL_SIGNED_QE_IDENTITY, qe, strlen(qe),
                           json_string_value(json_object_get(root, "qe_identity_signature")), what);
        if (r < 0) return r;
    }
    return 0;
}

static int add_json(struct veil_collateral *c, const uint8_t *data, size_t size, const char *origin) {
    if (memchr(data, 0, size)) return veil_err(-EBADMSG, "%s: NUL byte in JSON text", origin);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return veil_err(-EBADMSG, "%s: not a JSON object (line %d: %s)", origin, jerr.line, jerr.text);
    }
    int r;
    if (json_object_get(root, "tcbInfo"))
        r = add_pcs_response(c, data, size, root, "tcbInfo", VEIL_SIGNED_TCB_INFO, origin);
    else if (json_object_get(root, "enclaveIdentity"))
        r = add_pcs_response(c, data, size, root, "enclaveIdentity", VEIL_SIGNED_QE_IDENTITY, origin);
    else if (json_object_get(root, "tcb_info") || json_object_get(root, "qe_identity") ||
             json_object_get(root, "pck_crl"))
        r = add_combined(c, root, origin);
    else
        r = veil_err(-EBADMSG, "%s: JSON that is neither a PCS TCB info / QE identity nor combined collateral", origin);
    json_decref(root);
    return r;
}

int veil_collateral_add(struct veil_collateral *c, const uint8_t *data, size_t size, const char *origin) {
    if (size > VEIL_COLLATERAL_FILE_MAX_SIZE)
        return veil_err(-EBADMSG, "%s: %zu bytes is over the collateral size limit", origin, size);
    struct veil_cursor cur = veil_cursor_make(data, size);
    skip_space(&cur);
    if (veil_cursor_eof(&cur)) return veil_err(-EBADMSG, "%s: empty", origin);
    uint8_t first = data[cur.pos];
    if (first == '{') return add_json(c, data, size, origin);
    if (veil_cursor_remaining(&cur) >= 10 && !memcmp(data + cur.pos, "-----BEGIN", 10))
        return add_pem(c, data, size, origin);
    if (first == 0x30) return add_der(c, data, size, origin);
    if (is_hex(data, size)) {
        _cleanup_free_ char *hex = strndup((const char *)data, size);
        if (!hex) return -ENOMEM;
        return add_hex_der(c, hex, origin);
    }
    return veil_err(-EBADMSG, "%s: not recognised as collateral (PEM, DER, hex DER CRL or Intel PCS JSON)", origin);
}

int veil_collateral_load_file(struct veil_collateral *c, const char *path) {
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    int r = veil_read_file(path, VEIL_COLLATERAL_FILE_MAX_SIZE, &data, &size);
    if (r < 0) return veil_err(r, "cannot read collateral '%s'", path);
    const char *name = strrchr(path, '/');
    return veil_collateral_add(c, data, size, name ? name + 1 : path);
}

/*
 * Whether a file in a collateral directory is meant as collateral at all: evidence,
 * quotes and notes often sit in the same directory and are skipped, while a file that
 * claims to be collateral and does not parse is an error.
 */
static bool looks_like_collateral(const uint8_t *data, size_t size) {
    size_t i = 0;
    while (i < size && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) i++;
    if (i == size) return false;
    if (data[i] == '{') {
        static const char *const keys[] = { "\"tcbInfo\"", "\"enclaveIdentity\"", "\"tcb_info\"", "\"qe_identity\"",
                                            "\"pck_crl\"" };
        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
            if (memmem(data, size, keys[k], strlen(keys[k]))) return true;
        return false;
    }
    if (size - i >= 10 && !memcmp(data + i, "-----BEGIN", 10)) return true;
    if (data[0] == 0x30 && size >= 4) {
        /* a DER SEQUENCE spanning exactly the file (long-form length, as every certificate and CRL has) */
        size_t n = data[1] & 0x7f, length = 0;
        if (!(data[1] & 0x80) || n == 0 || n > 3 || size < 2 + n) return false;
        for (size_t k = 0; k < n; k++) length = length << 8 | data[2 + k];
        return 2 + n + length == size;
    }
    return is_hex(data, size);
}

int veil_collateral_load_dir(struct veil_collateral *c, const char *dir) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) return veil_err(-errno, "cannot list collateral directory '%s'", dir);
    int r = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        if (r == 0 && names[i]->d_name[0] != '.' &&
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < sizeof(path)) {
            _cleanup_free_ uint8_t *data = NULL;
            size_t size;
            int k = veil_read_file(path, VEIL_COLLATERAL_FILE_MAX_SIZE, &data, &size);
            if (k == -EISDIR || k == -EINVAL) {
                /* not a regular file: nothing to add */
            } else if (k < 0)
                r = veil_err(k, "cannot read collateral '%s'", path);
            else if (!looks_like_collateral(data, size))
                veil_log_debug("collateral: skipping %s (not a recognised format)", path);
            else
                r = veil_collateral_add(c, data, size, names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
    return r;
}

int veil_tcb_mask_parse(const char *list, uint32_t *ret) {
    uint32_t mask = 0;
    _cleanup_free_ char *copy = strdup(list);
    if (!copy) return -ENOMEM;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        enum veil_tcb_status s;
        int r = veil_tcb_status_from_name(tok, &s);
        if (r < 0) return r;
        mask |= 1u << s;
    }
    *ret = mask;
    return 0;
}

int veil_hw_check_report_data(const struct veil_hw_options *opts, const uint8_t report_data[64], const char *what) {
    if (!opts || !opts->report_data) return 0;
    if (opts->report_data_size == 0 || opts->report_data_size > 64)
        return veil_err(-EINVAL, "expected report data must be 1 to 64 bytes");
    if (memcmp(opts->report_data, report_data, opts->report_data_size) == 0) return 0;
    char want[129], got[129];
    veil_hex_encode(opts->report_data, opts->report_data_size, want);
    veil_hex_encode(report_data, opts->report_data_size, got);
    return veil_err(-EACCES, "%s: report data mismatch: expected %s, got %s", what, want, got);
}

int veil_hw_err_prefix(int err, const char *prefix) {
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", veil_err_msg());
    return veil_err(err, "%s%s", prefix, copy);
}
