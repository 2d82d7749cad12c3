#!/usr/bin/env bash
# Builds berth and runs one container with it: a busybox bundle made from the host's static
# busybox, run by `berth runtime run`, then removed. Nothing is left behind.
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
berth_say "container exited; cleaned up"
