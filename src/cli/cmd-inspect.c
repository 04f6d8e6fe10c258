/* SPDX-License-Identifier: Apache-2.0 */
/* `veil inspect IMAGE [--json] [--files]`: what a wrapped image is, as its signed manifest and runtime say. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "command.h"
#include "image/image.h"

static void usage(FILE *out) {
    fprintf(out, "usage: veil inspect IMAGE [--json] [--files]\n"
                 "\n"
                 "IMAGE: a wrapped OCI archive, docker-archive, OCI layout or directory. Verifies the\n"
                 "manifest's signature, recomputes measurement and signer id, and compares them with\n"
                 "the image labels (exit status 1 when they differ).\n");
}

struct counts {
    size_t by_class[8];
};

static void count(const struct veil_manifest *m, struct counts *c) {
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < veil_manifest_entry_count(m); i++) {
        struct veil_manifest_entry e;
        veil_manifest_entry_at(m, i, &e);
        c->by_class[e.class]++;
    }
}

static json_t *string_array(const char *const *v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
    return a;
}

static int print_json(const char *path, const struct veil_image_info *info, bool files, bool labels_agree) {
    const struct veil_manifest_config *cfg = veil_manifest_config(info->manifest);
    char m[65], s[65], rt[65];
    veil_hex_encode(info->measurement, 32, m);
    veil_hex_encode(info->signer_id, 32, s);
    veil_hex_encode(info->runtime_digest, 32, rt);
    struct counts c;
    count(info->manifest, &c);
    json_t *rules = json_array();
    for (size_t i = 0; i < veil_manifest_rule_count(info->manifest); i++) {
        const struct veil_manifest_rule *r = veil_manifest_rule_at(info->manifest, i);
        json_t *o = json_pack("{s:s, s:s}", "path", r->path, "class", veil_manifest_class_name(r->class));
        if (r->key_name) json_object_set_new(o, "key", json_string(r->key_name));
        json_array_append_new(rules, o);
    }
    json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:o, s:s, s:s, s:I, s:I, s:b}",
                             "image", path, "kind", info->kind, "measurement", m, "signer", s, "runtime_sha256", rt,
                             "argv", string_array(cfg->argv, cfg->argc), "env", string_array(cfg->env, cfg->env_count),
                             "host_env", string_array(cfg->host_env, cfg->host_env_count), "workdir", cfg->cwd,
                             "uid", (json_int_t)cfg->uid, "gid", (json_int_t)cfg->gid,
                             "counts", "trusted", (json_int_t)c.by_class[VEIL_MANIFEST_TRUSTED],
                             "encrypted", (json_int_t)c.by_class[VEIL_MANIFEST_ENCRYPTED],
                             "directories", (json_int_t)c.by_class[VEIL_MANIFEST_DIRECTORY],
                             "symlinks", (json_int_t)c.by_class[VEIL_MANIFEST_SYMLINK],
                             "rules", rules, "attestation_address", cfg->attest_address, "attestation_policy", cfg->attest_policy,
                             "product_id", (json_int_t)cfg->product_id, "security_version", (json_int_t)cfg->security_version,
                             "labels_agree", labels_agree);
    if (!root) return -ENOMEM;
    if (info->label_measurement) json_object_set_new(root, "label_measurement", json_string(info->label_measurement));
    if (info->label_signer) json_object_set_new(root, "label_signer", json_string(info->label_signer));
    if (files) {
        json_t *list = json_array();
        for (size_t i = 0; i < veil_manifest_entry_count(info->manifest); i++) {
            struct veil_manifest_entry e;
            char h[65];
            veil_manifest_entry_at(info->manifest, i, &e);
            veil_hex_encode(e.sha256, 32, h);
            json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "path", e.path, "class", veil_manifest_class_name(e.class),
                                  "mode", (json_int_t)e.mode, "uid", (json_int_t)e.uid, "gid", (json_int_t)e.gid, "size", (json_int_t)e.size);
            if (e.class == VEIL_MANIFEST_TRUSTED || e.class == VEIL_MANIFEST_ENCRYPTED) json_object_set_new(o, "sha256", json_string(h));
            if (e.class == VEIL_MANIFEST_SYMLINK) json_object_set_new(o, "target", json_string(e.target));
            json_array_append_new(list, o);
        }
        json_object_set_new(root, "files", list);
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text) return -ENOMEM;
    puts(text);
    free(text);
    return 0;
}

static void print_text(const char *path, const struct veil_image_info *info, bool files) {
    const struct veil_manifest_config *cfg = veil_manifest_config(info->manifest);
    char m[65], s[65];
    veil_hex_encode(info->measurement, 32, m);
    veil_hex_encode(info->signer_id, 32, s);
    struct counts c;
    count(info->manifest, &c);
    printf("image        %s (%s)\n", path, info->kind);
    printf("measurement  %s\n", m);
    printf("signer       %s\n", s);
    printf("entrypoint  ");
    for (size_t i = 0; i < cfg->argc; i++) printf(" %s", cfg->argv[i]);
    printf("\nworkdir      %s\nuser         %u:%u\n", cfg->cwd, cfg->uid, cfg->gid);
    printf("env          %zu variables", cfg->env_count);
    if (cfg->host_env_count) {
        printf("; from the host:");
        for (size_t i = 0; i < cfg->host_env_count; i++) printf(" %s", cfg->host_env[i]);
    }
    printf("\nfiles        %zu trusted, %zu encrypted, %zu directories, %zu symlinks\n", c.by_class[VEIL_MANIFEST_TRUSTED],
           c.by_class[VEIL_MANIFEST_ENCRYPTED], c.by_class[VEIL_MANIFEST_DIRECTORY], c.by_class[VEIL_MANIFEST_SYMLINK]);
    for (size_t i = 0; i < veil_manifest_rule_count(info->manifest); i++) {
        const struct veil_manifest_rule *r = veil_manifest_rule_at(info->manifest, i);
        printf("%-12s %s%s%s\n", veil_manifest_class_name(r->class), r->path, r->key_name ? " key " : "", r->key_name ? r->key_name : "");
    }
    printf("attestation  %s%s%s\n", *cfg->attest_address ? cfg->attest_address : "(none)", *cfg->attest_policy ? " policy " : "",
           cfg->attest_policy);
    printf("product      id %u, security version %u\n", cfg->product_id, cfg->security_version);
    if (files)
        for (size_t i = 0; i < veil_manifest_entry_count(info->manifest); i++) {
            struct veil_manifest_entry e;
            char h[65];
            veil_manifest_entry_at(info->manifest, i, &e);
            veil_hex_encode(e.sha256, 32, h);
            printf("%-9s %04o %u:%u %10llu %s %s%s%s\n", veil_manifest_class_name(e.class), e.mode, e.uid, e.gid,
                   (unsigned long long)e.size, e.class == VEIL_MANIFEST_TRUSTED || e.class == VEIL_MANIFEST_ENCRYPTED ? h : "-",
                   e.path, e.class == VEIL_MANIFEST_SYMLINK ? " -> " : "", e.target);
        }
}

int veil_cmd_inspect(int argc, char **argv) {
    static const struct option options[] = {
        { "json", no_argument, NULL, 'j' },
        { "files", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        {},
    };
    bool json = false, files = false;
    int c;
    while ((c = getopt_long(argc, argv, "jfh", options, NULL)) >= 0) {
        if (c == 'j')
            json = true;
        else if (c == 'f')
            files = true;
        else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    struct veil_image_info info;
    veil_err_clear();
    int r = veil_image_inspect(path, &info);
    if (r < 0) {
        fprintf(stderr, "veil inspect: %s\n", veil_err_describe(r));
        return 1;
    }
    char m[65], s[65];
    veil_hex_encode(info.measurement, 32, m);
    veil_hex_encode(info.signer_id, 32, s);
    bool agree = (!info.label_measurement || !strcmp(info.label_measurement, m)) && (!info.label_signer || !strcmp(info.label_signer, s));
    if (json)
        r = print_json(path, &info, files, agree);
    else
        print_text(path, &info, files);
    if (!agree)
        fprintf(stderr, "veil inspect: the image labels (measurement %s, signer %s) do not match the image's contents\n",
                info.label_measurement ? info.label_measurement : "-", info.label_signer ? info.label_signer : "-");
    veil_image_info_done(&info);
    return r < 0 || !agree ? 1 : 0;
}
