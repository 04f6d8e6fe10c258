/* SPDX-License-Identifier: Apache-2.0 */
/* Test workload for veil-cas: presents a sim RA-TLS certificate, attests or reports a volume, prints the reply.
 * It plays the part veil-run will play (docs/cas.md, "workload protocol"). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "cas/client.h"
#include "crypto/ossl.h"
#include "ratls/ratls.h"

static int hex32(const char *s, uint8_t out[32]) {
    return strlen(s) == 64 ? veil_hex_decode(s, out, 32) : -EINVAL;
}

int main(int argc, char **argv) {
    static const struct option options[] = {
        { "cas", required_argument, NULL, 'a' },       { "cas-cert", required_argument, NULL, 'C' },
        { "sim-dir", required_argument, NULL, 'd' },   { "measurement", required_argument, NULL, 'm' },
        { "signer", required_argument, NULL, 's' },    { "product-id", required_argument, NULL, 'p' },
        { "svn", required_argument, NULL, 'v' },       { "policy", required_argument, NULL, 'P' },
        { "service", required_argument, NULL, 'S' },   { "volume", required_argument, NULL, 'V' },
        { "report", required_argument, NULL, 'R' },    { "no-cert", no_argument, NULL, 'n' },       { "get", required_argument, NULL, 'G' },
        { "cas-measurement", required_argument, NULL, 'M' },
        {},
    };
    const char *cas_measurement = NULL, *get = NULL, *cas = NULL, *cas_cert = NULL, *sim_dir = NULL, *policy = NULL, *service = NULL, *report = NULL;
    struct veil_sim_claims claims = { 0 };
    bool no_cert = false;
    char volumes[2048] = "";
    size_t vlen = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
        switch (c) {
        case 'a': cas = optarg; break;
        case 'C': cas_cert = optarg; break;
        case 'd': sim_dir = optarg; break;
        case 'm': if (hex32(optarg, claims.measurement) < 0) return 2; break;
        case 's': if (hex32(optarg, claims.signer) < 0) return 2; break;
        case 'p': claims.product_id = (uint32_t)atoi(optarg); break;
        case 'v': claims.security_version = (uint32_t)atoi(optarg); break;
        case 'P': policy = optarg; break;
        case 'S': service = optarg; break;
        case 'n': no_cert = true; break;
        case 'R': report = optarg; break;
        case 'G': get = optarg; break;
        case 'M': cas_measurement = optarg; break;
        case 'V': {
            const char *eq = strchr(optarg, '=');
            if (!eq) return 2;
            vlen += (size_t)snprintf(volumes + vlen, sizeof(volumes) - vlen, "%s\"%.*s\":%s", vlen ? "," : "",
                                     (int)(eq - optarg), optarg, eq + 1);
            break;
        }
        default: return 2;
        }
    }
    if (!cas || (!cas_cert && !cas_measurement) || (!get && (!policy || !service))) {
        fprintf(stderr, "usage: cas-workload --cas H:P --cas-cert F --sim-dir D --measurement HEX --policy P "
                        "--service S [--volume NAME=VER]... [--report NAME=VER]\n");
        return 2;
    }
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    _cleanup_(veil_x509_freep) X509 *cert = NULL;
    int r = 0;
    _cleanup_(veil_sim_platform_freep) struct veil_sim_platform *platform = NULL;
    if (!no_cert || cas_measurement) {
        r = veil_sim_platform_open(sim_dir, true, &platform);
        if (r >= 0 && !no_cert) r = veil_ratls_create_sim(platform, &claims, NULL, &key, &cert);
        if (r < 0) {
            fprintf(stderr, "cas-workload: %s\n", veil_err_describe(r));
            return 1;
        }
    }
    _cleanup_free_ char *host = NULL;
    uint16_t port;
    _cleanup_(veil_cas_client_freep) struct veil_cas_client *client = NULL;
    if ((r = veil_cas_parse_address(cas, &host, &port)) < 0 ||
        (r = veil_cas_client_new(host, port, cas_cert, key, cert, &client)) < 0) {
        fprintf(stderr, "cas-workload: %s\n", veil_err_describe(r));
        return 1;
    }
    if (cas_measurement) {
        /* verify the service by its RA-TLS identity: sim evidence from this platform, this measurement */
        struct veil_ratls_verifier v = { 0 };
        veil_policy_init(&v.policy);
        v.policy.allowed_tees = VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM);
        v.policy.measurements_count = 1;
        v.policy.measurements[0].size = 32;
        if (hex32(cas_measurement, v.policy.measurements[0].data) < 0) return 2;
        v.verify.sim_roots = &platform->root;
        v.verify.sim_roots_count = 1;
        if ((r = veil_cas_client_expect_ratls(client, &v)) < 0) {
            fprintf(stderr, "cas-workload: %s\n", veil_err_describe(r));
            return 1;
        }
    }
    char body[4096] = "";
    const char *path = "/v1/attest";
    if (get) {
    } else if (report) {
        const char *eq = strchr(report, '=');
        if (!eq) return 2;
        snprintf(body, sizeof(body), "{\"policy\":\"%s\",\"service\":\"%s\",\"volume\":\"%.*s\",\"version\":%s}", policy,
                 service, (int)(eq - report), report, eq + 1);
        path = "/v1/volumes";
    } else
        snprintf(body, sizeof(body), "{\"policy\":\"%s\",\"service\":\"%s\",\"volumes\":{%s}}", policy, service, volumes);
    int status;
    _cleanup_secbuf_ struct veil_secbuf *resp = NULL;
    if ((r = get ? veil_cas_client_request(client, "GET", get, NULL, 0, &status, &resp)
                 : veil_cas_client_request(client, "POST", path, body, strlen(body), &status, &resp)) < 0) {
        fprintf(stderr, "cas-workload: %s\n", veil_err_describe(r));
        return 1;
    }
    fwrite(resp->data, 1, resp->size, stdout);
    printf("status %d\n", status);
    return status == 200 ? 0 : 1;
}
