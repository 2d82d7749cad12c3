#!/usr/bin/env python3
"""Writes a bench image as an OCI image layout directory, without any container tool.

Kinds:
  random N SIZE   N layers, each one file of SIZE bytes of random data (incompressible).
  tree DIR...     one layer per host directory, e.g. /usr/bin (realistic compressibility).
  tiny            one layer with two small text files (for request-rate benches).

Layers are tar+gzip at --level (1 for random data: gzip cannot shrink it anyway).
The layout has one manifest, tagged --tag, for linux/amd64. Prints two numbers: the bytes a
registry stores (layers + config + manifest) and the layers' total size as uncompressed tar.
"""

import argparse
import hashlib
import io
import json
import os
import sys
import tarfile
import zlib

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class HashingGzipWriter(io.RawIOBase):
    """A file object for tarfile: hashes the tar (diffID), gzips it, hashes and writes the gzip."""

    def __init__(self, path, level):
        self.out = open(path, "wb")
        self.diff = hashlib.sha256()
        self.blob = hashlib.sha256()
        self.size = 0
        self.tar_size = 0
        # wbits 31: a gzip wrapper; fixed header (mtime 0) so the blob is reproducible.
        self.z = zlib.compressobj(level, zlib.DEFLATED, 31)

    def writable(self):
        return True

    def _emit(self, data):
        if data:
            self.blob.update(data)
            self.out.write(data)
            self.size += len(data)

    def write(self, data):
        self.diff.update(data)
        self.tar_size += len(data)
        self._emit(self.z.compress(data))
        return len(data)

    def finish(self):
        self._emit(self.z.flush())
        self.out.close()


def add_blob(layout, path_or_bytes, digest=None):
    blobs = os.path.join(layout, "blobs", "sha256")
    if isinstance(path_or_bytes, bytes):
        digest = hashlib.sha256(path_or_bytes).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(path_or_bytes)
        return digest, len(path_or_bytes)
    os.rename(path_or_bytes, os.path.join(blobs, digest))
    return digest, os.path.getsize(os.path.join(blobs, digest))


def write_layer(layout, level, fill):
    tmp = os.path.join(layout, "layer.tmp")
    w = HashingGzipWriter(tmp, level)
    with tarfile.open(fileobj=w, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        fill(tar)
    w.finish()
    digest, size = add_blob(layout, tmp, w.blob.hexdigest())
    desc = {"mediaType": LAYER, "digest": "sha256:" + digest, "size": size}
    return desc, "sha256:" + w.diff.hexdigest(), w.tar_size


class RandomReader:
    """SIZE bytes of os.urandom, read in chunks by tarfile."""

    def __init__(self, size):
        self.left = size

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return os.urandom(n)


def random_layer(index, size):
    def fill(tar):
        info = tarfile.TarInfo(f"data/layer{index}.bin")
        info.size = size
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, RandomReader(size))
    return fill


def tree_layer(root):
    def fill(tar):
        # Sorted walk, the path inside the image is the host path without the leading "/".
        def add(path):
            arc = path.lstrip("/")
            try:
                info = tar.gettarinfo(path, arc)
            except OSError:
                return
            if info is None:  # sockets and the like
                return
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            if info.isdir():
                for name in sorted(os.listdir(path)):
                    add(os.path.join(path, name))
        add(root)
    return fill


def tiny_layer():
    def fill(tar):
        for name, text in (("etc/motd", b"berth bench\n"), ("hello.txt", b"hello, registry\n" * 64)):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(text))
    return fill


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", default="bench")
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("kind", choices=["random", "tree", "tiny"])
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()

    layout = a.out
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    if a.kind == "random":
        count, size = int(a.args[0]), int(a.args[1])
        fills = [random_layer(i, size) for i in range(count)]
    elif a.kind == "tree":
        fills = [tree_layer(d) for d in a.args]
    else:
        fills = [tiny_layer()]

    layers, diff_ids, tar_total = [], [], 0
    for n, fill in enumerate(fills):
        desc, diff_id, tar_size = write_layer(layout, a.level, fill)
        layers.append(desc)
        diff_ids.append(diff_id)
        tar_total += tar_size
        print(f"layer {n}: {desc['size']} bytes ({tar_size} as tar)", file=sys.stderr)

    config = {
        "created": "2026-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "bench/lib/mkimage.py"}] * len(layers),
    }
    cdigest, csize = add_blob(layout, json.dumps(config, separators=(",", ":")).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "digest": "sha256:" + cdigest, "size": csize},
        "layers": layers,
    }
    mdigest, msize = add_blob(layout, json.dumps(manifest, separators=(",", ":")).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": MANIFEST, "digest": "sha256:" + mdigest, "size": msize,
            "annotations": {"org.opencontainers.image.ref.name": a.tag},
        }],
    }
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    total = sum(l["size"] for l in layers) + csize + msize
    print(total, tar_total)


if __name__ == "__main__":
    main()
