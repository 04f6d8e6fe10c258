/* SPDX-License-Identifier: Apache-2.0 */
/* SNP_GET_REPORT on /dev/sev-guest (Linux UAPI linux/sev-guest.h); only real SEV-SNP guests can exercise it. */
#include <fcntl.h>
#include <linux/sev-guest.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/cursor.h"
#include "base/err.h"
#include "tsm.h"

/* SEV-SNP firmware ABI (spec 56860) table 25, MSG_REPORT_RSP: status, report size, reserved, report. */
#define MSG_REPORT_RSP_HEADER_SIZE 0x20

int veil_sevguest_get_report(const char *path, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                             uint8_t **ret_report, size_t *ret_size) {
    _cleanup_close_ int fd = open(path ? path : "/dev/sev-guest", O_RDWR | O_CLOEXEC);
    if (fd < 0) return veil_err(-errno, "cannot open %s", path ? path : "/dev/sev-guest");
    struct snp_report_req req = { .vmpl = 0 };
    struct snp_report_resp resp;
    memset(&resp, 0, sizeof(resp));
    memcpy(req.user_data, report_data, sizeof(req.user_data));
    struct snp_guest_request_ioctl io = {
        .msg_version = 1,
        .req_data = (uintptr_t)&req,
        .resp_data = (uintptr_t)&resp,
    };
    if (ioctl(fd, SNP_GET_REPORT, &io) < 0)
        return veil_err(-errno, "SNP_GET_REPORT failed (firmware error 0x%x, VMM error 0x%x)",
                        (unsigned)(io.exitinfo2 & 0xffffffffu), (unsigned)(io.exitinfo2 >> 32));
    struct veil_cursor c = veil_cursor_make(resp.data, sizeof(resp.data));
    uint32_t status, report_size;
    const uint8_t *report;
    if (veil_cursor_u32le(&c, &status) < 0 || veil_cursor_u32le(&c, &report_size) < 0 ||
        veil_cursor_seek(&c, MSG_REPORT_RSP_HEADER_SIZE) < 0)
        return -EBADMSG;
    if (status != 0) return veil_err(-EIO, "SNP_GET_REPORT: firmware status 0x%x", status);
    if (report_size < VEIL_SNP_REPORT_SIZE || veil_cursor_borrow(&c, report_size, &report) < 0)
        return veil_err(-EBADMSG, "SNP_GET_REPORT: report size %u", report_size);
    uint8_t *copy = malloc(report_size);
    if (!copy) return -ENOMEM;
    memcpy(copy, report, report_size);
    *ret_report = copy;
    *ret_size = report_size;
    return 0;
}
