/* SPDX-License-Identifier: Apache-2.0 */
/* TCB status from Intel's TCB info and QE identity collateral (already signature-checked), with advisories. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "base/macro.h"
#include "claims.h"
#include "dcap-quote.h"
#include "pck-cert.h"

/*
 * Intel PCS API v4, "TCB Info V3" and "Enclave Identity V2" JSON, and the matching
 * rules of the Intel SGX/TDX Quote Verification Library (TcbLevelCheck,
 * convergeTcbStatus):
 * - platform level: the first tcbLevels entry whose 16 sgxtcbcomponents SVNs are all
 *   <= the PCK certificate's CPUSVN components and whose pcesvn <= the PCK's PCESVN;
 *   for TDX also every tdxtcbcomponents SVN <= TEE_TCB_SVN (from index 2 when
 *   TEE_TCB_SVN[1] > 0, the TDX module's major version, which the module identity covers);
 * - TDX module: tdxModuleIdentities["TDX_%02X" of TEE_TCB_SVN[1]] (or tdxModule when it
 *   is 0): MRSIGNERSEAM and masked SEAMATTRIBUTES must match; status from the first
 *   level with isvsvn <= TEE_TCB_SVN[0];
 * - QE: MRSIGNER, ISVPRODID, masked MISCSELECT and ATTRIBUTES must match; status from the
 *   first level with isvsvn <= the QE's ISVSVN;
 * - combined: an OutOfDate QE or module turns UpToDate/SWHardeningNeeded into OutOfDate
 *   and ConfigurationNeeded/ConfigurationAndSWHardeningNeeded into
 *   OutOfDateConfigurationNeeded; a Revoked one makes the result Revoked.
 * - no platform level matches: status Unknown (Intel: "TCB not supported"), with
 *   details.tcb_status_reason; policies refuse it unless they list Unknown.
 * Advisory ids of every matched level are collected into `advisories` (a JSON array).
 */

/* Check issueDate <= now <= nextUpdate of a TCB info or QE identity body. */
int veil_dcap_check_window(const json_t *body, time_t now, const char *what) _warn_unused_;

/* Platform (and TDX module) status from a TCB info body. td is NULL for SGX. */
int veil_dcap_tcb_status(const json_t *tcb_info, const struct veil_pck_info *pck, const struct veil_tdx_report_body *td,
                         enum veil_tcb_status *ret_status, json_t *advisories, json_t *details) _warn_unused_;

/* QE status from a QE identity body. */
int veil_dcap_qe_status(const json_t *qe_identity, const struct veil_sgx_report_body *qe,
                        enum veil_tcb_status *ret_status, json_t *advisories) _warn_unused_;

/* Merge a QE or TDX module status into the platform status (see above). */
enum veil_tcb_status veil_dcap_tcb_converge(enum veil_tcb_status platform, enum veil_tcb_status other);
