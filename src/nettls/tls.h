/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to nettls: the proxy's TLS contexts and connections. */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>

#include "base/macro.h"
#include "nettls.h"

/* Server and client contexts (TLS 1.3 only) presenting the same certificate and trusting the policy CA. */
int nettls_tls_contexts(const uint8_t *cert_pem, size_t cert_size, const uint8_t *key_pem, size_t key_size,
                        const uint8_t *ca_pem, size_t ca_size, SSL_CTX **ret_server, SSL_CTX **ret_client) _warn_unused_;
/* A server connection; require_client: the client must present a certificate chaining to the policy CA. */
SSL *nettls_tls_new_server(SSL_CTX *ctx, int fd, bool require_client);
/* A client connection that verifies the server's chain and that its certificate names `service`. */
SSL *nettls_tls_new_client(SSL_CTX *ctx, int fd, const char *service);
