/* SPDX-License-Identifier: Apache-2.0 */
/* `veil version` */
#include <stdio.h>

#include "command.h"

int veil_cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("veil %s\n", VEIL_VERSION);
    return 0;
}
