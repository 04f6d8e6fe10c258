/* SPDX-License-Identifier: Apache-2.0 */
/* The append-only audit chain: each entry's HMAC covers the previous entry's, so any change breaks the chain. */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "store-internal.h"

VEIL_DEFINE_CLEANUP(sqlite3_stmt *, sqlite3_finalize, stmt_freep)
#define _cleanup_stmt_ _cleanup_(stmt_freep)

int veil_cas_json_escape(struct veil_buf *b, const char *s) {
    json_t *j = json_string(s);
    if (!j) return veil_buf_printf(b, "\"(not UTF-8)\"");
    char *text = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    if (!text) return -ENOMEM;
    int r = veil_buf_printf(b, "%s", text);
    free(text);
    return r;
}

static int field(struct veil_buf *b, const char *s) {
    size_t n = strlen(s);
    int r = veil_buf_append_u64le(b, n);
    return r < 0 ? r : veil_buf_append(b, s, n);
}

/*
 * entry hash = HMAC-SHA256(audit key,
 *   "veil-cas-audit-v1\0" || previous hash (32, zeros for the first) || seq (u64le) || time (u64le)
 *   || for kind, policy, subject, detail: length (u64le) || bytes)
 */
static int entry_hash(struct veil_cas_store *s, const uint8_t prev[32], int64_t seq, int64_t t, const char *kind,
                      const char *policy, const char *subject, const char *detail, uint8_t out[32]) {
    struct veil_buf b = { .limit = 1u << 20 };
    int r = veil_buf_append(&b, "veil-cas-audit-v1", 18);
    if (r >= 0) r = veil_buf_append(&b, prev, 32);
    if (r >= 0) r = veil_buf_append_u64le(&b, (uint64_t)seq);
    if (r >= 0) r = veil_buf_append_u64le(&b, (uint64_t)t);
    if (r >= 0) r = field(&b, kind);
    if (r >= 0) r = field(&b, policy);
    if (r >= 0) r = field(&b, subject);
    if (r >= 0) r = field(&b, detail);
    if (r >= 0) r = veil_hmac_sha256(s->audit_key->data, s->audit_key->size, b.data, b.size, out);
    veil_buf_done(&b);
    return r;
}

int veil_cas_audit_append(struct veil_cas_store *s, const char *kind, const char *policy, const char *subject,
                          const char *detail) {
    if (strlen(detail) > VEIL_CAS_DETAIL_MAX * 16) return -E2BIG;
    _cleanup_stmt_ sqlite3_stmt *last = NULL;
    int r = veil_cas_sql_prepare(s, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &last);
    if (r < 0) return r;
    uint8_t prev[32] = { 0 };
    int64_t seq = 1;
    int rc = sqlite3_step(last);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(last, 1) != 32) return veil_err(-EBADMSG, "corrupt audit entry");
        seq = sqlite3_column_int64(last, 0) + 1;
        memcpy(prev, sqlite3_column_blob(last, 1), 32);
    } else if (rc != SQLITE_DONE)
        return veil_cas_sql_err(s, rc, "reading audit head");
    int64_t t = (int64_t)time(NULL);
    uint8_t hash[32];
    if ((r = entry_hash(s, prev, seq, t, kind, policy, subject, detail, hash)) < 0) return r;
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if ((r = veil_cas_sql_prepare(s, "INSERT INTO audit(seq, time, kind, policy, subject, detail, hash)"
                                     " VALUES(?1,?2,?3,?4,?5,?6,?7)", &st)) < 0)
        return r;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, t);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, policy, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, detail, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 7, hash, 32, SQLITE_STATIC);
    rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? 0 : veil_cas_sql_err(s, rc, "appending audit entry");
}

struct entry_args {
    const char *kind, *policy, *subject, *detail;
};

static int append(struct veil_cas_store *s, void *arg) {
    const struct entry_args *e = arg;
    return veil_cas_audit_append(s, e->kind, e->policy, e->subject, e->detail);
}

int veil_cas_store_audit(struct veil_cas_store *s, const char *kind, const char *policy, const char *subject,
                         const char *detail) {
    struct entry_args e = { kind, policy, subject, detail };
    return veil_cas_store_write(s, append, &e);
}

static const char *text_col(sqlite3_stmt *st, int i) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

int veil_cas_store_audit_verify(struct veil_cas_store *s, int64_t *ret_count, int64_t *ret_bad_seq) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = veil_cas_sql_prepare(s, "SELECT seq, time, kind, policy, subject, detail, hash FROM audit ORDER BY seq", &st);
    if (r < 0) return r;
    /* one read transaction: a consistent snapshot while writers go on */
    uint8_t prev[32] = { 0 };
    int64_t expected = 1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        uint8_t h[32];
        if (seq != expected) {
            *ret_bad_seq = expected;
            return veil_err(-EACCES, "audit entry %lld is missing (found %lld next)", (long long)expected, (long long)seq);
        }
        if ((r = entry_hash(s, prev, seq, sqlite3_column_int64(st, 1), text_col(st, 2), text_col(st, 3),
                            text_col(st, 4), text_col(st, 5), h)) < 0)
            return r;
        if (sqlite3_column_bytes(st, 6) != 32 || !veil_memeq_ct(h, sqlite3_column_blob(st, 6), 32)) {
            *ret_bad_seq = seq;
            return veil_err(-EACCES, "audit entry %lld was altered (its HMAC does not match the chain)", (long long)seq);
        }
        memcpy(prev, h, 32);
        expected++;
    }
    if (rc != SQLITE_DONE) return veil_cas_sql_err(s, rc, "reading audit");
    *ret_count = expected - 1;
    *ret_bad_seq = 0;
    return 0;
}

int veil_cas_store_audit_hash(struct veil_cas_store *s, int64_t seq, uint8_t ret[32]) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = veil_cas_sql_prepare(s, "SELECT hash FROM audit WHERE seq=?1", &st);
    if (r < 0) return r;
    sqlite3_bind_int64(st, 1, seq);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return veil_err(-ENOENT, "no audit entry %lld", (long long)seq);
    if (rc != SQLITE_ROW) return veil_cas_sql_err(s, rc, "reading audit");
    if (sqlite3_column_bytes(st, 0) != 32) return veil_err(-EBADMSG, "corrupt audit entry");
    memcpy(ret, sqlite3_column_blob(st, 0), 32);
    return 0;
}

int veil_cas_store_audit_list(struct veil_cas_store *s, const char *policy, int64_t since, size_t limit,
                              char **ret_json) {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    int r = veil_cas_sql_prepare(s,
                                 policy ? "SELECT seq, time, kind, policy, subject, detail FROM audit"
                                          " WHERE policy=?1 AND seq>?2 ORDER BY seq LIMIT ?3"
                                        : "SELECT seq, time, kind, policy, subject, detail FROM audit"
                                          " WHERE seq>?2 ORDER BY seq LIMIT ?3",
                                 &st);
    if (r < 0) return r;
    if (policy) sqlite3_bind_text(st, 1, policy, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, (int64_t)limit);
    json_t *list = json_array();
    if (!list) return -ENOMEM;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_error_t err;
        json_t *detail = json_loads(text_col(st, 5), 0, &err);
        json_t *e = json_pack("{s:I,s:I,s:s,s:s,s:s,s:o}", "seq", (json_int_t)sqlite3_column_int64(st, 0), "time",
                              (json_int_t)sqlite3_column_int64(st, 1), "kind", text_col(st, 2), "policy",
                              text_col(st, 3), "subject", text_col(st, 4), "detail",
                              detail ? detail : json_string(text_col(st, 5)));
        if (!e || json_array_append_new(list, e) < 0) {
            json_decref(list);
            return -ENOMEM;
        }
    }
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return veil_cas_sql_err(s, rc, "reading audit");
    }
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (!text) return -ENOMEM;
    *ret_json = text;
    return 0;
}
