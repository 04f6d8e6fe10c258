/* SPDX-License-Identifier: Apache-2.0 */
/* `veil-cas`: the attestation and secret service daemon. */
#include "base/log.h"
#include "serve-main.h"

int main(int argc, char **argv) {
    veil_log_setup_from_env("veil-cas");
    return veil_cas_serve_main(argc, argv);
}
