/* SPDX-License-Identifier: Apache-2.0 */
/* Transparent attested TLS for a supervised application: network rules, TLS identity, and the proxy (docs/nettls.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/macro.h"

#define VEIL_NETTLS_RULES_MAX_SIZE ((size_t)64 << 10) /* the rules file */
#define VEIL_NETTLS_RULES_MAX_COUNT 64                /* listen + connect lines */
#define VEIL_NETTLS_HOST_MAX 253                      /* a DNS name or an address literal */
#define VEIL_NETTLS_SERVICE_MAX 253                   /* a service name is a DNS name in the peer's certificate */
#define VEIL_NETTLS_ADDRESSES_MAX 16                  /* resolved addresses of one destination */
#define VEIL_NETTLS_PEM_MAX_SIZE ((size_t)256 << 10)  /* a certificate chain, key or CA file */

/* An inbound port served through attested TLS. */
struct veil_nettls_listen {
    uint16_t port;
    bool require_client; /* the client must present a certificate from the same policy CA */
};

/* An outbound destination reached through attested TLS, and the name its certificate must carry. */
struct veil_nettls_connect {
    char host[VEIL_NETTLS_HOST_MAX + 1];
    uint16_t port;
    char service[VEIL_NETTLS_SERVICE_MAX + 1];
    struct sockaddr_storage addresses[VEIL_NETTLS_ADDRESSES_MAX]; /* filled by veil_nettls_rules_resolve */
    size_t address_count;
};

struct veil_nettls_rules {
    struct veil_nettls_listen listen[VEIL_NETTLS_RULES_MAX_COUNT];
    size_t listen_count;
    struct veil_nettls_connect connect[VEIL_NETTLS_RULES_MAX_COUNT];
    size_t connect_count;
};

/*
 * Parse the rules text (untrusted until the manifest's digest was checked; fuzzed):
 *   # comment
 *   listen PORT [require-client]
 *   connect HOST:PORT SERVICE        HOST: IPv4, [IPv6] or a DNS name
 */
int veil_nettls_rules_parse(const uint8_t *data, size_t size, struct veil_nettls_rules **ret) _warn_unused_;
/* Resolve every connect rule's host into addresses (literals without DNS); -EHOSTUNREACH names the host. */
int veil_nettls_rules_resolve(struct veil_nettls_rules *rules) _warn_unused_;
const struct veil_nettls_listen *veil_nettls_rules_find_listen(const struct veil_nettls_rules *rules, uint16_t port);
/* The rule whose destination is this address (IPv4-mapped IPv6 matches IPv4), or NULL. */
const struct veil_nettls_connect *veil_nettls_rules_find_connect(const struct veil_nettls_rules *rules,
                                                                 const struct sockaddr *sa, socklen_t size);

/* ---- the proxy ---- */

struct veil_nettls;

/*
 * Take the rules and a TLS identity in PEM: our certificate chain (leaf first),
 * its private key, and the policy CA that peers' certificates must chain to.
 * Starts the proxy thread. The PEM buffers may be wiped by the caller afterwards.
 */
int veil_nettls_new(struct veil_nettls_rules *rules, const uint8_t *cert_pem, size_t cert_size,
                    const uint8_t *key_pem, size_t key_size, const uint8_t *ca_pem, size_t ca_size,
                    struct veil_nettls **ret) _warn_unused_;
const struct veil_nettls_rules *veil_nettls_rules(const struct veil_nettls *n);

/*
 * Inbound: listen on `public_addr` (the address the application asked for) and
 * serve each verified TLS connection by a plain connection to `app_addr` (the
 * loopback address the application's socket was bound to instead).
 */
int veil_nettls_serve(struct veil_nettls *n, const struct veil_nettls_listen *rule, const struct sockaddr *public_addr,
                      socklen_t public_size, int v6only, const struct sockaddr *app_addr, socklen_t app_size) _warn_unused_;

/*
 * Outbound: open attested TLS to `dest` (checking the certificate names the
 * rule's service), then relay `plain_fd` (taken) through it. `done` is called
 * once, from the proxy thread, with 0 when the connection is verified and
 * relaying, or a negative errno (the connection is already gone then).
 */
int veil_nettls_connect(struct veil_nettls *n, const struct veil_nettls_connect *rule, const struct sockaddr *dest,
                        socklen_t dest_size, int plain_fd, void (*done)(void *ctx, int err), void *ctx) _warn_unused_;

/* Two connected TCP sockets over loopback of `family` (close-on-exec, blocking); ret[0] connected to ret[1]. */
int veil_nettls_loopback_pair(int family, int ret[2]) _warn_unused_;
