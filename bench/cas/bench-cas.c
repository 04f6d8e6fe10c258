/* SPDX-License-Identifier: Apache-2.0 */
/* Load generator for veil-cas: concurrent workloads, each request a fresh TLS 1.3 connection;
 * prints requests per second and p50/p99 latency. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/fileio.h"
#include "cas/client.h"
#include "crypto/ossl.h"
#include "ratls/ratls.h"

struct job {
    struct veil_cas_client *client;
    const char *path;
    const char *body;
    double deadline;
    double *lat;
    size_t count, cap;
    size_t errors;
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg) {
    struct job *j = arg;
    while (now() < j->deadline && j->count < j->cap) {
        double t0 = now();
        int status;
        struct veil_secbuf *resp = NULL;
        int r = veil_cas_client_request(j->client, j->body ? "POST" : "GET", j->path, j->body,
                                        j->body ? strlen(j->body) : 0, &status, &resp);
        veil_secbuf_free(resp);
        if (r < 0 || status != 200) {
            j->errors++;
            continue;
        }
        j->lat[j->count++] = now() - t0;
    }
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *cas = NULL, *cas_cert = NULL, *sim_dir = NULL, *measurement = NULL, *label = "attest";
    const char *policy = "bench", *service = "web";
    unsigned clients = 4;
    double seconds = 3;
    bool healthz = false;
    static const struct option options[] = {
        { "cas", required_argument, NULL, 'a' },     { "cas-cert", required_argument, NULL, 'C' },
        { "sim-dir", required_argument, NULL, 'd' }, { "measurement", required_argument, NULL, 'm' },
        { "clients", required_argument, NULL, 'c' }, { "seconds", required_argument, NULL, 's' },
        { "healthz", no_argument, NULL, 'H' },       { "label", required_argument, NULL, 'l' },
        {},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
        switch (c) {
        case 'a': cas = optarg; break;
        case 'C': cas_cert = optarg; break;
        case 'd': sim_dir = optarg; break;
        case 'm': measurement = optarg; break;
        case 'c': clients = (unsigned)atoi(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'H': healthz = true; break;
        case 'l': label = optarg; break;
        default: return 2;
        }
    }
    if (!cas || !cas_cert || clients == 0 || clients > 256 || (!healthz && (!sim_dir || !measurement))) return 2;
    _cleanup_free_ char *host = NULL;
    uint16_t port;
    if (veil_cas_parse_address(cas, &host, &port) < 0) return 2;
    struct veil_sim_claims claims = { 0 };
    if (measurement && veil_hex_decode(measurement, claims.measurement, 32) < 0) return 2;
    _cleanup_(veil_sim_platform_freep) struct veil_sim_platform *platform = NULL;
    if (!healthz && veil_sim_platform_open(sim_dir, true, &platform) < 0) return 1;

    char body[256];
    snprintf(body, sizeof(body), "{\"policy\":\"%s\",\"service\":\"%s\",\"volumes\":{}}", policy, service);
    struct job *jobs = calloc(clients, sizeof(*jobs));
    pthread_t *threads = calloc(clients, sizeof(*threads));
    double deadline = now() + seconds;
    for (unsigned i = 0; i < clients; i++) {
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        /* each workload has its own RA-TLS key and certificate, made once at its start (as veil-run does) */
        if (!healthz && veil_ratls_create_sim(platform, &claims, NULL, &key, &cert) < 0) return 1;
        if (veil_cas_client_new(host, port, cas_cert, key, cert, &jobs[i].client) < 0) return 1;
        EVP_PKEY_free(key);
        X509_free(cert);
        jobs[i].path = healthz ? "/healthz" : "/v1/attest";
        jobs[i].body = healthz ? NULL : body;
        jobs[i].deadline = deadline;
        jobs[i].cap = 1000000;
        jobs[i].lat = malloc(jobs[i].cap * sizeof(double));
    }
    double t0 = now();
    for (unsigned i = 0; i < clients; i++) pthread_create(&threads[i], NULL, run, &jobs[i]);
    size_t total = 0, errors = 0;
    for (unsigned i = 0; i < clients; i++) {
        pthread_join(threads[i], NULL);
        total += jobs[i].count;
        errors += jobs[i].errors;
    }
    double elapsed = now() - t0;
    double *all = malloc((total ? total : 1) * sizeof(double));
    size_t k = 0;
    for (unsigned i = 0; i < clients; i++) {
        memcpy(all + k, jobs[i].lat, jobs[i].count * sizeof(double));
        k += jobs[i].count;
        free(jobs[i].lat);
        veil_cas_client_free(jobs[i].client);
    }
    qsort(all, total, sizeof(double), cmp);
    double p50 = total ? all[total / 2] : 0, p99 = total ? all[(size_t)((double)total * 0.99)] : 0;
    printf("%-8s clients=%-3u requests=%-6zu errors=%-3zu per_second=%.1f p50_ms=%.2f p99_ms=%.2f\n", label, clients,
           total, errors, (double)total / elapsed, p50 * 1e3, p99 * 1e3);
    free(all);
    free(jobs);
    free(threads);
    return errors ? 1 : 0;
}
