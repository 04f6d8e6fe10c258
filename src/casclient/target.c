/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest's attestation address and policy strings: where the service is and how it is recognised. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "casclient.h"

static bool is_name(const char *s, size_t size) {
    if (size == 0 || size > VEIL_CASCLIENT_NAME_MAX) return false;
    for (size_t i = 0; i < size; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static int parse_host_port(const char *s, size_t size, struct veil_casclient_target *t) {
    const char *colon = NULL;
    for (size_t i = size; i > 0; i--)
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    if (!colon || colon == s) return veil_err(-EINVAL, "attestation address: HOST:PORT expected");
    size_t host_size = (size_t)(colon - s), port_size = size - host_size - 1;
    if (port_size == 0 || port_size > 5) return veil_err(-EINVAL, "attestation address: bad port");
    unsigned long port = 0;
    for (size_t i = 0; i < port_size; i++) {
        char ch = colon[1 + i];
        if (ch < '0' || ch > '9') return veil_err(-EINVAL, "attestation address: bad port");
        port = port * 10 + (unsigned long)(ch - '0');
    }
    if (port == 0 || port > 65535) return veil_err(-EINVAL, "attestation address: bad port");
    if (host_size >= 2 && s[0] == '[' && s[host_size - 1] == ']') { /* [v6]:port */
        s++;
        host_size -= 2;
    }
    if (host_size == 0 || host_size >= sizeof(t->host)) return veil_err(-EINVAL, "attestation address: bad host");
    memcpy(t->host, s, host_size);
    t->host[host_size] = 0;
    uint8_t addr[16];
    if (!strcmp(t->host, "localhost")) strcpy(t->host, "127.0.0.1"); /* no resolver in a static veil-run */
    if ( inet_pton(AF_INET, t->host, addr) != 1 && inet_pton(AF_INET6, t->host, addr) != 1)
        return veil_err(-EINVAL, "attestation address: '%s' is not a numeric address (veil-run does no name resolution)",
                        t->host);
    t->port = (uint16_t)port;
    return 0;
}

static int parse_hex32(const char *s, size_t size, uint8_t out[32]) {
    char hex[65];
    if (size != 64) return -EINVAL;
    memcpy(hex, s, 64);
    hex[64] = 0;
    return veil_hex_decode(hex, out, 32) < 0 ? -EINVAL : 0;
}

/* "key=sha256:HEX" or "measurement=HEX[,HEX...]" */
static int parse_pin(const char *s, size_t size, struct veil_casclient_target *t) {
    static const char key[] = "key=sha256:", meas[] = "measurement=";
    if (size > strlen(key) && !strncmp(s, key, strlen(key))) {
        if (t->pin_key || t->measurement_count) return veil_err(-EINVAL, "attestation address: more than one service identity");
        if (parse_hex32(s + strlen(key), size - strlen(key), t->key_id) < 0)
            return veil_err(-EINVAL, "attestation address: key=sha256: needs 64 hex digits");
        t->pin_key = true;
        return 0;
    }
    if (size > strlen(meas) && !strncmp(s, meas, strlen(meas))) {
        if (t->pin_key || t->measurement_count) return veil_err(-EINVAL, "attestation address: more than one service identity");
        const char *p = s + strlen(meas), *end = s + size;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
            if (t->measurement_count == VEIL_CASCLIENT_MAX_PINS)
                return veil_err(-E2BIG, "attestation address: more than %d measurements", VEIL_CASCLIENT_MAX_PINS);
            if (parse_hex32(p, n, t->measurements[t->measurement_count]) < 0)
                return veil_err(-EINVAL, "attestation address: a measurement needs 64 hex digits");
            t->measurement_count++;
            p += n + (comma ? 1 : 0);
            if (comma && p == end) return veil_err(-EINVAL, "attestation address: trailing ','");
        }
        return 0;
    }
    return veil_err(-EINVAL, "attestation address: unknown part '%.*s' (key=sha256:HEX or measurement=HEX)",
                    (int)(size > 40 ? 40 : size), s);
}

int veil_casclient_target_parse(const char *address, const char *policy, struct veil_casclient_target *ret) {
    struct veil_casclient_target t = { 0 };
    size_t size = strlen(address);
    if (size > 4096) return veil_err(-E2BIG, "attestation address too long");
    const char *p = address, *end = address + size;
    bool first = true;
    int r;
    while (p < end) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        size_t n = sp ? (size_t)(sp - p) : (size_t)(end - p);
        if (n == 0) return veil_err(-EINVAL, "attestation address: empty part (one space between parts)");
        if ((r = first ? parse_host_port(p, n, &t) : parse_pin(p, n, &t)) < 0) return r;
        first = false;
        p += n + (sp ? 1 : 0);
        if (sp && p == end) return veil_err(-EINVAL, "attestation address: trailing space");
    }
    if (first) return veil_err(-EINVAL, "attestation address is empty");
    if (!t.pin_key && t.measurement_count == 0)
        return veil_err(-EINVAL, "attestation address names no service identity: add key=sha256:HEX (development) "
                                 "or measurement=HEX (the service's RA-TLS measurement)");
    const char *slash = strchr(policy, '/');
    if (!slash || !is_name(policy, (size_t)(slash - policy)) || !is_name(slash + 1, strlen(slash + 1)))
        return veil_err(-EINVAL, "attestation policy must be POLICY/SERVICE (names of [A-Za-z0-9_-], at most 64)");
    memcpy(t.policy, policy, (size_t)(slash - policy));
    strcpy(t.service, slash + 1);
    *ret = t;
    return 0;
}
