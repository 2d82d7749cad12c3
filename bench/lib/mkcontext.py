#!/usr/bin/env python3
"""Writes the build bench's context: a tree of small source-like files and a few large
assets, all of incompressible bytes from a seeded generator (the same tree on every run),
plus the multi-stage Dockerfile and a .dockerignore.

usage: mkcontext.py DIR [SOURCES] [ASSETS] [ASSET_MIB]
"""

import os
import random
import sys

DOCKERFILE = """\
# Stage 1: reads every source file and writes a digest of them.
FROM busybox:bench AS build
COPY src/ /src/
RUN mkdir -p /out && find /src -type f | sort | xargs cat | sha256sum > /out/src.sha256 \\
    && find /src -type f | wc -l > /out/count
# Final: the assets (stable, first), then the build stage's output.
FROM busybox:bench
COPY assets/ /assets/
COPY --from=build /out/ /out/
CMD ["cat", "/out/src.sha256"]
"""

DOCKERIGNORE = """\
scratch/
**/*.tmp
"""


def main() -> None:
    root = sys.argv[1]
    sources = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    assets = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    asset_mib = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    rng = random.Random(20240905)
    # src/pkgNN/modMM/fileKKKK.c: 100 files a directory, 1-7.5 KiB each (about 4 KiB).
    for i in range(sources):
        directory = os.path.join(root, "src", f"pkg{i // 1000:02d}", f"mod{i // 100 % 10:02d}")
        if i % 100 == 0:
            os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, f"file{i:05d}.c"), "wb") as f:
            f.write(rng.randbytes(rng.randint(1024, 7680)))
    os.makedirs(os.path.join(root, "assets"), exist_ok=True)
    for i in range(assets):
        with open(os.path.join(root, "assets", f"blob{i:02d}.bin"), "wb") as f:
            for _ in range(asset_mib):
                f.write(rng.randbytes(1 << 20))
    # What .dockerignore leaves out: never sent, never copied.
    os.makedirs(os.path.join(root, "scratch"), exist_ok=True)
    for i in range(20):
        with open(os.path.join(root, "scratch", f"junk{i}.o"), "wb") as f:
            f.write(rng.randbytes(64 * 1024))
    with open(os.path.join(root, "src", "pkg00", "editor.tmp"), "wb") as f:
        f.write(b"swap file\n")
    with open(os.path.join(root, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    with open(os.path.join(root, ".dockerignore"), "w") as f:
        f.write(DOCKERIGNORE)


if __name__ == "__main__":
    main()
