/* SPDX-License-Identifier: Apache-2.0 */
/* The network rules of an image: which ports are served, and which destinations are reached, through attested TLS. */
#include "nettls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cursor.h"
#include "base/err.h"

#define LINE_MAX_SIZE 1024
#define WORDS_MAX 4

static bool is_service_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static int parse_port(const char *s, uint16_t *ret) {
    size_t n = strlen(s);
    if (n == 0 || n > 5 || strspn(s, "0123456789") != n) return -EBADMSG;
    unsigned long v = strtoul(s, NULL, 10);
    if (v == 0 || v > 65535) return -EBADMSG;
    *ret = (uint16_t)v;
    return 0;
}

static int parse_listen(char **w, size_t count, size_t line, struct veil_nettls_rules *rs) {
    struct veil_nettls_listen l = { 0 };
    if (count < 2 || count > 3 || parse_port(w[1], &l.port) < 0)
        return veil_err(-EBADMSG, "network rules line %zu: expected 'listen PORT [require-client]'", line);
    if (count == 3) {
        if (strcmp(w[2], "require-client"))
            return veil_err(-EBADMSG, "network rules line %zu: unknown listen option '%.32s'", line, w[2]);
        l.require_client = true;
    }
    if (veil_nettls_rules_find_listen(rs, l.port))
        return veil_err(-EBADMSG, "network rules line %zu: port %u is named twice", line, l.port);
    rs->listen[rs->listen_count++] = l;
    return 0;
}

static int parse_connect(char **w, size_t count, size_t line, struct veil_nettls_rules *rs) {
    struct veil_nettls_connect *c = &rs->connect[rs->connect_count];
    memset(c, 0, sizeof(*c));
    if (count != 3) return veil_err(-EBADMSG, "network rules line %zu: expected 'connect HOST:PORT SERVICE'", line);
    char *colon = strrchr(w[1], ':');
    if (!colon || parse_port(colon + 1, &c->port) < 0)
        return veil_err(-EBADMSG, "network rules line %zu: '%.64s' is not HOST:PORT", line, w[1]);
    *colon = 0;
    char *host = w[1];
    size_t host_size = strlen(host);
    if (host_size >= 2 && host[0] == '[' && host[host_size - 1] == ']') {
        host[host_size - 1] = 0;
        host++;
        host_size -= 2;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return veil_err(-EBADMSG, "network rules line %zu: '%.64s' is not an IPv6 address", line, host);
    } else if (strchr(host, ':'))
        return veil_err(-EBADMSG, "network rules line %zu: write an IPv6 address in brackets", line);
    if (host_size == 0 || host_size > VEIL_NETTLS_HOST_MAX)
        return veil_err(-EBADMSG, "network rules line %zu: bad host", line);
    for (size_t i = 0; i < host_size; i++)
        if (!is_service_char(host[i]) && host[i] != ':')
            return veil_err(-EBADMSG, "network rules line %zu: bad character in the host", line);
    size_t service_size = strlen(w[2]);
    if (service_size == 0 || service_size > VEIL_NETTLS_SERVICE_MAX)
        return veil_err(-EBADMSG, "network rules line %zu: bad service name", line);
    for (size_t i = 0; i < service_size; i++)
        if (!is_service_char(w[2][i]))
            return veil_err(-EBADMSG, "network rules line %zu: a service name is a DNS name ([A-Za-z0-9.-_])", line);
    memcpy(c->host, host, host_size + 1);
    memcpy(c->service, w[2], service_size + 1);
    rs->connect_count++;
    return 0;
}

static int parse_line(char *text, size_t line, struct veil_nettls_rules *rs) {
    char *w[WORDS_MAX + 1];
    size_t count = 0;
    char *hash = strchr(text, '#');
    if (hash) *hash = 0;
    for (char *save = NULL, *t = strtok_r(text, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (count == WORDS_MAX) return veil_err(-EBADMSG, "network rules line %zu: too many words", line);
        w[count++] = t;
    }
    if (count == 0) return 0;
    if (rs->listen_count + rs->connect_count >= VEIL_NETTLS_RULES_MAX_COUNT)
        return veil_err(-EBADMSG, "network rules: more than %d rules", VEIL_NETTLS_RULES_MAX_COUNT);
    if (!strcmp(w[0], "listen")) return parse_listen(w, count, line, rs);
    if (!strcmp(w[0], "connect")) return parse_connect(w, count, line, rs);
    return veil_err(-EBADMSG, "network rules line %zu: unknown rule '%.32s'", line, w[0]);
}

int veil_nettls_rules_parse(const uint8_t *data, size_t size, struct veil_nettls_rules **ret) {
    if (size > VEIL_NETTLS_RULES_MAX_SIZE) return veil_err(-EFBIG, "network rules: larger than %zu bytes", VEIL_NETTLS_RULES_MAX_SIZE);
    _cleanup_free_ struct veil_nettls_rules *rs = calloc(1, sizeof(*rs));
    if (!rs) return -ENOMEM;
    struct veil_cursor c = veil_cursor_make(data, size);
    for (size_t line = 1; !veil_cursor_eof(&c); line++) {
        char text[LINE_MAX_SIZE + 1];
        size_t n = 0;
        for (;;) {
            uint8_t b;
            if (veil_cursor_eof(&c)) break;
            if (veil_cursor_read(&c, &b, 1) < 0) return -EBADMSG;
            if (b == '\n') break;
            if (b == 0 || n == LINE_MAX_SIZE)
                return veil_err(-EBADMSG, "network rules line %zu: a NUL byte or longer than %d bytes", line, LINE_MAX_SIZE);
            text[n++] = (char)b;
        }
        text[n] = 0;
        int r = parse_line(text, line, rs);
        if (r < 0) return r;
    }
    *ret = TAKE_PTR(rs);
    return 0;
}

int veil_nettls_rules_resolve(struct veil_nettls_rules *rs) {
    for (size_t i = 0; i < rs->connect_count; i++) {
        struct veil_nettls_connect *c = &rs->connect[i];
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
        struct addrinfo *res = NULL;
        char port[8];
        snprintf(port, sizeof(port), "%u", c->port);
        int r = getaddrinfo(c->host, port, &hints, &res);
        if (r != 0) return veil_err(-EHOSTUNREACH, "cannot resolve %s: %s", c->host, gai_strerror(r));
        c->address_count = 0;
        for (struct addrinfo *a = res; a && c->address_count < VEIL_NETTLS_ADDRESSES_MAX; a = a->ai_next)
            if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && a->ai_addrlen <= sizeof(struct sockaddr_storage))
                memcpy(&c->addresses[c->address_count++], a->ai_addr, a->ai_addrlen);
        freeaddrinfo(res);
        if (c->address_count == 0) return veil_err(-EHOSTUNREACH, "%s has no IP address", c->host);
    }
    return 0;
}

const struct veil_nettls_listen *veil_nettls_rules_find_listen(const struct veil_nettls_rules *rs, uint16_t port) {
    for (size_t i = 0; i < rs->listen_count; i++)
        if (rs->listen[i].port == port) return &rs->listen[i];
    return NULL;
}

/* An address as IPv6 (IPv4 as ::ffff:a.b.c.d) and a port, so both families compare alike. */
static bool canonical(const struct sockaddr *sa, socklen_t size, struct in6_addr *ret_addr, uint16_t *ret_port) {
    if (sa->sa_family == AF_INET && size >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memset(ret_addr, 0, sizeof(*ret_addr));
        ret_addr->s6_addr[10] = ret_addr->s6_addr[11] = 0xff;
        memcpy(&ret_addr->s6_addr[12], &s4->sin_addr, 4);
        *ret_port = ntohs(s4->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6 && size >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        *ret_addr = s6->sin6_addr;
        *ret_port = ntohs(s6->sin6_port);
        return true;
    }
    return false;
}

const struct veil_nettls_connect *veil_nettls_rules_find_connect(const struct veil_nettls_rules *rs,
                                                                 const struct sockaddr *sa, socklen_t size) {
    struct in6_addr want;
    uint16_t port;
    if (!canonical(sa, size, &want, &port)) return NULL;
    for (size_t i = 0; i < rs->connect_count; i++) {
        const struct veil_nettls_connect *c = &rs->connect[i];
        if (c->port != port) continue;
        for (size_t j = 0; j < c->address_count; j++) {
            struct in6_addr have;
            uint16_t p;
            if (canonical((const struct sockaddr *)&c->addresses[j], sizeof(c->addresses[j]), &have, &p) &&
                !memcmp(&have, &want, sizeof(have)))
                return c;
        }
    }
    return NULL;
}
