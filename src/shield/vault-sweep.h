/* SPDX-License-Identifier: Apache-2.0 */
/* Interrupted write-backs: the ciphertext temporary a crash left beside the file it was to replace. */
#pragma once

#include <stddef.h>
#include <time.h>

/*
 * A write-back links its new file under a temporary name (".veil.<16 hex>.tmp",
 * base/fileio.c) and renames it over the old one; a crash between the two
 * leaves that name behind: ciphertext, never plaintext, beside the intact old
 * version, but it wastes space and shows up in the application's directory
 * listings. The vault sweeps each directory once per run, the first time it
 * opens or creates an encrypted file there, and removes such temporaries last
 * written before `before` (a minute before this run started: a temporary that
 * recent may still be another writer's, between its fsync, link and rename).
 */
struct vault_sweep {
    time_t before;
    char **done; /* directories swept this run, by host path: a repeat costs no system call */
    size_t count, capacity;
};

/* Sweep the directory holding host path `file_path`, unless done already this run. */
void vault_sweep_once(struct vault_sweep *s, const char *file_path);
void vault_sweep_clear(struct vault_sweep *s);
