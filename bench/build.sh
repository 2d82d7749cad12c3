#!/usr/bin/env bash
# Builder bench: `berth build` against `DOCKER_BUILDKIT=0 docker build` on a private dockerd
# and `buildah bud --layers`, on the same multi-stage Dockerfile and the same large context
# (>= 10,000 files, >= 200 MB of incompressible bytes; bench/lib/mkcontext.py), in three
# scenarios:
#   a. cold: nothing cached (fresh roots for berth and buildah, the build's images removed
#      on dockerd), the base image present;
#   b. no-change rebuild;
#   c. rebuild after one small source file changed.
# Rounds are interleaved (each scenario runs on every side before the next scenario, in an
# order that rotates), after a warm-up round. Prints min / median / max per side and
# scenario, and the medians of the per-round ratios peer/berth; the last line is the
# headline. After the rounds, every side's image is checked to hold the digest of the
# changed sources. See bench/README.md.
#
# Environment (all optional):
#   BENCH_ROUNDS      measured rounds (default 10)
#   BENCH_BERTH       a berth binary to measure (default: built here, --release)
#   BENCH_SIDES       sides, among: berth docker buildah dockercli_berth
#                     (default: berth docker buildah; dockercli_berth adds the docker CLI against a
#                     berth daemon of its own: the tar transport, as any docker client)
#   BENCH_SOURCES     small source files (default 10000)
#   BENCH_ASSETS      large assets (default 10) of BENCH_ASSET_MIB MiB (default 20)
#   BENCH_BUILDAH_DRIVER  buildah's storage driver (default overlay)
#   BENCH_DOCKER_BIP  address of dockerd's bridge (default 10.123.0.1/24; must be unrouted)
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
# shellcheck source=bench/lib/daemons.sh
source "$BENCH_DIR/lib/daemons.sh"

rounds=${BENCH_ROUNDS:-10}
read -r -a sides <<<"${BENCH_SIDES:-berth docker buildah}"
sources=${BENCH_SOURCES:-10000}
assets=${BENCH_ASSETS:-10}
asset_mib=${BENCH_ASSET_MIB:-20}
buildah_driver=${BENCH_BUILDAH_DRIVER:-overlay}
bip=${BENCH_DOCKER_BIP:-10.123.0.1/24}
[[ $rounds =~ ^[0-9]+$ && $rounds -ge 1 ]] || die "BENCH_ROUNDS must be a number >= 1"
[[ ${sides[0]} == berth ]] || die "BENCH_SIDES must start with berth (the ratios are to it)"
for side in "${sides[@]}"; do
    case $side in berth | docker | buildah | dockercli_berth) ;; *) die "unknown side $side" ;; esac
done

berth_require_root
berth_ensure_packages busybox-static docker.io buildah iptables nftables iproute2 python3
need dockerd containerd docker buildah nft iptables ip python3
if [[ -n ${BENCH_BERTH:-} ]]; then
    BERTH=$BENCH_BERTH
else
    berth_ensure_cargo
    log "building berth (cargo build --release --bin berth)"
    (cd "$REPO_ROOT" && cargo build --release --quiet --bin berth) || die "cargo build failed"
    BERTH="$REPO_ROOT/target/release/berth"
fi
export DOCKER_BUILDKIT=0

# Short: unix socket paths under it must stay below 108 bytes. Registered first, removed last.
work=$(mktemp -d /tmp/bbb.XXXXXX)
on_exit "rm -rf '$work'"
on_exit "unmount_under '$work'"
DOCKER_CLI_CONFIG=$work/cli
mkdir -p "$DOCKER_CLI_CONFIG"
tag=$$
image=bench-out:latest

ctx=$work/ctx
log "writing the context ($sources source files, $assets x $asset_mib MiB assets)"
python3 "$BENCH_DIR/lib/mkcontext.py" "$ctx" "$sources" "$assets" "$asset_mib"
ctx_files=$(find "$ctx" -type f | wc -l)
ctx_bytes=$(du -sb "$ctx" | awk '{ print $1 }')
changed=$ctx/src/pkg03/mod04/file03412.c
[[ -f $changed ]] || changed=$(find "$ctx/src" -name '*.c' | sort | head -1)

berth_make_busybox_bundle "$work/bundle" bench true
tar -C "$work/bundle/rootfs" -cf "$work/busybox.tar" .

# --- the sides -------------------------------------------------------------------------------
log "starting dockerd (bridge bbd$tag, $bip)"
start_private_dockerd "$work/d" "bbd$tag" "$bip" "/bench-docker-$tag" "bd$tag"
docker_at "$DOCKERD_HOST" import "$work/busybox.tar" busybox:bench >/dev/null
# buildah's base: the very image dockerd holds.
docker_at "$DOCKERD_HOST" save -o "$work/busybox-image.tar" busybox:bench

# berth daemons, one per berth side (their caches must not serve each other), restarted on a
# fresh data root for each cold build. Instances: bb<PID> (berth CLI), bc<PID> (docker CLI).
declare -A berth_dir berth_host berth_pid berth_gen
berth_instance() { case $1 in berth) echo "bb$tag" ;; *) echo "bc$tag" ;; esac; }
berth_fresh() {
    local side=$1 instance gen
    instance=$(berth_instance "$side")
    if [[ -n ${berth_pid[$side]:-} ]]; then
        BERTH_PID=${berth_pid[$side]}
        berth_daemon_cleanup "${berth_dir[$side]}" "$instance" "/bench-$instance"
        rm -rf "${berth_dir[$side]}"
    fi
    gen=$((${berth_gen[$side]:-0} + 1))
    berth_gen[$side]=$gen
    start_berth_daemon "$work/$side$gen" "$instance" "/bench-$instance"
    berth_dir[$side]=$BERTH_DIR
    berth_host[$side]=$BERTH_HOST
    berth_pid[$side]=$BERTH_PID
    docker_at "$BERTH_HOST" import "$work/busybox.tar" busybox:bench >/dev/null
}

# buildah: a fresh --root / --runroot for each cold build.
buildah_gen=0
buildah_at() {
    buildah --root "$work/bh$buildah_gen/root" --runroot "$work/bh$buildah_gen/run" \
        --storage-driver "$buildah_driver" "$@"
}
buildah_fresh() {
    if ((buildah_gen > 0)); then
        buildah_at rm -a >/dev/null 2>&1 || true
        buildah_at unshare true >/dev/null 2>&1 || true
        unmount_under "$work/bh$buildah_gen"
        rm -rf "$work/bh$buildah_gen"
    fi
    buildah_gen=$((buildah_gen + 1))
    buildah_at pull -q "docker-archive:$work/busybox-image.tar" >/dev/null
    buildah_at tag "$(buildah_at images -q | head -1)" busybox:bench
}

# docker: the build's images go (the legacy builder's cache is its intermediate images).
docker_fresh() {
    local left
    docker_at "$DOCKERD_HOST" rmi -f "$image" >/dev/null 2>&1 || true
    docker_at "$DOCKERD_HOST" image prune -f >/dev/null
    left=$(docker_at "$DOCKERD_HOST" images -aq | wc -l)
    [[ $left -eq 1 ]] || die "dockerd keeps $left images after the clean-up, expected busybox only"
}

fresh() {
    case $1 in
    berth | dockercli_berth) berth_fresh "$1" ;;
    docker) docker_fresh ;;
    buildah) buildah_fresh ;;
    esac
}

build_on() {
    case $1 in
    berth)
        "$BERTH" --data-root "${berth_dir[berth]}/data" --exec-root "${berth_dir[berth]}/x" \
            -H "${berth_host[berth]}" build -q -t "$image" "$ctx"
        ;;
    docker) docker_at "$DOCKERD_HOST" build -q -t "$image" "$ctx" ;;
    dockercli_berth) docker_at "${berth_host[dockercli_berth]}" build -q -t "$image" "$ctx" ;;
    buildah) buildah_at bud --layers -q -t "$image" "$ctx" ;;
    esac
}

# time_build FILE SIDE: one build; its wall time in seconds appended to FILE. A failing build
# stops the bench (timing a failure means nothing).
time_build() {
    local file=$1 side=$2 start end
    start=${EPOCHREALTIME/./}
    build_on "$side" </dev/null >/dev/null 2>"$work/stderr" ||
        { cat "$work/stderr" >&2; die "$side: build failed"; }
    end=${EPOCHREALTIME/./}
    awk -v us=$((end - start)) 'BEGIN { printf "%.3f\n", us / 1e6 }' >>"$file"
}

for side in "${sides[@]}"; do
    case $side in berth | dockercli_berth) berth_fresh "$side" ;; buildah) buildah_fresh ;; esac
done

# round N DIR: the three scenarios on every side, in an order rotated by N.
round() {
    local n=$1 dir=$2 k side
    local -a order=()
    for ((k = 0; k < ${#sides[@]}; k++)); do order+=("${sides[(n + k) % ${#sides[@]}]}"); done
    mkdir -p "$dir"
    for side in "${order[@]}"; do
        fresh "$side"
        time_build "$dir/cold.$side" "$side"
    done
    for side in "${order[@]}"; do time_build "$dir/nochange.$side" "$side"; done
    printf 'edited in round %d\n' "$n" >>"$changed"
    for side in "${order[@]}"; do time_build "$dir/onechange.$side" "$side"; done
}

log "context: $ctx_files files, $ctx_bytes bytes; sides: ${sides[*]}"
log "warm-up round"
round 0 "$work/warmup"
for ((n = 1; n <= rounds; n++)); do
    log "round $n/$rounds"
    round "$n" "$work/t"
done

# --- every side built what the Dockerfile says -----------------------------------------------
expected=$(cd "$ctx" && find src -type f ! -name '*.tmp' | LC_ALL=C sort | xargs cat | sha256sum)
for side in "${sides[@]}"; do
    case $side in
    berth | dockercli_berth)
        got=$(docker_at "${berth_host[$side]}" run --rm "$image" 2>&1) ;;
    docker) got=$(docker_at "$DOCKERD_HOST" run --rm "$image" 2>&1) ;;
    buildah)
        cid=$(buildah_at from -q "$image")
        got=$(cat "$(buildah_at mount "$cid")/out/src.sha256")
        buildah_at rm "$cid" >/dev/null
        ;;
    esac
    [[ $got == "$expected" ]] || die "$side's image holds '$got', expected '$expected'"
done
log "every side's image holds the digest of the edited sources"

# --- report ----------------------------------------------------------------------------------
label() {
    case $1 in
    berth) echo "berth CLI -> berth daemon" ;;
    docker) echo "docker CLI -> dockerd" ;;
    buildah) echo "buildah bud --layers ($buildah_driver)" ;;
    dockercli_berth) echo "docker CLI -> berth daemon" ;;
    esac
}
scenario_title() {
    case $1 in
    cold) echo "a. cold build (nothing cached, base image present)" ;;
    nochange) echo "b. no-change rebuild" ;;
    onechange) echo "c. rebuild after one source file changed" ;;
    esac
}
echo "build: berth $(git -C "$REPO_ROOT" rev-parse --short HEAD) vs dockerd $(docker_at "$DOCKERD_HOST" version -f '{{.Server.Version}}') ($(docker_at "$DOCKERD_HOST" info -f '{{.Driver}}'), DOCKER_BUILDKIT=0, docker CLI $(docker version -f '{{.Client.Version}}' 2>/dev/null)), $(buildah --version | awk '{ print $1, $3 }'); $(nproc) cpus; kernel $(uname -r)"
echo "context: $ctx_files files, $ctx_bytes bytes (.dockerignore leaves out $(du -sb "$ctx/scratch" | awk '{ print $1 }') bytes); $rounds interleaved rounds after a warm-up"
headline=""
for scenario in cold nochange onechange; do
    echo "$(scenario_title "$scenario"):"
    for side in "${sides[@]}"; do
        summary "  $(label "$side")" "$work/t/$scenario.$side" s
    done
    for side in "${sides[@]:1}"; do
        pair_ratios "$work/t/$scenario.$side" "$work/t/$scenario.berth" >"$work/ratio.$scenario.$side"
        echo "  median ratio $side/berth: $(median "$work/ratio.$scenario.$side")"
    done
    [[ " ${sides[*]} " == *" docker "* ]] &&
        headline+="${headline:+, }$scenario $(median "$work/ratio.$scenario.docker")"
done
echo "daemon peak RSS (VmHWM, KiB): berth $(proc_kib "${berth_pid[berth]}" VmHWM) (since its last cold start), dockerd + containerd $(($(proc_kib "$DOCKERD_PID" VmHWM) + $(proc_kib "$CONTAINERD_PID" VmHWM)))"
[[ -n $headline ]] && echo "median ratio docker/berth: $headline"
