#!/usr/bin/env bash
# A multi-stage build with a real toolchain, on berth alone:
#   1. a Debian base image: `debootstrap --variant=minbase` from this host's Debian mirror,
#      slimmed as Docker's debian:*-slim images are, tarred and `berth import`ed
#      (berth_debian_base_tar in scripts/lib.sh);
#   2. the engine (`berth daemon`) on temp roots;
#   3. `berth build` of this directory's Dockerfile: gcc installed with apt-get in the
#      `build` stage (through the engine's bridge and NAT), hello.c compiled statically,
#      the binary copied into a `scratch` image;
#   4. `berth run --rm` of that image, which prints the program's output.
# Everything runs in a temp dir (its own data root, exec root and bridge) and is removed at
# the end. BERTH=/path/to/berth uses that binary instead of building one (cargo build
# --release); DEBIAN_SUITE picks the Debian release (default bookworm).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/../../scripts/lib.sh"
repo=$(berth_repo_root)

berth_require_root
berth_ensure_packages debootstrap debian-archive-keyring iproute2 nftables

if [[ -z ${BERTH:-} ]]; then
    berth_ensure_cargo
    berth_say "building berth (cargo build --release)"
    (cd "$repo" && cargo build --release --quiet --bin berth)
    BERTH=$repo/target/release/berth
fi
[[ -x $BERTH ]] || berth_die "$BERTH is not an executable berth"
suite=${DEBIAN_SUITE:-bookworm}

work=$(mktemp -d /tmp/berth-toolchain.XXXXXX)
instance="tc$((RANDOM % 10000))"
berth=("$BERTH" --data-root "$work/data" --exec-root "$work/exec")
BERTH_DAEMON_PID=""
cleanup() {
    berth_stop_daemon_and_clean "$BERTH_DAEMON_PID" "$instance" "$work"
}
trap cleanup EXIT

berth_say "1. a slim Debian $suite base image: debootstrap, then berth import"
start=$SECONDS
berth_debian_base_tar "$suite" "$work/base.tar"
"${berth[@]}" import -c 'CMD ["bash"]' "$work/base.tar" "toolchain-example/debian:$suite" >/dev/null
rm -f "$work/base.tar"
berth_say "   made and imported in $((SECONDS - start)) s"

berth_say "2. the engine: berth daemon (Docker Engine API on $work/exec/berth.sock)"
berth_start_daemon "$BERTH" "$work" "$instance"

berth_say "3. berth build -t toolchain-example/hello $here"
start=$SECONDS
"${berth[@]}" build --build-arg "BASE=toolchain-example/debian:$suite" \
    -t toolchain-example/hello "$here"
berth_say "   built in $((SECONDS - start)) s"
"${berth[@]}" images

berth_say "4. berth run --rm toolchain-example/hello (a scratch image: the binary alone)"
"${berth[@]}" run --rm toolchain-example/hello
berth_say "done: the daemon stops and the temp dir goes"
