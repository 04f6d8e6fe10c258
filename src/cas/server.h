/* SPDX-License-Identifier: Apache-2.0 */
/* The veil-cas daemon: TLS 1.3 over libevent's evhttp, one event loop and one SQLite connection per thread. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/macro.h"

struct veil_cas_server_config {
    const char *state_dir;      /* cas.db, master.sealed, tls.crt/tls.key (created on first start) */
    const char *seal_root;      /* sim sealing root (default <state_dir>/sim-seal.key) */
    const char *address;        /* listen address (default 127.0.0.1) */
    uint16_t port;              /* 0: an ephemeral port (written to port_file) */
    const char *port_file;      /* write the bound port here once ready */
    unsigned threads;           /* event loops (default: twice the online CPUs, at least 4) */
    const char *cert_path;      /* TLS identity; default <state_dir>/tls.crt and tls.key */
    const char *key_path;
    const char *sim_root;       /* PEM root of a sim platform whose evidence workloads may present;
                                   NULL: sim evidence is not accepted at all */
    const char *ratls_sim_dir;  /* present an RA-TLS certificate with evidence from this sim platform
                                   (the service's own identity, for workloads to verify) */
    const char *recovery_cert;  /* an owner's certificate (EC or X25519 key): keep the master key
                                   wrapped for it in <state_dir>/master.recovery */
    const char *recover_with;   /* that owner's private key: recover the master key from
                                   master.recovery and seal it under the (new) sealing root */
};

/* Run until SIGINT or SIGTERM. Returns 0 after a clean shutdown. */
int veil_cas_server_run(const struct veil_cas_server_config *cfg) _warn_unused_;
