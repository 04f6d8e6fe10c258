/* SPDX-License-Identifier: Apache-2.0 */
/* TDX_CMD_GET_REPORT0 on /dev/tdx_guest; only real TDX guests can exercise it. */
#include <assert.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/err.h"
#include "tsm.h"

#if __has_include(<linux/tdx-guest.h>)
#include <linux/tdx-guest.h>
#else
/* Linux include/uapi/linux/tdx-guest.h (6.2+), for systems whose headers predate it */
#define TDX_REPORTDATA_LEN 64
#define TDX_REPORT_LEN 1024
struct tdx_report_req {
    uint8_t reportdata[TDX_REPORTDATA_LEN];
    uint8_t tdreport[TDX_REPORT_LEN];
};
#define TDX_CMD_GET_REPORT0 _IOWR('T', 1, struct tdx_report_req)
#endif

static_assert(TDX_REPORT_LEN == VEIL_TDX_REPORT_SIZE, "TDREPORT size");

int veil_tdxguest_get_report(const char *path, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                             uint8_t ret_report[VEIL_TDX_REPORT_SIZE]) {
    _cleanup_close_ int fd = open(path ? path : "/dev/tdx_guest", O_RDWR | O_CLOEXEC);
    if (fd < 0) return veil_err(-errno, "cannot open %s", path ? path : "/dev/tdx_guest");
    struct tdx_report_req req;
    memset(&req, 0, sizeof(req));
    memcpy(req.reportdata, report_data, TDX_REPORTDATA_LEN);
    if (ioctl(fd, TDX_CMD_GET_REPORT0, &req) < 0) return veil_err(-errno, "TDX_CMD_GET_REPORT0 failed");
    memcpy(ret_report, req.tdreport, TDX_REPORT_LEN);
    return 0;
}
