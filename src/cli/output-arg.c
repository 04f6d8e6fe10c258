/* SPDX-License-Identifier: Apache-2.0 */
/* The arguments of the key generators (`veil keygen`, `veil pfs keygen`): exactly `-o FILE`, or -h. */
#include "output-arg.h"

#include <getopt.h>

bool veil_cli_output_arg(int argc, char **argv, void (*usage)(FILE *out), const char **ret_out, int *ret_exit) {
    static const struct option options[] = {
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        {},
    };
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) >= 0) {
        if (c == 'o')
            out = optarg;
        else {
            usage(c == 'h' ? stdout : stderr);
            *ret_exit = c == 'h' ? 0 : 2;
            return false;
        }
    }
    if (!out || optind != argc) {
        usage(stderr);
        *ret_exit = 2;
        return false;
    }
    *ret_out = out;
    return true;
}
