/* SPDX-License-Identifier: Apache-2.0 */
/* The supervisor: receives seccomp notifications and answers them by the policy. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/macro.h"
#include "policy.h"
#include "vault-hooks.h"

struct veil_nettls;

struct veil_shield_options {
    const char *root;                       /* host path of the image root; "/" in a container */
    const struct veil_shield_policy *policy;
    /* The 32-byte key for a key name, or NULL when unknown. Lives as long as the supervisor. */
    const uint8_t *(*key)(void *ctx, const char *name);
    void *key_ctx;
    const uint8_t *ephemeral_key;           /* 32 bytes made for this run */
    unsigned threads;                       /* receivers on the listener (>= 1) */
    bool sync_wakeup;
    bool switch_ids;                        /* the app runs as app_uid/app_gid, not as the supervisor */
    uid_t app_uid;
    gid_t app_gid;                       /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP where the kernel has it */
    /* Told about every encrypted file stored, loaded and removed (attest.c keeps volume
     * versions with them); NULL: none. Must outlive the supervisor. */
    const struct veil_shield_vault_hooks *vault_hooks;
    /* Attested TLS for the image's network rules (net.c, docs/nettls.md); NULL: bind/connect are not mediated. */
    struct veil_nettls *nettls;
};

struct veil_shield;

int veil_shield_new(const struct veil_shield_options *o, struct veil_shield **ret) _warn_unused_;
/* Start the receiving threads on the listener (the supervisor owns it from now on). */
int veil_shield_serve(struct veil_shield *s, int listener) _warn_unused_;
/* Write encrypted copies back (force: also the ones that may have changed through mmap). */
int veil_shield_flush(struct veil_shield *s, bool force) _warn_unused_;
/* Write back and drop the decrypted copies no process holds any more (the last user exited). */
int veil_shield_collect(struct veil_shield *s) _warn_unused_;
/*
 * Check the entrypoint (and its interpreter) before starting it; the detail
 * names the file. An encrypted entrypoint is decrypted into a sealed memory
 * file, returned in *ret_exec_fd for fexecve (else -1): the kernel could only
 * read its ciphertext from disk.
 */
int veil_shield_verify_exec(struct veil_shield *s, const char *cwd, const char *path, int *ret_exec_fd) _warn_unused_;
/* Counters for the log at exit. */
uint64_t veil_shield_notification_count(const struct veil_shield *s);
