/* SPDX-License-Identifier: Apache-2.0 */
/* The network rules: what parses, what is refused, and which addresses match a destination. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nettls/nettls.h"

static struct veil_nettls_rules *parse(const char *text) {
    struct veil_nettls_rules *rs = NULL;
    assert_int_equal(veil_nettls_rules_parse((const uint8_t *)text, strlen(text), &rs), 0);
    return rs;
}

static int parse_err(const char *text) {
    struct veil_nettls_rules *rs = NULL;
    int r = veil_nettls_rules_parse((const uint8_t *)text, strlen(text), &rs);
    assert_null(rs);
    return r;
}

static void test_parse(void **state) {
    (void)state;
    struct veil_nettls_rules *rs = parse("# a comment\n\nlisten 6379 require-client\n  listen 80   # web\n"
                                         "connect 127.0.0.1:6379 redis\nconnect [::1]:443 web.internal\r\n"
                                         "connect localhost:8080 api");
    assert_int_equal(rs->listen_count, 2);
    assert_int_equal(rs->listen[0].port, 6379);
    assert_true(rs->listen[0].require_client);
    assert_int_equal(rs->listen[1].port, 80);
    assert_false(rs->listen[1].require_client);
    assert_int_equal(rs->connect_count, 3);
    assert_string_equal(rs->connect[0].host, "127.0.0.1");
    assert_int_equal(rs->connect[0].port, 6379);
    assert_string_equal(rs->connect[0].service, "redis");
    assert_string_equal(rs->connect[1].host, "::1");
    assert_string_equal(rs->connect[1].service, "web.internal");
    assert_string_equal(rs->connect[2].host, "localhost");
    assert_non_null(veil_nettls_rules_find_listen(rs, 80));
    assert_null(veil_nettls_rules_find_listen(rs, 81));
    free(rs);
    rs = parse("");
    assert_int_equal(rs->listen_count + rs->connect_count, 0);
    free(rs);
}

static void test_refused(void **state) {
    (void)state;
    static const char *const bad[] = {
        "listen 0\n", "listen 65536\n", "listen -1\n", "listen 80x\n", "listen\n", "listen 80 require-clients\n",
        "listen 80 require-client extra\n", "listen 80\nlisten 80\n", "connect 1.2.3.4 redis\n",
        "connect 1.2.3.4:0 redis\n", "connect 1.2.3.4:80\n", "connect ::1:80 redis\n", "connect [zz]:80 redis\n",
        "connect :80 redis\n", "connect 1.2.3.4:80 red/is\n", "connect a b c d e\n", "open 80\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) assert_int_equal(parse_err(bad[i]), -EBADMSG);
    char nul[] = "listen 80\n\0listen 81\n";
    struct veil_nettls_rules *rs = NULL;
    assert_int_equal(veil_nettls_rules_parse((const uint8_t *)nul, sizeof(nul) - 1, &rs), -EBADMSG);
    /* limits: a long line, too many rules, a large file */
    char line[2000];
    memset(line, 'a', sizeof(line) - 1);
    line[sizeof(line) - 1] = 0;
    assert_int_equal(parse_err(line), -EBADMSG);
    char *many = calloc(VEIL_NETTLS_RULES_MAX_COUNT + 1, 16);
    for (int i = 0; i <= VEIL_NETTLS_RULES_MAX_COUNT; i++) sprintf(many + strlen(many), "listen %d\n", 1000 + i);
    assert_int_equal(parse_err(many), -EBADMSG);
    free(many);
    uint8_t *huge = calloc(1, VEIL_NETTLS_RULES_MAX_SIZE + 1);
    assert_int_equal(veil_nettls_rules_parse(huge, VEIL_NETTLS_RULES_MAX_SIZE + 1, &rs), -EFBIG);
    free(huge);
}

static void test_match(void **state) {
    (void)state;
    struct veil_nettls_rules *rs = parse("connect 127.0.0.1:6379 redis\nconnect [::1]:443 web\n");
    assert_int_equal(veil_nettls_rules_resolve(rs), 0);
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(6379) };
    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    const struct veil_nettls_connect *c = veil_nettls_rules_find_connect(rs, (struct sockaddr *)&a4, sizeof(a4));
    assert_non_null(c);
    assert_string_equal(c->service, "redis");
    a4.sin_port = htons(6380);
    assert_null(veil_nettls_rules_find_connect(rs, (struct sockaddr *)&a4, sizeof(a4)));
    a4.sin_port = htons(6379);
    inet_pton(AF_INET, "127.0.0.2", &a4.sin_addr);
    assert_null(veil_nettls_rules_find_connect(rs, (struct sockaddr *)&a4, sizeof(a4)));
    /* an IPv6 socket reaching the IPv4 destination through a mapped address is the same destination */
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(6379) };
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
    assert_ptr_equal(veil_nettls_rules_find_connect(rs, (struct sockaddr *)&a6, sizeof(a6)), c);
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    a6.sin6_port = htons(443);
    c = veil_nettls_rules_find_connect(rs, (struct sockaddr *)&a6, sizeof(a6));
    assert_non_null(c);
    assert_string_equal(c->service, "web");
    /* a truncated address matches nothing */
    assert_null(veil_nettls_rules_find_connect(rs, (struct sockaddr *)&a6, sizeof(a6) - 4));
    free(rs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
