/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's command line (shared by `veil-cas` and `veil cas serve`). */
#pragma once

/* Parse options and run the server; returns the process exit code. */
int veil_cas_serve_main(int argc, char **argv);
