#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Builds small OCI layout directories for the wrap tests: from layer tars, or hostile ones on purpose.
#   make-oci.py OUTDIR LAYER.tar...              a valid image with these layers (bottom first)
#   make-oci.py --hostile KIND OUTDIR            KIND: dotdot device symlink-escape duplicate
#                                                      digest-mismatch config-not-json
import hashlib, io, json, os, sys, tarfile


def blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest


def make(root, layers, config_raw=None, corrupt_layer=False):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    descs = []
    for data in layers:
        d = blob(root, data)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": len(data)})
    config = config_raw if config_raw is not None else json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/bin/sh"], "Cmd": ["-c", "echo hi"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in descs]},
    }).encode()
    cd = blob(root, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd,
                                      "size": len(config)}, "layers": descs}).encode()
    md = blob(root, manifest)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                      "digest": md, "size": len(manifest)}]}, f)
    if corrupt_layer:
        path = os.path.join(root, "blobs", "sha256", descs[0]["digest"][7:])
        data = bytearray(open(path, "rb").read())
        data[600] ^= 1  # a content byte: still a valid tar, but not the blob the manifest names
        open(path, "wb").write(bytes(data))


def tar_of(members):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m in members:
            info = tarfile.TarInfo(m["name"])
            info.type = m.get("type", tarfile.REGTYPE)
            info.mode = m.get("mode", 0o755)
            data = m.get("data", b"")
            if info.type == tarfile.REGTYPE:
                info.size = len(data)
            info.linkname = m.get("link", "")
            if info.type == tarfile.CHRTYPE:
                info.devmajor, info.devminor = 1, 3
            t.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return out.getvalue()


BASE = [{"name": "bin/sh", "data": b"#!fake shell\n" * 100}]
HOSTILE = {
    "dotdot": BASE + [{"name": "app/../../escape", "data": b"x"}],
    "device": BASE + [{"name": "dev/mem", "type": tarfile.CHRTYPE}],
    "symlink-escape": BASE + [{"name": "etc/evil", "type": tarfile.SYMTYPE, "link": "../../../../etc/shadow"}],
    "duplicate": BASE + [{"name": "app/x", "data": b"1"}, {"name": "app/x", "data": b"2"}],
}

if __name__ == "__main__":
    if sys.argv[1] == "--hostile":
        kind, root = sys.argv[2], sys.argv[3]
        if kind in HOSTILE:
            make(root, [tar_of(HOSTILE[kind])])
        elif kind == "digest-mismatch":
            make(root, [tar_of(BASE)], corrupt_layer=True)
        elif kind == "config-not-json":
            make(root, [tar_of(BASE)], config_raw=b"this is not { json")
        else:
            sys.exit("unknown kind " + kind)
    else:
        make(sys.argv[1], [open(p, "rb").read() for p in sys.argv[2:]])
