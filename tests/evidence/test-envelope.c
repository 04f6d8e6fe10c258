/* SPDX-License-Identifier: Apache-2.0 */
/* The evidence envelope: round trip, framing errors, critical items, and the dispatcher's sim gate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "evidence/evidence.h"

static void encode(const struct veil_evidence *ev, struct veil_buf *out) {
    *out = (struct veil_buf){ 0 };
    assert_int_equal(veil_evidence_encode(ev, out), 0);
}

static void test_round_trip(void **state) {
    (void)state;
    struct veil_evidence ev = { .tee = VEIL_TEE_SNP };
    ev.item[VEIL_EVIDENCE_REPORT] = (const uint8_t *)"report";
    ev.item_size[VEIL_EVIDENCE_REPORT] = 6;
    ev.item[VEIL_EVIDENCE_CERTS] = (const uint8_t *)"certs!";
    ev.item_size[VEIL_EVIDENCE_CERTS] = 6;
    struct veil_buf b;
    encode(&ev, &b);
    assert_int_equal(b.size, 16 + 6 + 6 + 6 + 6);
    assert_memory_equal(b.data, "VEILEVD\0\1\0\2\0\0\0\0\0", 16);
    struct veil_evidence d;
    assert_int_equal(veil_evidence_decode(b.data, b.size, &d), 0);
    assert_int_equal(d.tee, VEIL_TEE_SNP);
    assert_int_equal(d.item_size[VEIL_EVIDENCE_REPORT], 6);
    assert_memory_equal(d.item[VEIL_EVIDENCE_REPORT], "report", 6);
    assert_memory_equal(d.item[VEIL_EVIDENCE_CERTS], "certs!", 6);
    assert_null(d.item[VEIL_EVIDENCE_COLLATERAL]);
    /* every truncation is refused as malformed, except at an item boundary (which is still a valid envelope) */
    for (size_t n = 0; n < b.size; n++) {
        int r = veil_evidence_decode(b.data, n, &d);
        if (n == 16 + 6 + 6) assert_int_equal(r, 0);
        else assert_int_equal(r, -EBADMSG);
    }
    veil_buf_done(&b);
}

static void test_items(void **state) {
    (void)state;
    static const uint8_t header[16] = "VEILEVD\0\1\0\1\0\0\0\0\0";
    uint8_t buf[64];
    memcpy(buf, header, 16);
    /* report, then an unknown informational item: accepted */
    memcpy(buf + 16, "\1\0\1\0\0\0R" "\x10\0\1\0\0\0X", 14);
    struct veil_evidence d;
    assert_int_equal(veil_evidence_decode(buf, 30, &d), 0);
    /* an unknown critical item: refused */
    memcpy(buf + 23, "\x10\x80\1\0\0\0X", 7);
    assert_int_equal(veil_evidence_decode(buf, 30, &d), -EBADMSG);
    /* a duplicate: refused */
    memcpy(buf + 23, "\1\0\1\0\0\0R", 7);
    assert_int_equal(veil_evidence_decode(buf, 30, &d), -EBADMSG);
    /* no report: refused */
    assert_int_equal(veil_evidence_decode(buf, 16, &d), -EBADMSG);
    /* a length pointing past the end */
    memcpy(buf + 16, "\1\0\xff\0\0\0R", 7);
    assert_int_equal(veil_evidence_decode(buf, 23, &d), -EBADMSG);
    /* bad magic, version, reserved, tee */
    memcpy(buf + 16, "\1\0\1\0\0\0R", 7);
    assert_int_equal(veil_evidence_decode(buf, 23, &d), 0);
    buf[0] ^= 1;
    assert_int_equal(veil_evidence_decode(buf, 23, &d), -EBADMSG);
    buf[0] ^= 1;
    buf[8] = 2;
    assert_int_equal(veil_evidence_decode(buf, 23, &d), -EBADMSG);
    buf[8] = 1;
    buf[12] = 1;
    assert_int_equal(veil_evidence_decode(buf, 23, &d), -EBADMSG);
    buf[12] = 0;
    buf[10] = 99;
    assert_int_equal(veil_evidence_decode(buf, 23, &d), -EBADMSG);
}

static void test_sim_gate(void **state) {
    (void)state;
    struct veil_evidence ev = { .tee = VEIL_TEE_SIM };
    ev.item[VEIL_EVIDENCE_REPORT] = (const uint8_t *)"junk";
    ev.item_size[VEIL_EVIDENCE_REPORT] = 4;
    struct veil_buf b;
    encode(&ev, &b);
    struct veil_claims *claims = NULL;
    struct veil_verify_options opts = { 0 };
    /* refused before parsing, and the message says why */
    assert_int_equal(veil_evidence_verify(b.data, b.size, &opts, &claims), -EPERM);
    assert_non_null(strstr(veil_err_msg(), "does not allow the sim TEE"));
    assert_null(claims);
    opts.allow_sim = true;
    assert_int_equal(veil_evidence_verify(b.data, b.size, &opts, &claims), -EBADMSG);
    veil_buf_done(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_items),
        cmocka_unit_test(test_sim_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
