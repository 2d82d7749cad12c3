#!/usr/bin/env bash
# Builds berth and shows its main job so far, on embedded defaults (no external service):
#   1. a container from a busybox bundle made from the host's static busybox (`berth runtime`);
#   2. the image workflow offline: `berth import` a base image from that rootfs, serve a
#      registry (`berth registry serve`), push to it, pull into a fresh data root (layers
#      unpacked into snapshots) and run a container on the pulled image's snapshot.
# Everything runs in a temp dir and is removed at the end.
#
# BERTH_DEMO_RUNTIME overrides the runtime command (e.g. `runc`) to compare behaviour.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
repo=$(berth_repo_root)
cd "$repo"

berth_require_root
berth_ensure_packages busybox-static
berth_ensure_cargo

if [[ -n ${BERTH_DEMO_RUNTIME:-} ]]; then
    read -r -a runtime <<<"$BERTH_DEMO_RUNTIME"
else
    berth_say "building berth (cargo build --release)"
    cargo build --release --quiet --bin berth
    runtime=("$repo/target/release/berth" runtime)
fi

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
id="berth-demo-$$"
cleanup() {
    "${runtime[@]}" --root "$work/state" delete --force "$id" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

berth_make_busybox_bundle "$work/bundle" berth-demo sh -c '
echo "hostname: $(hostname)"
echo "id:       $(id)"
echo "root:     $(touch /probe 2>&1 || true)"
echo "processes in the container (sh is pid 1):"
ps -o pid,user,comm
echo "shell pid: $$"'

berth_say "running a busybox container: ${runtime[*]} run --bundle $work/bundle $id"
"${runtime[@]}" --root "$work/state" run --bundle "$work/bundle" "$id"
berth_say "container exited"

if [[ -n ${BERTH_DEMO_RUNTIME:-} ]]; then
    exit 0
fi
berth=("$repo/target/release/berth")
berth_say "making a base image offline: berth import (a one-layer image from a rootfs tarball)"
tar -C "$work/bundle/rootfs" -cf "$work/rootfs.tar" .
"${berth[@]}" --data-root "$work/data" import -c 'CMD ["sh"]' "$work/rootfs.tar" demo/busybox:1
"${berth[@]}" --data-root "$work/data" images

berth_say "serving a registry on loopback: berth registry serve"
"${berth[@]}" registry serve --listen 127.0.0.1:0 --root "$work/registry" 2>"$work/registry.log" &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true; cleanup' EXIT
address=""
for _ in $(seq 100); do
    address=$(sed -n 's/^berth registry: serving on //p' "$work/registry.log")
    [[ -n $address ]] && break
    sleep 0.05
done
[[ -n $address ]] || berth_die "the registry did not start: $(cat "$work/registry.log")"

image="$address/demo/busybox:1"
berth_say "pushing $image"
"${berth[@]}" --data-root "$work/data" tag demo/busybox:1 "$image"
"${berth[@]}" --data-root "$work/data" push "$image" 2>/dev/null
berth_say "pulling it into a fresh data root (download, verify, unpack in one pass)"
"${berth[@]}" --data-root "$work/pulled" pull "$image" 2>/dev/null
"${berth[@]}" --data-root "$work/pulled" images

# A one-layer image's snapshot is named by its diff id (its chain id).
diff_id=$("${berth[@]}" --data-root "$work/pulled" image inspect "$image" | sed -n 's/.*"sha256:\([0-9a-f]\{64\}\)".*/\1/p' | tail -n 1)
snapshot="$work/pulled/snapshots/$diff_id/fs"
[[ -d $snapshot ]] || berth_die "no snapshot at $snapshot"
berth_make_busybox_bundle "$work/pulled-bundle" from-the-registry sh -c 'echo "hello from $(hostname), pid $$, on the pulled image"'
sed -i "s#\"path\": \"rootfs\"#\"path\": \"$snapshot\"#" "$work/pulled-bundle/config.json"
berth_say "running a container on the pulled image"
"${berth[@]}" runtime --root "$work/state" run --bundle "$work/pulled-bundle" "$id-pulled"
berth_say "done; cleaning up"
