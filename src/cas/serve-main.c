/* SPDX-License-Identifier: Apache-2.0 */
/* Command line of the daemon, shared by `veil-cas` and `veil cas serve`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"
#include "serve-main.h"
#include "server.h"

static void usage(FILE *out, const char *prog) {
    fprintf(out,
            "usage: %s [OPTIONS]\n\n"
            "  --state DIR        state directory (database, sealed master key, TLS identity); required\n"
            "  --listen ADDR      listen address (default 127.0.0.1)\n"
            "  --port N           TCP port (default 8443; 0 = any free port, see --port-file)\n"
            "  --port-file FILE   write the bound port to FILE once ready\n"
            "  --threads N        event loops (default: twice the online CPUs, at least 4)\n"
            "  --cert FILE        TLS certificate (default DIR/tls.crt, created on first start)\n"
            "  --key FILE         TLS private key (default DIR/tls.key)\n"
            "  --seal-root FILE   sim sealing root of the master key (default DIR/sim-seal.key)\n"
            "  --sim-root FILE    accept sim evidence from the sim platform with this root certificate (PEM);\n"
            "                     without it, sim evidence is refused whatever a policy says\n"
            "  --ratls-sim DIR    present an RA-TLS certificate (for the stable key) with evidence from the sim\n"
            "                     platform in DIR, so that workloads can verify the service's measurement\n"
            "  --recovery-cert F  keep the master key also wrapped for this owner certificate's key (EC, X25519)\n"
            "                     in DIR/master.recovery\n"
            "  --recover-with K   the sealing root is lost: recover the master key with that owner's private key\n"
            "                     and seal it under the sealing root (a new one is created)\n",
            prog);
}

int veil_cas_serve_main(int argc, char **argv) {
    static const struct option options[] = {
        { "state", required_argument, NULL, 's' },     { "listen", required_argument, NULL, 'l' },
        { "port", required_argument, NULL, 'p' },      { "port-file", required_argument, NULL, 'P' },
        { "threads", required_argument, NULL, 't' },   { "cert", required_argument, NULL, 'c' },
        { "key", required_argument, NULL, 'k' },       { "seal-root", required_argument, NULL, 'S' },
        { "sim-root", required_argument, NULL, 'r' },  { "help", no_argument, NULL, 'h' },
        { "ratls-sim", required_argument, NULL, 'R' },  { "recovery-cert", required_argument, NULL, 'x' },
        { "recover-with", required_argument, NULL, 'X' },
        {},
    };
    struct veil_cas_server_config cfg = { .port = 8443 };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
        char *end;
        unsigned long v;
        switch (c) {
        case 's': cfg.state_dir = optarg; break;
        case 'l': cfg.address = optarg; break;
        case 'p':
            v = strtoul(optarg, &end, 10);
            if (*end || v > 65535) {
                veil_log_error("bad port '%s'", optarg);
                return 2;
            }
            cfg.port = (uint16_t)v;
            break;
        case 'P': cfg.port_file = optarg; break;
        case 't':
            v = strtoul(optarg, &end, 10);
            if (*end || v == 0 || v > 256) {
                veil_log_error("bad thread count '%s'", optarg);
                return 2;
            }
            cfg.threads = (unsigned)v;
            break;
        case 'c': cfg.cert_path = optarg; break;
        case 'k': cfg.key_path = optarg; break;
        case 'S': cfg.seal_root = optarg; break;
        case 'r': cfg.sim_root = optarg; break;
        case 'R': cfg.ratls_sim_dir = optarg; break;
        case 'x': cfg.recovery_cert = optarg; break;
        case 'X': cfg.recover_with = optarg; break;
        case 'h': usage(stdout, argv[0]); return 0;
        default: usage(stderr, argv[0]); return 2;
        }
    }
    if (!cfg.state_dir || optind != argc) {
        usage(stderr, argv[0]);
        return 2;
    }
    veil_err_clear();
    int r = veil_cas_server_run(&cfg);
    if (r < 0) {
        veil_log_errno(r, "veil-cas");
        return 1;
    }
    return 0;
}
