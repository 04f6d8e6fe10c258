/* SPDX-License-Identifier: Apache-2.0 */
/* `veil cas`: run the service, manage policies as an owner, read and verify the audit log. */
#include <getopt.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "cas/client.h"
#include "cas/policy.h"
#include "cas/secret.h"
#include "cas/serve-main.h"
#include "command.h"
#include "crypto/key.h"
#include "crypto/ossl.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: veil cas COMMAND ...\n\n"
            "  serve [OPTIONS]                     run the service (same as veil-cas; see veil cas serve --help)\n"
            "  keygen --key FILE --cert FILE [--cn NAME]   make an owner key and certificate, print its fingerprint\n"
            "  fingerprint CERT                    print the owner fingerprint of a certificate\n"
            "  policy apply -f FILE [--replaces HASH]\n"
            "  policy show NAME [--version N] [--json]\n"
            "  policy history NAME\n"
            "  policy diff NAME [FROM [TO]]        unified diff between versions (default: previous and current)\n"
            "  volume show NAME\n"
            "  volume accept NAME VOLUME VERSION   accept a volume version explicitly (e.g. a restored backup)\n"
            "  audit NAME [--since SEQ]            the audit entries of a policy\n"
            "  audit --verify [--expect SEQ:HASH]  verify the whole audit chain (and that it still holds an entry\n"
            "                                      recorded earlier: detects truncation and rollback)\n\n"
            "client options (or environment): --cas HOST:PORT ($VEIL_CAS), --cas-cert FILE ($VEIL_CAS_CERT),\n"
            "  --cert FILE ($VEIL_CAS_OWNER_CERT), --key FILE ($VEIL_CAS_OWNER_KEY)\n");
}

struct client_opts {
    const char *cas, *cas_cert, *cert, *key;
};

static int open_client(const struct client_opts *o, struct veil_cas_client **ret) {
    const char *cas = o->cas ? o->cas : getenv("VEIL_CAS");
    const char *cas_cert = o->cas_cert ? o->cas_cert : getenv("VEIL_CAS_CERT");
    const char *cert_path = o->cert ? o->cert : getenv("VEIL_CAS_OWNER_CERT");
    const char *key_path = o->key ? o->key : getenv("VEIL_CAS_OWNER_KEY");
    if (!cas || !cas_cert || !cert_path || !key_path)
        return veil_err(-EINVAL, "need --cas, --cas-cert, --cert and --key (or VEIL_CAS, VEIL_CAS_CERT, "
                                 "VEIL_CAS_OWNER_CERT, VEIL_CAS_OWNER_KEY)");
    _cleanup_free_ char *host = NULL;
    uint16_t port;
    int r = veil_cas_parse_address(cas, &host, &port);
    if (r < 0) return r;
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    if ((r = veil_key_load_private_pem(key_path, &key)) < 0) return r;
    _cleanup_(veil_bio_freep) BIO *in = BIO_new_file(cert_path, "r");
    _cleanup_(veil_x509_freep) X509 *cert = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    if (!cert) return veil_ossl_err(-EINVAL, "reading the owner certificate");
    return veil_cas_client_new(host, port, cas_cert, key, cert, ret);
}

/* Send a request; on an HTTP error print the service's reason and return -EIO-ish codes. */
static int call(const struct client_opts *o, const char *method, const char *path, json_t *body, json_t **ret) {
    _cleanup_(veil_cas_client_freep) struct veil_cas_client *c = NULL;
    int r = open_client(o, &c);
    if (r < 0) return r;
    _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text) return -ENOMEM;
    int status;
    _cleanup_secbuf_ struct veil_secbuf *resp = NULL;
    if ((r = veil_cas_client_request(c, method, path, text, text ? strlen(text) : 0, &status, &resp)) < 0) return r;
    json_error_t e;
    json_t *j = json_loadb((const char *)resp->data, resp->size, 0, &e);
    if (status != 200) {
        const char *err = j ? json_string_value(json_object_get(j, "error")) : NULL;
        const char *reason = j ? json_string_value(json_object_get(j, "reason")) : NULL;
        r = veil_err(status == 403 ? -EPERM : status == 409 ? -ESTALE : status == 404 ? -ENOENT : -EIO,
                     "service answered %d: %s%s%s", status, err ? err : "error", reason ? ": " : "", reason ? reason : "");
        json_decref(j);
        return r;
    }
    if (!j) return veil_err(-EBADMSG, "service sent invalid JSON: %s", e.text);
    *ret = j;
    return 0;
}

static int fail(int r, const char *what) {
    veil_log_errno(r, "%s", what);
    return 1;
}

static int cmd_keygen(int argc, char **argv) {
    static const struct option options[] = {
        { "key", required_argument, NULL, 'k' }, { "cert", required_argument, NULL, 'c' },
        { "cn", required_argument, NULL, 'n' },  {},
    };
    const char *key_path = NULL, *cert_path = NULL, *cn = "veil-cas owner";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
        if (c == 'k') key_path = optarg;
        else if (c == 'c') cert_path = optarg;
        else if (c == 'n') cn = optarg;
        else return 2;
    }
    if (!key_path || !cert_path) {
        usage(stderr);
        return 2;
    }
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    _cleanup_(veil_x509_freep) X509 *cert = NULL;
    int r = veil_cas_self_signed(cn, 3650, &key, &cert);
    if (r >= 0) r = veil_key_save_private_pem(key, key_path);
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new(BIO_s_mem());
    if (r >= 0 && (!bio || !PEM_write_bio_X509(bio, cert))) r = -ENOMEM;
    if (r >= 0) {
        char *pem;
        long n = BIO_get_mem_data(bio, &pem);
        r = veil_write_file_atomic(cert_path, pem, (size_t)n, 0644);
    }
    uint8_t id[32];
    if (r >= 0) r = veil_cas_cert_key_id(cert, id);
    if (r < 0) return fail(r, "keygen");
    char hex[65];
    veil_hex_encode(id, 32, hex);
    printf("sha256:%s\n", hex);
    return 0;
}

static int cmd_fingerprint(int argc, char **argv) {
    if (argc != 2) {
        usage(stderr);
        return 2;
    }
    _cleanup_(veil_bio_freep) BIO *in = BIO_new_file(argv[1], "r");
    _cleanup_(veil_x509_freep) X509 *cert = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    if (!cert) return fail(veil_ossl_err(-EINVAL, argv[1]), "fingerprint");
    uint8_t id[32];
    int r = veil_cas_cert_key_id(cert, id);
    if (r < 0) return fail(r, "fingerprint");
    char hex[65];
    veil_hex_encode(id, 32, hex);
    printf("sha256:%s\n", hex);
    return 0;
}

/* Client options common to the remote commands; returns the index of the first positional argument. */
static int parse_client(int argc, char **argv, struct client_opts *o, const char **file, const char **replaces,
                        long long *number, bool *flag, const char *flag_name, const char **expect) {
    static struct option options[] = {
        { "cas", required_argument, NULL, 'a' },      { "cas-cert", required_argument, NULL, 'C' },
        { "cert", required_argument, NULL, 'c' },     { "key", required_argument, NULL, 'k' },
        { "file", required_argument, NULL, 'f' },     { "replaces", required_argument, NULL, 'R' },
        { "version", required_argument, NULL, 'V' },  { "since", required_argument, NULL, 'V' },
        { "flag", no_argument, NULL, 'F' },           { "expect", required_argument, NULL, 'E' },
        {},
    };
    options[8].name = flag_name ? flag_name : "flag";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:", options, NULL)) >= 0) {
        switch (c) {
        case 'a': o->cas = optarg; break;
        case 'C': o->cas_cert = optarg; break;
        case 'c': o->cert = optarg; break;
        case 'k': o->key = optarg; break;
        case 'f': if (file) *file = optarg; else return -1; break;
        case 'R': if (replaces) *replaces = optarg; else return -1; break;
        case 'V':
            if (!number || sscanf(optarg, "%lld", number) != 1 || *number < 0) return -1;
            break;
        case 'F': if (flag) *flag = true; else return -1; break;
        case 'E': if (expect) *expect = optarg; else return -1; break;
        default: return -1;
        }
    }
    return optind;
}

static int policy_apply(int argc, char **argv) {
    struct client_opts o = { 0 };
    const char *file = NULL, *replaces = NULL;
    int i = parse_client(argc, argv, &o, &file, &replaces, NULL, NULL, NULL, NULL);
    if (i < 0 || i != argc || !file) {
        usage(stderr);
        return 2;
    }
    uint8_t *data;
    size_t size;
    int r = veil_read_file(file, VEIL_CAS_POLICY_MAX_SIZE, &data, &size);
    if (r < 0) return fail(veil_err(r, "cannot read %s", file), "policy apply");
    /* check locally first: the same parser, so errors carry line numbers before anything is sent */
    struct veil_cas_policy *p = NULL;
    veil_err_clear();
    r = veil_cas_policy_parse(data, size, &p);
    veil_cas_policy_free(p);
    if (r < 0) {
        veil_log_error("%s: %s", file, veil_err_msg());
        free(data);
        return 1;
    }
    json_t *body = json_pack("{s:s%,s:s?}", "policy", (const char *)data, size, "replaces", replaces);
    veil_wipe(data, size);
    free(data);
    json_t *resp = NULL;
    veil_err_clear();
    r = body ? call(&o, "POST", "/v1/policies", body, &resp) : -ENOMEM;
    json_decref(body);
    if (r < 0) return fail(r, "policy apply");
    printf("version %lld\nhash %s\n", (long long)json_integer_value(json_object_get(resp, "version")),
           json_string_value(json_object_get(resp, "hash")));
    json_decref(resp);
    return 0;
}

static int get_version(const struct client_opts *o, const char *name, long long version, json_t **ret) {
    char path[160];
    if (version > 0) snprintf(path, sizeof(path), "/v1/policies/%s/versions/%lld", name, version);
    else snprintf(path, sizeof(path), "/v1/policies/%s", name);
    return call(o, "GET", path, NULL, ret);
}

static int policy_show(int argc, char **argv) {
    struct client_opts o = { 0 };
    long long version = 0;
    bool as_json = false;
    int i = parse_client(argc, argv, &o, NULL, NULL, &version, &as_json, "json", NULL);
    if (i < 0 || i + 1 != argc) {
        usage(stderr);
        return 2;
    }
    json_t *j;
    int r = get_version(&o, argv[i], version, &j);
    if (r < 0) return fail(r, "policy show");
    if (as_json) {
        char *t = json_dumps(j, JSON_INDENT(2));
        if (t) puts(t);
        free(t);
    } else {
        fprintf(stderr, "# %s version %lld hash %s\n", argv[i], (long long)json_integer_value(json_object_get(j, "version")),
                json_string_value(json_object_get(j, "hash")));
        fputs(json_string_value(json_object_get(j, "policy")), stdout);
    }
    json_decref(j);
    return 0;
}

static int policy_history(int argc, char **argv) {
    struct client_opts o = { 0 };
    int i = parse_client(argc, argv, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    if (i < 0 || i + 1 != argc) {
        usage(stderr);
        return 2;
    }
    char path[160];
    snprintf(path, sizeof(path), "/v1/policies/%s/history", argv[i]);
    json_t *j;
    int r = call(&o, "GET", path, NULL, &j);
    if (r < 0) return fail(r, "policy history");
    printf("%-8s %-64s %-20s %s\n", "VERSION", "HASH", "TIME", "APPLIED BY");
    size_t k;
    json_t *v;
    json_array_foreach(json_object_get(j, "versions"), k, v) {
        time_t t = (time_t)json_integer_value(json_object_get(v, "time"));
        char when[32];
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        printf("%-8lld %-64s %-20s %.16s…\n", (long long)json_integer_value(json_object_get(v, "version")),
               json_string_value(json_object_get(v, "hash")), when, json_string_value(json_object_get(v, "applied_by")));
    }
    json_decref(j);
    return 0;
}

/* Policy texts can hold imported secret values: they go to diff through memory files, never to disk. */
static int memfd_with(const char *name, const char *text) {
    int fd = memfd_create(name, 0);
    if (fd < 0) return -errno;
    if (veil_write_all(fd, text, strlen(text)) < 0) {
        close(fd);
        return -EIO;
    }
    return fd;
}

static int policy_diff(int argc, char **argv) {
    struct client_opts o = { 0 };
    int i = parse_client(argc, argv, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    if (i < 0 || i + 1 > argc || argc - i > 3) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[i];
    json_t *cur = NULL, *a = NULL, *b = NULL;
    long long from = argc - i >= 2 ? atoll(argv[i + 1]) : 0, to = argc - i == 3 ? atoll(argv[i + 2]) : 0;
    int r = get_version(&o, name, to, &cur);
    if (r < 0) return fail(r, "policy diff");
    long long to_v = json_integer_value(json_object_get(cur, "version"));
    if (!from) from = to_v > 1 ? to_v - 1 : to_v;
    b = cur;
    if ((r = get_version(&o, name, from, &a)) < 0) {
        json_decref(b);
        return fail(r, "policy diff");
    }
    int fa = memfd_with("from", json_string_value(json_object_get(a, "policy")));
    int fb = memfd_with("to", json_string_value(json_object_get(b, "policy")));
    char la[96], lb[96], pa[64], pb[64];
    snprintf(la, sizeof(la), "%s version %lld", name, from);
    snprintf(lb, sizeof(lb), "%s version %lld", name, to_v);
    json_decref(a);
    json_decref(b);
    if (fa < 0 || fb < 0) return fail(-EIO, "policy diff");
    snprintf(pa, sizeof(pa), "/proc/self/fd/%d", fa);
    snprintf(pb, sizeof(pb), "/proc/self/fd/%d", fb);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("diff", "diff", "-u", "--label", la, "--label", lb, pa, pb, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return fail(-errno, "policy diff");
    close(fa);
    close(fb);
    /* like diff: 0 same, 1 different, 2 trouble */
    return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

static int cmd_policy(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "apply")) return policy_apply(argc - 1, argv + 1);
    if (!strcmp(argv[1], "show")) return policy_show(argc - 1, argv + 1);
    if (!strcmp(argv[1], "history")) return policy_history(argc - 1, argv + 1);
    if (!strcmp(argv[1], "diff")) return policy_diff(argc - 1, argv + 1);
    usage(stderr);
    return 2;
}

static int cmd_volume(int argc, char **argv) {
    struct client_opts o = { 0 };
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    bool accept = !strcmp(argv[1], "accept");
    if (!accept && strcmp(argv[1], "show")) {
        usage(stderr);
        return 2;
    }
    int i = parse_client(argc - 1, argv + 1, &o, NULL, NULL, NULL, NULL, NULL, NULL);
    int n = argc - 1 - i;
    char **pos = argv + 1 + i;
    if (i < 0 || n != (accept ? 3 : 1)) {
        usage(stderr);
        return 2;
    }
    char path[256];
    json_t *j = NULL, *body = NULL;
    int r;
    if (accept) {
        snprintf(path, sizeof(path), "/v1/policies/%s/volumes/%s/accept", pos[0], pos[1]);
        body = json_pack("{s:I}", "version", (json_int_t)atoll(pos[2]));
        r = body ? call(&o, "POST", path, body, &j) : -ENOMEM;
        json_decref(body);
    } else {
        snprintf(path, sizeof(path), "/v1/policies/%s/volumes", pos[0]);
        r = call(&o, "GET", path, NULL, &j);
    }
    if (r < 0) return fail(r, accept ? "volume accept" : "volume show");
    if (accept) printf("volume %s accepted at version %s\n", pos[1], pos[2]);
    else {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(j, "volumes"), k, v) printf("%s %lld\n", k, (long long)json_integer_value(v));
    }
    json_decref(j);
    return 0;
}

static int cmd_audit(int argc, char **argv) {
    struct client_opts o = { 0 };
    long long since = 0;
    bool verify = false;
    const char *expect = NULL;
    int i = parse_client(argc, argv, &o, NULL, NULL, &since, &verify, "verify", &expect);
    if (i < 0 || (verify ? i != argc : i + 1 != argc) || (expect && !verify)) {
        usage(stderr);
        return 2;
    }
    json_t *j;
    int r;
    char path[200];
    if (verify) {
        long long at = 0;
        if (expect && (sscanf(expect, "%lld:", &at) != 1 || at <= 0)) {
            veil_log_error("--expect takes SEQ:HASH as printed by an earlier audit --verify");
            return 2;
        }
        snprintf(path, sizeof(path), at ? "/v1/audit/verify?at=%lld" : "/v1/audit/verify", at);
        if ((r = call(&o, "GET", path, NULL, &j)) < 0) return fail(r, "audit --verify");
        bool ok = json_is_true(json_object_get(j, "ok"));
        if (!ok) {
            printf("audit chain BROKEN at entry %lld: %s\n", (long long)json_integer_value(json_object_get(j, "bad_seq")),
                   json_string_value(json_object_get(j, "reason")));
            json_decref(j);
            return 1;
        }
        printf("audit chain intact: %lld entries, head %s\n", (long long)json_integer_value(json_object_get(j, "entries")),
               json_string_value(json_object_get(j, "head")) ? json_string_value(json_object_get(j, "head")) : "-");
        if (expect) {
            const char *found = json_string_value(json_object_get(j, "at"));
            if (!found || strcmp(found, expect)) {
                printf("audit log does NOT hold the recorded entry %s (now %s): truncated or rolled back\n", expect,
                       found ? found : "missing");
                ok = false;
            } else
                printf("recorded entry %s still in the chain\n", expect);
        }
        json_decref(j);
        return ok ? 0 : 1;
    }
    snprintf(path, sizeof(path), "/v1/audit?policy=%s&since=%lld", argv[i], since);
    if ((r = call(&o, "GET", path, NULL, &j)) < 0) return fail(r, "audit");
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(j, "entries"), k, e) {
        time_t t = (time_t)json_integer_value(json_object_get(e, "time"));
        char when[32];
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        char *detail = json_dumps(json_object_get(e, "detail"), JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%lld %s %s %.16s %s\n", (long long)json_integer_value(json_object_get(e, "seq")), when,
               json_string_value(json_object_get(e, "kind")), json_string_value(json_object_get(e, "subject")),
               detail ? detail : "");
        free(detail);
    }
    json_decref(j);
    return 0;
}

int veil_cmd_cas(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    veil_err_clear();
    const char *sub = argv[1];
    if (!strcmp(sub, "serve")) return veil_cas_serve_main(argc - 1, argv + 1);
    if (!strcmp(sub, "keygen")) return cmd_keygen(argc - 1, argv + 1);
    if (!strcmp(sub, "fingerprint")) return cmd_fingerprint(argc - 1, argv + 1);
    if (!strcmp(sub, "policy")) return cmd_policy(argc - 1, argv + 1);
    if (!strcmp(sub, "volume")) return cmd_volume(argc - 1, argv + 1);
    if (!strcmp(sub, "audit")) return cmd_audit(argc - 1, argv + 1);
    veil_log_error("unknown cas command '%s' (see veil cas --help)", sub);
    return 2;
}
