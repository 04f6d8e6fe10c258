/* SPDX-License-Identifier: Apache-2.0 */
/* The policy parser: a complete policy, and refusals with line numbers for the mistakes owners make. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/fileio.h"
#include "cas/policy.h"

static char *read_policy(const char *name) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/cas/policies/%s", getenv("VEIL_SOURCE_ROOT"), name);
    uint8_t *data;
    size_t size;
    assert_int_equal(veil_read_file(path, 1 << 20, &data, &size), 0);
    return (char *)data;
}

static int parse(const char *yaml, struct veil_cas_policy **ret) {
    veil_err_clear();
    return veil_cas_policy_parse(yaml, strlen(yaml), ret);
}

#define X4(c) c c c c
#define HEX32(c) X4(X4(X4(c)))
#define HEAD "name: p\nowners: [" HEX32("1") "]\n"

static void test_good(void **state) {
    (void)state;
    _cleanup_free_ char *yaml = read_policy("good.yaml");
    struct veil_cas_policy *p = NULL;
    int r = parse(yaml, &p);
    if (r < 0) fail_msg("%s", veil_err_msg());
    assert_string_equal(p->name, "shop");
    assert_int_equal(p->owner_count, 1);
    assert_int_equal(p->secret_count, 7);
    assert_int_equal(p->service_count, 2);
    const struct veil_cas_service *web = veil_cas_policy_service(p, "web");
    assert_non_null(web);
    assert_int_equal(web->env_count, 2);
    assert_int_equal(web->argv_count, 2);
    assert_int_equal(web->file_count, 2);
    assert_int_equal(web->files[1].mode, 0400);
    assert_string_equal(web->files[0].path, "/etc/tls/cert.pem");
    assert_string_equal(web->image, "shop-web");
    assert_int_equal(web->env[1].value.part_count, 2);
    assert_string_equal(web->env[1].value.parts[0].text, "Bearer ");
    assert_string_equal(web->env[1].value.parts[1].secret, "api_token");
    const struct veil_cas_secret *cert = veil_cas_policy_secret(p, "web_cert");
    assert_int_equal(cert->kind, VEIL_CAS_SECRET_X509);
    assert_int_equal(cert->dns_count, 2);
    assert_string_equal(cert->issuer, "ca");

    /* claims matching: sim only because written; worker refuses sim */
    struct veil_claims *c;
    assert_int_equal(veil_claims_new(VEIL_TEE_SIM, &c), 0);
    c->tcb_status = VEIL_TCB_UP_TO_DATE;
    c->measurement_size = 32;
    memset(c->measurement, 0x22, 32);
    assert_int_equal(veil_cas_service_match(web, c), 0);
    c->measurement[0] = 0x23;
    assert_int_equal(veil_cas_service_match(web, c), -EPERM);
    assert_non_null(strstr(veil_err_msg(), "measurement 23222222"));
    c->measurement[0] = 0x22;
    c->debug = true; /* sim evidence is always debug: listing sim accepts it */
    assert_int_equal(veil_cas_service_match(web, c), 0);
    const struct veil_cas_service *worker = veil_cas_policy_service(p, "worker");
    c->signer_size = 32;
    memset(c->signer, 0x33, 32);
    c->product_id = 7;
    c->security_version = 2;
    assert_int_equal(veil_cas_service_match(worker, c), -EPERM);
    assert_non_null(strstr(veil_err_msg(), "sim must be listed"));
    c->tee = VEIL_TEE_SNP;
    assert_int_equal(veil_cas_service_match(worker, c), -EPERM);
    assert_non_null(strstr(veil_err_msg(), "debug workload refused"));
    c->debug = false;
    assert_int_equal(veil_cas_service_match(worker, c), 0);
    c->security_version = 1;
    assert_int_equal(veil_cas_service_match(worker, c), -EPERM);
    assert_non_null(strstr(veil_err_msg(), "security version 1 below minimum 2"));
    c->security_version = 3;
    c->product_id = 8;
    assert_int_equal(veil_cas_service_match(worker, c), -EPERM);
    c->product_id = 7;
    c->tcb_status = VEIL_TCB_OUT_OF_DATE;
    assert_int_equal(veil_cas_service_match(worker, c), -EPERM);
    veil_claims_free(c);
    veil_cas_policy_free(p);
}

static void test_sim_not_written(void **state) {
    (void)state;
    struct veil_cas_policy *p = NULL;
    assert_int_equal(parse(HEAD "services:\n  a:\n    measurements: [" HEX32("2") "]\n", &p), 0);
    struct veil_claims *c;
    assert_int_equal(veil_claims_new(VEIL_TEE_SIM, &c), 0);
    c->tcb_status = VEIL_TCB_UP_TO_DATE;
    c->measurement_size = 32;
    memset(c->measurement, 0x22, 32);
    assert_int_equal(veil_cas_service_match(&p->services[0], c), -EPERM);
    assert_non_null(strstr(veil_err_msg(), "TEE 'sim' not accepted"));
    c->tee = VEIL_TEE_TDX;
    assert_int_equal(veil_cas_service_match(&p->services[0], c), 0);
    veil_claims_free(c);
    veil_cas_policy_free(p);
}

struct bad_case {
    const char *yaml;
    const char *message; /* expected substring of the error, with its line number */
};

static void test_bad(void **state) {
    (void)state;
    static const struct bad_case cases[] = {
        { HEAD "services:\n  a:\n    measurements: [" HEX32("2") "]\n    env:\n      X: \"{{secret.nope}}\"\n",
          "line 7: environment value refers to unknown secret 'nope'" },
        { HEAD "secrets:\n  k: {kind: random, size: 32}\nservices:\n  a:\n    measurements: [" HEX32("2") "]\n"
               "    argv: [\"{{secret.k.cert}}\"]\n",
          "line 8: argument: secret 'k' (random) has no field 'cert'" },
        { HEAD "services:\n  a:\n    measurements: [" HEX32("2") "]\n    env:\n      X: \"{{secret.x\"\n",
          "line 7: environment value: unterminated '{{'" },
        { "name: p\nowners: [x\n", "line 3:" },
        { "name: p\n  bad: indent\n", "line 2:" },
        { HEAD "servics: {}\n", "line 3: unknown top-level key 'servics'" },
        { HEAD "services:\n  a:\n    tees: [sim]\n", "line 5: service 'a' needs measurements or a signer" },
        { HEAD "services:\n  a:\n    signer: " HEX32("3") "\n", "service 'a' names a signer, so it needs a product_id" },
        { HEAD "services:\n  a:\n    measurements: [abc]\n", "line 5: measurement must be 32 to 64 bytes" },
        { HEAD "services:\n  a:\n    measurements: [" HEX32("2") "]\n    tees: [sgxx]\n", "line 6: unknown TEE 'sgxx'" },
        { HEAD "secrets:\n  c: {kind: x509, common_name: c, issuer: nope}\nservices:\n  a:\n    measurements: [" HEX32("2") "]\n",
          "issuer 'nope' is not an x509_ca" },
        { HEAD "secrets:\n  k: {kind: random, size: 16}\nimages:\n  i: {key: k}\nservices:\n  a:\n    measurements: [" HEX32("2") "]\n",
          "key 'k' must be a random secret of size 32" },
        { HEAD "secrets:\n  k: {kind: random, size: 32, length: 3}\n", "line 4: 'length' does not apply" },
        { HEAD "secrets:\n  k: {kind: password, length: 3}\n", "line 4: length must be between 8 and 256" },
        { HEAD "secrets:\n  k: &a {kind: random, size: 32}\n  j: *a\n", "aliases are not allowed" },
        { HEAD "services:\n  a:\n    measurements: [" HEX32("2") "]\n    files:\n      /etc/../x: \"a\"\n",
          "line 7: '/etc/../x' is not a clean absolute path" },
        { HEAD "services:\n  a:\n    measurements: [" HEX32("2") "]\n    debug: yes\n", "line 6: debug must be true or false" },
        { HEAD "name: q\n", "line 3: duplicate key 'name'" },
        { "name: p\nowners: []\nservices: {}\n", "line 2: owners must not be empty" },
        { "", "empty policy" },
        { HEAD "services:\n  a:\n    measurements: [" HEX32("2") "]\n---\nname: x\n", "one YAML document" },
        { HEAD "services:\n  a:\n    measurements: [" HEX32("2") "]\n    volumes: [v]\n", "line 6: unknown volume 'v'" },
        { HEAD "services:\n  a:\n    measurements: [" HEX32("2") "]\n    env:\n      1X: a\n", "line 7: '1X' is not an environment" },
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        struct veil_cas_policy *p = NULL;
        int r = parse(cases[i].yaml, &p);
        if (r != -EBADMSG) fail_msg("case %zu: expected -EBADMSG, got %d", i, r);
        if (!strstr(veil_err_msg(), cases[i].message))
            fail_msg("case %zu: message '%s' lacks '%s'", i, veil_err_msg(), cases[i].message);
    }
}

static void test_nesting_limit(void **state) {
    (void)state;
    char yaml[4096];
    size_t n = (size_t)snprintf(yaml, sizeof(yaml), HEAD "services: ");
    for (int i = 0; i < 40; i++) yaml[n++] = '[';
    for (int i = 0; i < 40; i++) yaml[n++] = ']';
    yaml[n] = 0;
    struct veil_cas_policy *p = NULL;
    assert_int_equal(parse(yaml, &p), -EBADMSG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_sim_not_written),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_nesting_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
