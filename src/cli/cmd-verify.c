/* SPDX-License-Identifier: Apache-2.0 */
/* `veil verify`: verify an evidence file, check it against a policy, print the claims. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "command.h"
#include "evidence/collateral-x509.h"
#include "evidence/evidence.h"

static void verify_usage(FILE *out) {
    fprintf(out,
            "usage: veil verify FILE [--policy P] [--allow-sim] [--json]\n"
            "  --policy P           JSON policy (docs/evidence.md); default: any hardware TEE, no debug\n"
            "  --allow-sim          accept the sim TEE (no memory protection: development only)\n"
            "  --sim-root PEM       trusted sim root (default: the local sim platform's)\n"
            "  --trust-dir DIR      pinned hardware roots; --collateral-dir DIR  collateral files\n"
            "  --now UNIX-SECONDS   verification time (default: now)\n"
            "  --collateral DIR     same as --collateral-dir; --at YYYY-MM-DDTHH:MM:SSZ  same as --now\n"
            "FILE is a veil evidence envelope, or raw hardware evidence recognised by its bytes:\n"
            "an SNP report, a TDX/SGX quote, an Azure HCL report or vTPM evidence JSON\n"
            "exit status: 0 verified and accepted, 1 refused or invalid, 2 usage\n");
}

static void print_text(const struct veil_claims *claims) {
    json_t *j = veil_claims_to_json(claims);
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                char *s = json_dumps(v2, JSON_ENCODE_ANY | JSON_COMPACT);
                printf("%s.%s: %s\n", key, k2, s ? s : "?");
                free(s);
            }
            continue;
        }
        if (json_is_string(v))
            printf("%s: %s\n", key, json_string_value(v));
        else {
            char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            printf("%s: %s\n", key, s ? s : "?");
            free(s);
        }
    }
    json_decref(j);
}

int veil_cmd_verify(int argc, char **argv) {
    static const struct option options[] = {
        { "policy", required_argument, NULL, 'p' },
        { "allow-sim", no_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },
        { "sim-root", required_argument, NULL, 'r' },
        { "trust-dir", required_argument, NULL, 't' },
        { "collateral-dir", required_argument, NULL, 'c' },
        { "now", required_argument, NULL, 'n' },
        { "collateral", required_argument, NULL, 'c' },
        { "at", required_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        {},
    };
    const char *policy_path = NULL;
    bool allow_sim = false, json = false;
    struct veil_verify_options opts = { 0 };
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
        switch (c) {
        case 'p': policy_path = optarg; break;
        case 'S': allow_sim = true; break;
        case 'j': json = true; break;
        case 'r': opts.sim_root_path = optarg; break;
        case 't': opts.trust_dir = optarg; break;
        case 'c': opts.collateral_dir = optarg; break;
        case 'n': {
            char *end;
            long long t = strtoll(optarg, &end, 10);
            if (!*optarg || *end || t <= 0) {
                veil_log_error("--now must be seconds since the epoch");
                return 2;
            }
            opts.now = (time_t)t;
            break;
        }
        case 'a': {
            time_t t;
            if (veil_time_parse(optarg, &t) < 0) {
                veil_log_error("--at: %s", veil_err_msg());
                return 2;
            }
            opts.now = t;
            break;
        }
        case 'h': verify_usage(stdout); return 0;
        default: verify_usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        verify_usage(stderr);
        return 2;
    }
    const char *path = argv[optind];

    struct veil_policy policy;
    veil_policy_init(&policy);
    int r;
    if (policy_path) {
        r = veil_policy_load(policy_path, &policy);
        if (r < 0) {
            veil_log_error("%s", veil_err_describe(r));
            return 2;
        }
    }
    if (allow_sim) policy.allowed_tees |= VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM);

    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    r = veil_read_file(path, VEIL_EVIDENCE_MAX_SIZE, &data, &size);
    if (r < 0) {
        veil_log_error("cannot read %s: %s", path, veil_err_describe(r));
        return 1;
    }
    _cleanup_(veil_claims_freep) struct veil_claims *claims = NULL;
    veil_err_clear();
    r = veil_evidence_verify_policy(data, size, &opts, &policy, &claims);
    char reason[512] = "";
    if (r < 0) snprintf(reason, sizeof(reason), "%s", veil_err_describe(r));

    if (json) {
        json_t *out = json_object();
        json_object_set_new(out, "verified", json_boolean(claims != NULL));
        json_object_set_new(out, "accepted", json_boolean(r >= 0));
        if (claims) json_object_set_new(out, "claims", veil_claims_to_json(claims));
        if (r < 0) json_object_set_new(out, "reason", json_string(reason));
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s) puts(s);
        free(s);
        json_decref(out);
    } else if (claims) {
        print_text(claims);
        printf("verdict: %s\n", r >= 0 ? "accepted" : "refused");
    }
    if (r < 0) {
        veil_log_error("%s: %s", claims || r == -EPERM ? "refused" : "evidence does not verify", reason);
        return 1;
    }
    if (claims->tee == VEIL_TEE_SIM)
        veil_log_warning("accepted sim evidence: it proves nothing about memory protection");
    return 0;
}
