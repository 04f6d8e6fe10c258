/* SPDX-License-Identifier: Apache-2.0 */
/* One HTTPS request on a fresh TLS connection (libevent's evhttp over bufferevent_openssl), for veil-cas's clients. */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "base/secbuf.h"

/* Where the request goes, and how failures name the peer. */
struct veil_https_target {
    const char *host;          /* connected to, and sent as the Host header */
    uint16_t port;
    bool sni;                  /* also send host as TLS server name indication */
    size_t body_max;           /* refuse replies with a larger body (0: no limit) */
    size_t headers_max;        /* refuse replies with larger headers (0: libevent's default) */
    const char *peer;          /* the peer in error details, e.g. "the service" */
    const char *pin_mismatch;  /* the detail when the peer's key is refused as not the pinned one */
};

/*
 * method is "POST" or (anything else) GET; a non-NULL body is sent as application/json.
 * ctx carries the TLS policy (TLS version, peer verification, our identity); the connection
 * is closed after the reply. The reply body is NUL-terminated one byte past its size and
 * kept in a secret buffer (it may carry secrets). A refused RA-TLS peer or pinned key
 * gives -EACCES with the reason; no reply gives -ECONNREFUSED.
 */
int veil_https_request(SSL_CTX *ctx, const struct veil_https_target *t, const char *method, const char *path,
                       const void *body, size_t body_size, int *ret_status, struct veil_secbuf **ret_body) _warn_unused_;
