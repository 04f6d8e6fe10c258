/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL set up for a process inside the trust boundary: nothing the host supplies tunes it. */
#pragma once

#include "base/macro.h"

/*
 * Call first thing in main() of veil-run. OpenSSL would otherwise read a
 * configuration file whose path (OPENSSL_CONF) and contents come from the host —
 * it can load providers and change defaults — and it has already applied
 * OPENSSL_ia32cap from the environment before main() (a constructor), which can
 * switch AES-NI off and so bring back table-based AES, readable through cache
 * timing. So: no configuration file is loaded, and any OPENSSL_* variable in
 * the environment is refused with -EPERM naming it.
 */
int veil_ossl_init_isolated(void) _warn_unused_;
