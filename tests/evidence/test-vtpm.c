/* SPDX-License-Identifier: Apache-2.0 */
/* The vTPM acquisition library against a real swtpm: NV chunking, the quote, PCR selection, and every refusal. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/key.h"
#include "evidence/azure-tpm.h"
#include "evidence/evidence.h"
#include "evidence/vtpm.h"

static char dir[] = "/tmp/veil-test-vtpm.XXXXXX";
static char tcti[256];
static pid_t swtpm_pid = -1;

/* Run a tpm2-tools command line against the test's swtpm; 0 on success. */
static int tpm2(const char *fmt, ...) _printf_(1, 2);
static int tpm2(const char *fmt, ...) {
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    char full[1200];
    snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
    int status = system(full);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int start_swtpm(void **state) {
    (void)state;
    if (system("command -v swtpm >/dev/null && command -v tpm2_nvdefine >/dev/null") != 0) return 0;
    if (!mkdtemp(dir)) return -1;
    char sock[128], ctrl[160], tpmstate[160];
    snprintf(sock, sizeof(sock), "%s/tpm.sock", dir);
    snprintf(ctrl, sizeof(ctrl), "type=unixio,path=%s/tpm.sock.ctrl", dir);
    snprintf(tpmstate, sizeof(tpmstate), "dir=%s", dir);
    char server[160];
    snprintf(server, sizeof(server), "type=unixio,path=%s", sock);
    swtpm_pid = fork();
    if (swtpm_pid == 0) {
        execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", tpmstate, "--server", server, "--ctrl", ctrl, "--flags",
               "startup-clear", "--log", "file=/dev/null", (char *)NULL);
        _exit(127);
    }
    struct stat st;
    for (int i = 0; i < 100 && stat(sock, &st) < 0; i++) usleep(50 * 1000);
    snprintf(tcti, sizeof(tcti), "swtpm:path=%s", sock);
    setenv("TPM2TOOLS_TCTI", tcti, 1);
    setenv("TSS2_LOG", "all+NONE", 1);
    return 0;
}

static int stop_swtpm(void **state) {
    (void)state;
    if (swtpm_pid > 0) {
        kill(swtpm_pid, SIGTERM);
        waitpid(swtpm_pid, NULL, 0);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0) return -1;
    }
    return 0;
}

#define NEED_SWTPM()                                                                               \
    do {                                                                                           \
        if (swtpm_pid <= 0) skip();                                                                \
    } while (0)

static void refused(int r, int err, const char *needle) {
    if (r != err || !strstr(veil_err_msg(), needle))
        fail_msg("expected %d with '%s', got %d: %s", err, needle, r, veil_err_msg());
}

/* An AK like Azure's at 0x81000003 (RSA 2048, restricted, RSASSA-SHA256), and its public key in PEM. */
static void create_ak(const char *scheme) {
    char ctx[160], pem[160];
    snprintf(ctx, sizeof(ctx), "%s/ak.ctx", dir);
    snprintf(pem, sizeof(pem), "%s/ak.pem", dir);
    /* no resource manager between tpm2-tools and swtpm: flush what earlier commands left loaded */
    tpm2("tpm2_flushcontext -t");
    tpm2("tpm2_evictcontrol -C o -c 0x81000003");
    assert_int_equal(tpm2("tpm2_createprimary -C o -G rsa2048:%s -a "
                          "'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign|noda%s' -c %s",
                          scheme, strstr(scheme, "null:null") ? "" : "|restricted", ctx),
                     0);
    assert_int_equal(tpm2("tpm2_evictcontrol -C o -c %s 0x81000003", ctx), 0);
    assert_int_equal(tpm2("tpm2_readpublic -c 0x81000003 -f pem -o %s", pem), 0);
    tpm2("tpm2_flushcontext -t");
}

/* NV 0x01400001 holding `size` bytes: "HCLA" then a pattern (owner read/write like Azure's). */
static uint8_t *put_hcl(size_t size, const char *magic) {
    uint8_t *hcl = malloc(size);
    assert_non_null(hcl);
    for (size_t i = 0; i < size; i++) hcl[i] = (uint8_t)(i * 7 + 3);
    memcpy(hcl, magic, 4);
    char path[160];
    snprintf(path, sizeof(path), "%s/hcl.bin", dir);
    assert_int_equal(veil_write_file_atomic(path, hcl, size, 0644), 0);
    tpm2("tpm2_nvundefine -C o 0x01400001");
    assert_int_equal(tpm2("tpm2_nvdefine -C o -s %zu -a 'ownerread|ownerwrite' 0x01400001", size), 0);
    assert_int_equal(tpm2("tpm2_nvwrite -C o -i %s 0x01400001", path), 0);
    return hcl;
}

static void verify_signature(const struct veil_evidence *ev) {
    char pem[160];
    snprintf(pem, sizeof(pem), "%s/ak.pem", dir);
    EVP_PKEY *ak = NULL;
    assert_int_equal(veil_key_load_public_pem(pem, &ak), 0);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, ak), 1);
    assert_int_equal(EVP_DigestVerify(md, ev->item[VEIL_EVIDENCE_TPM_SIGNATURE], ev->item_size[VEIL_EVIDENCE_TPM_SIGNATURE],
                                      ev->item[VEIL_EVIDENCE_TPM_QUOTE], ev->item_size[VEIL_EVIDENCE_TPM_QUOTE]),
                     1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(ak);
}

static void test_evidence(void **state) {
    (void)state;
    NEED_SWTPM();
    create_ak("rsassa-sha256:null");
    /* larger than one TPM_PT_NV_BUFFER_MAX (1024 in swtpm): read in chunks */
    _cleanup_free_ uint8_t *hcl = put_hcl(2000, "HCLA");
    tpm2("tpm2_nvundefine -C o 0x01400002");
    uint8_t report_data[64];
    for (int i = 0; i < 64; i++) report_data[i] = (uint8_t)(0xa0 + i);
    struct veil_vtpm_options opts = { .tcti = tcti };
    struct veil_buf out = { 0 };
    int r = veil_vtpm_get_evidence(&opts, report_data, &out);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    struct veil_evidence ev;
    assert_int_equal(veil_evidence_decode(out.data, out.size, &ev), 0);
    assert_int_equal(ev.tee, VEIL_TEE_AZURE_SNP_VTPM);
    assert_int_equal(ev.item_size[VEIL_EVIDENCE_REPORT], 2000);
    assert_memory_equal(ev.item[VEIL_EVIDENCE_REPORT], hcl, 2000);
    assert_int_equal(ev.item_size[VEIL_EVIDENCE_CERTS], 0);
    struct veil_tpm_quote q;
    assert_int_equal(veil_tpm_quote_parse(ev.item[VEIL_EVIDENCE_TPM_QUOTE], ev.item_size[VEIL_EVIDENCE_TPM_QUOTE], &q), 0);
    assert_int_equal(q.extra_data_size, 64);
    assert_memory_equal(q.extra_data, report_data, 64);
    assert_int_equal(q.pcr_hash, VEIL_TPM_ALG_SHA256);
    assert_int_equal(q.pcr_mask, 0xffffff);
    assert_int_equal(q.pcr_digest_size, 32);
    assert_int_equal(ev.item_size[VEIL_EVIDENCE_TPM_SIGNATURE], 256);
    verify_signature(&ev);
    veil_buf_done(&out);
    /* veil defined 0x01400002 and wrote the report data there */
    char path[160];
    snprintf(path, sizeof(path), "%s/rd.bin", dir);
    assert_int_equal(tpm2("tpm2_nvread -C o -s 64 -o %s 0x01400002", path), 0);
    _cleanup_free_ uint8_t *nv = NULL;
    size_t nv_size;
    assert_int_equal(veil_read_file(path, 1024, &nv, &nv_size), 0);
    assert_int_equal(nv_size, 64);
    assert_memory_equal(nv, report_data, 64);
    assert_true(veil_vtpm_present(&opts));
}

static void test_options(void **state) {
    (void)state;
    NEED_SWTPM();
    /* an AK without a scheme of its own: veil asks for RSASSA-SHA256 */
    create_ak("null:null");
    _cleanup_free_ uint8_t *hcl = put_hcl(100, "HCLA");
    static const uint8_t certs[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
    uint8_t report_data[64] = { 1, 2, 3 };
    struct veil_vtpm_options opts = { .tcti = tcti, .pcr_mask = 0x800081, .certs = certs, .certs_size = sizeof(certs) };
    struct veil_buf out = { 0 };
    int r = veil_vtpm_get_evidence(&opts, report_data, &out);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    struct veil_evidence ev;
    assert_int_equal(veil_evidence_decode(out.data, out.size, &ev), 0);
    assert_int_equal(ev.item_size[VEIL_EVIDENCE_CERTS], sizeof(certs));
    assert_memory_equal(ev.item[VEIL_EVIDENCE_CERTS], certs, sizeof(certs));
    struct veil_tpm_quote q;
    assert_int_equal(veil_tpm_quote_parse(ev.item[VEIL_EVIDENCE_TPM_QUOTE], ev.item_size[VEIL_EVIDENCE_TPM_QUOTE], &q), 0);
    assert_int_equal(q.pcr_mask, 0x800081);
    verify_signature(&ev);
    veil_buf_done(&out);
    /* the TCTI from the environment when the options name none */
    setenv(VEIL_VTPM_TCTI_ENV, tcti, 1);
    assert_string_equal(veil_vtpm_tcti(NULL), tcti);
    struct veil_vtpm_options from_env = { 0 };
    assert_int_equal(veil_vtpm_get_evidence(&from_env, report_data, &out), 0);
    veil_buf_done(&out);
    unsetenv(VEIL_VTPM_TCTI_ENV);
    assert_string_equal(veil_vtpm_tcti(NULL), VEIL_VTPM_DEFAULT_TCTI);
}

static void test_refusals(void **state) {
    (void)state;
    NEED_SWTPM();
    uint8_t report_data[64] = { 0 };
    struct veil_vtpm_options opts = { .tcti = tcti };
    struct veil_buf out = { 0 };

    struct veil_vtpm_options nowhere = { .tcti = "swtpm:path=/nonexistent/veil-tpm.sock" };
    refused(veil_vtpm_get_evidence(&nowhere, report_data, &out), -ENXIO, "cannot");
    assert_false(veil_vtpm_present(&nowhere));

    /* an encryption key where the AK should be */
    tpm2("tpm2_evictcontrol -C o -c 0x81000003");
    char ctx[160];
    snprintf(ctx, sizeof(ctx), "%s/enc.ctx", dir);
    tpm2("tpm2_flushcontext -t");
    assert_int_equal(tpm2("tpm2_createprimary -C o -G rsa2048 -c %s", ctx), 0);
    assert_int_equal(tpm2("tpm2_evictcontrol -C o -c %s 0x81000003", ctx), 0);
    tpm2("tpm2_flushcontext -t");
    _cleanup_free_ uint8_t *hcl = put_hcl(64, "HCLA");
    refused(veil_vtpm_get_evidence(&opts, report_data, &out), -EOPNOTSUPP, "not an RSA signing key");
    /* no AK at all, or at another handle */
    tpm2("tpm2_evictcontrol -C o -c 0x81000003");
    refused(veil_vtpm_get_evidence(&opts, report_data, &out), -ENOENT, "attestation key 0x81000003 does not exist");
    create_ak("rsassa-sha256:null");
    struct veil_vtpm_options other = { .tcti = tcti, .ak_handle = 0x81000099 };
    refused(veil_vtpm_get_evidence(&other, report_data, &out), -ENOENT, "0x81000099");

    /* the HCL index holds something else, or is missing */
    free(put_hcl(64, "XXXX"));
    refused(veil_vtpm_get_evidence(&opts, report_data, &out), -EBADMSG, "does not hold an HCL report");
    tpm2("tpm2_nvundefine -C o 0x01400001");
    refused(veil_vtpm_get_evidence(&opts, report_data, &out), -ENOENT, "not an Azure confidential VM");
    assert_false(veil_vtpm_present(&opts));

    /* a report-data index too small for 64 bytes */
    free(put_hcl(64, "HCLA"));
    tpm2("tpm2_nvundefine -C o 0x01400002");
    assert_int_equal(tpm2("tpm2_nvdefine -C o -s 32 -a 'ownerread|ownerwrite' 0x01400002"), 0);
    refused(veil_vtpm_get_evidence(&opts, report_data, &out), -EFBIG, "less than 64");
    /* an index neither owner nor its own auth may write */
    tpm2("tpm2_nvundefine -C o 0x01400002");
    assert_int_equal(tpm2("tpm2_nvdefine -C o -s 64 -a 'ownerread|policywrite' 0x01400002"), 0);
    refused(veil_vtpm_get_evidence(&opts, report_data, &out), -EACCES, "cannot be written");
    tpm2("tpm2_nvundefine -C o 0x01400002");
    assert_int_equal(out.size, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evidence),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, start_swtpm, stop_swtpm);
}
