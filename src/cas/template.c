/* SPDX-License-Identifier: Apache-2.0 */
/* Injection templates: "text {{secret.NAME.FIELD}} text", split once when a policy is parsed. */
#include <string.h>

#include "base/err.h"
#include "policy.h"

static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

void veil_cas_template_done(struct veil_cas_template *t) {
    for (size_t i = 0; i < t->part_count; i++) {
        free(t->parts[i].text);
        free(t->parts[i].secret);
        free(t->parts[i].field);
    }
    free(t->parts);
    *t = (struct veil_cas_template){ 0 };
}

static int add_part(struct veil_cas_template *t, char *text, char *secret, char *field) {
    struct veil_cas_template_part *p = realloc(t->parts, (t->part_count + 1) * sizeof(*p));
    if (!p) {
        free(text);
        free(secret);
        free(field);
        return -ENOMEM;
    }
    t->parts = p;
    p[t->part_count++] = (struct veil_cas_template_part){ .text = text, .secret = secret, .field = field };
    return 0;
}

/* Parse "secret.NAME" or "secret.NAME.FIELD" between the braces (spaces around allowed). */
static int parse_reference(const char *s, size_t size, struct veil_cas_template *t) {
    while (size && *s == ' ') s++, size--;
    while (size && s[size - 1] == ' ') size--;
    static const char prefix[] = "secret.";
    if (size < sizeof(prefix) || memcmp(s, prefix, sizeof(prefix) - 1))
        return veil_err(-EBADMSG, "template reference '%.*s' must be secret.NAME or secret.NAME.FIELD",
                        (int)MIN(size, 80), s);
    s += sizeof(prefix) - 1;
    size -= sizeof(prefix) - 1;
    size_t name_size = 0;
    while (name_size < size && is_name_char(s[name_size])) name_size++;
    if (name_size == 0 || name_size > VEIL_CAS_NAME_MAX)
        return veil_err(-EBADMSG, "bad secret name in template reference");
    const char *field = "";
    size_t field_size = 0;
    if (name_size < size) {
        if (s[name_size] != '.') return veil_err(-EBADMSG, "bad character in template reference");
        field = s + name_size + 1;
        field_size = size - name_size - 1;
        if (field_size == 0 || field_size > VEIL_CAS_NAME_MAX)
            return veil_err(-EBADMSG, "bad field in template reference");
        for (size_t i = 0; i < field_size; i++)
            if (!is_name_char(field[i])) return veil_err(-EBADMSG, "bad field in template reference");
    }
    char *n = strndup(s, name_size), *f = strndup(field, field_size);
    if (!n || !f) {
        free(n);
        free(f);
        return -ENOMEM;
    }
    return add_part(t, NULL, n, f);
}

int veil_cas_template_parse(const char *text, struct veil_cas_template *ret) {
    struct veil_cas_template t = { 0 };
    const char *p = text;
    int r = 0;
    while (*p) {
        const char *open = strstr(p, "{{");
        const char *end = open ? open : p + strlen(p);
        if (end > p) {
            char *lit = strndup(p, (size_t)(end - p));
            if (!lit || (r = add_part(&t, lit, NULL, NULL)) < 0) {
                r = r < 0 ? r : -ENOMEM;
                goto fail;
            }
            if (strstr(lit, "}}")) {
                r = veil_err(-EBADMSG, "'}}' without a matching '{{' in template");
                goto fail;
            }
        }
        if (!open) break;
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            r = veil_err(-EBADMSG, "unterminated '{{' in template");
            goto fail;
        }
        if (memchr(open + 2, '{', (size_t)(close - open - 2))) {
            r = veil_err(-EBADMSG, "nested '{' in template reference");
            goto fail;
        }
        r = parse_reference(open + 2, (size_t)(close - open - 2), &t);
        if (r < 0) goto fail;
        p = close + 2;
    }
    *ret = t;
    return 0;
fail:
    veil_cas_template_done(&t);
    return r;
}

bool veil_cas_secret_has_field(enum veil_cas_secret_kind kind, const char *field) {
    static const struct {
        enum veil_cas_secret_kind kind;
        const char *field;
    } fields[] = {
        { VEIL_CAS_SECRET_RANDOM, "" },       { VEIL_CAS_SECRET_RANDOM, "hex" },
        { VEIL_CAS_SECRET_RANDOM, "base64" }, { VEIL_CAS_SECRET_PASSWORD, "" },
        { VEIL_CAS_SECRET_IMPORTED, "" },     { VEIL_CAS_SECRET_PRIVATE_KEY, "" },
        { VEIL_CAS_SECRET_PRIVATE_KEY, "key" }, { VEIL_CAS_SECRET_PRIVATE_KEY, "public" },
        { VEIL_CAS_SECRET_X509_CA, "" },      { VEIL_CAS_SECRET_X509_CA, "cert" },
        { VEIL_CAS_SECRET_X509, "" },         { VEIL_CAS_SECRET_X509, "cert" },
        { VEIL_CAS_SECRET_X509, "key" },      { VEIL_CAS_SECRET_X509, "chain" },
        { VEIL_CAS_SECRET_X509, "ca" },
    };
    for (size_t i = 0; i < ELEMENTSOF(fields); i++)
        if (fields[i].kind == kind && !strcmp(fields[i].field, field)) return true;
    return false;
}
