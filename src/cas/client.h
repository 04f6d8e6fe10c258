/* SPDX-License-Identifier: Apache-2.0 */
/* A small HTTPS client for the veil-cas API (CLI, tests, benchmark): TLS 1.3, pinned server certificate. */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "base/macro.h"
#include "base/secbuf.h"

struct veil_cas_client;

/*
 * server_cert: the service's certificate (PEM file), whose KEY is pinned (the service keeps
 * its key across restarts and renews its certificate); NULL when the service is verified
 * by RA-TLS instead (veil_cas_client_expect_ratls).
 * key/cert: the client's identity (an owner certificate or a workload's RA-TLS
 * certificate); NULL for none. The client takes references, the caller keeps its own.
 */
int veil_cas_client_new(const char *host, uint16_t port, const char *server_cert, EVP_PKEY *key, X509 *cert,
                        struct veil_cas_client **ret) _warn_unused_;
void veil_cas_client_free(struct veil_cas_client *c);

/* Verify the service by its RA-TLS certificate: evidence, key binding and v's policy
 * (e.g. the expected service measurement). Replaces the key pin for this client. */
struct veil_ratls_verifier;
int veil_cas_client_expect_ratls(struct veil_cas_client *c, const struct veil_ratls_verifier *v) _warn_unused_;
VEIL_DEFINE_CLEANUP(struct veil_cas_client *, veil_cas_client_free, veil_cas_client_freep)

/* One request on a fresh connection (a full TLS handshake). The body is NUL-terminated
 * one byte past its size, and kept in a secret buffer (it may carry secrets). */
int veil_cas_client_request(struct veil_cas_client *c, const char *method, const char *path, const void *body,
                            size_t body_size, int *ret_status, struct veil_secbuf **ret_body) _warn_unused_;

/* "host:port" into its parts. */
int veil_cas_parse_address(const char *text, char **ret_host, uint16_t *ret_port) _warn_unused_;
