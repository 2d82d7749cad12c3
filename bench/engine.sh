#!/usr/bin/env bash
# Engine bench: the berth daemon against a private dockerd (Debian docker.io), both started
# here on roots of their own with default bridge networking, the same busybox image imported
# into both (`docker import`). Measures, interleaved after a warm-up:
#   1. `run --rm IMG true`: berth CLI -> berth daemon vs docker CLI -> dockerd, and docker
#      CLI -> berth daemon as a third side (same client as dockerd's);
#   2. CYCLES x (`run -d IMG <sh that exits on SIGTERM>` + `stop`), total wall time a round;
#   3. idle memory: the berth daemon vs dockerd + its containerd, with no container left;
#   4. per-container memory: the shims of IDLE `sleep` containers on each.
# The last line is the headline: median of the pair ratios of `run --rm true`, berth/docker
# (and docker/berth). See bench/README.md.
#
# Environment (all optional):
#   BENCH_PAIRS         rounds of `run --rm true` (default 30; at least 20)
#   BENCH_CYCLES        run -d + stop cycles in a round (default 50)
#   BENCH_STOP_ROUNDS   rounds of those cycles per side (default 3)
#   BENCH_IDLE          sleeping containers for the per-container memory (default 10)
#   BENCH_DOCKER_BIP    address of dockerd's bridge (default 10.123.0.1/24; must be unrouted)
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
# shellcheck source=bench/lib/daemons.sh
source "$BENCH_DIR/lib/daemons.sh"

pairs=${BENCH_PAIRS:-30}
cycles=${BENCH_CYCLES:-50}
stop_rounds=${BENCH_STOP_ROUNDS:-3}
idle=${BENCH_IDLE:-10}
bip=${BENCH_DOCKER_BIP:-10.123.0.1/24}
[[ $pairs =~ ^[0-9]+$ && $pairs -ge 20 ]] || die "BENCH_PAIRS must be a number >= 20"
[[ $cycles =~ ^[0-9]+$ && $cycles -ge 1 ]] || die "BENCH_CYCLES must be a number >= 1"
[[ $stop_rounds =~ ^[0-9]+$ && $stop_rounds -ge 1 ]] || die "BENCH_STOP_ROUNDS must be >= 1"
[[ $idle =~ ^[0-9]+$ && $idle -ge 1 ]] || die "BENCH_IDLE must be a number >= 1"

berth_require_root
berth_ensure_packages busybox-static docker.io iptables nftables iproute2 python3
need dockerd containerd docker nft iptables ip python3
berth_ensure_cargo
log "building berth (cargo build --release --bin berth)"
(cd "$REPO_ROOT" && cargo build --release --quiet --bin berth) || die "cargo build failed"
BERTH="$REPO_ROOT/target/release/berth"

# Short: unix socket paths under it must stay below 108 bytes. Registered first, removed last.
work=$(mktemp -d /tmp/bbe.XXXXXX)
on_exit "rm -rf '$work'"
DOCKER_CLI_CONFIG=$work/cli
mkdir -p "$DOCKER_CLI_CONFIG"
# Names unique to this run: bridges, nftables table, containerd namespace, cgroup parents.
tag=$$
image=busybox:bench

berth_make_busybox_bundle "$work/bundle" bench true
tar -C "$work/bundle/rootfs" -cf "$work/busybox.tar" .

log "starting dockerd (bridge bbd$tag, $bip) and berth daemon (instance bench$tag)"
start_private_dockerd "$work/d" "bbd$tag" "$bip" "/bench-docker-$tag" "bench$tag"
start_berth_daemon "$work/b" "bench$tag" "/bench-berth-$tag"
docker_at "$DOCKERD_HOST" import "$work/busybox.tar" "$image" >/dev/null
docker_at "$BERTH_HOST" import "$work/busybox.tar" "$image" >/dev/null

# The three ways of running a container that are compared.
side_berth() { berth_cli "$@"; }
side_docker() { docker_at "$DOCKERD_HOST" "$@"; }
side_dockercli_berth() { docker_at "$BERTH_HOST" "$@"; }

# Both sides do the same work: a container on the default bridge, with an address.
for side in side_berth side_docker; do
    addr=$("$side" run --rm "$image" sh -c 'ip -4 -o addr show eth0' 2>&1) ||
        die "$side: run --rm failed: $addr"
    [[ $addr == *"inet "* ]] || die "$side: the container has no address on eth0: $addr"
    log "  $side: container eth0: $(awk '{ print $4 }' <<<"$addr")"
done

# time_run FILE CMD...: runs CMD with stdio discarded, appends its wall time in ms to FILE;
# a failure stops the bench (timing a failing command means nothing). $EPOCHREALTIME is read
# by bash itself: no extra fork is timed.
time_run() {
    local file=$1 start end
    shift
    start=${EPOCHREALTIME/./}
    "$@" </dev/null >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; die "$* failed"; }
    end=${EPOCHREALTIME/./}
    printf '%d.%03d\n' $(((end - start) / 1000)) $(((end - start) % 1000)) >>"$file"
}

# --- 1. run --rm true ---------------------------------------------------------------------------
sides=(side_berth side_docker side_dockercli_berth)
log "run --rm $image true: 3 warm-up runs each, then $pairs rounds"
for n in 1 2 3; do
    for side in "${sides[@]}"; do time_run "$work/warmup" "$side" run --rm "$image" true; done
done
# The order rotates (A B C, B C A, C A B) so that no side always follows the same other one
# and pays for its asynchronous teardown.
for ((n = 0; n < pairs; n++)); do
    for ((k = 0; k < 3; k++)); do
        side=${sides[(n + k) % 3]}
        time_run "$work/rm.$side" "$side" run --rm "$image" true
    done
done

# --- 2. run -d + stop ----------------------------------------------------------------------------
# A shell that exits on SIGTERM: as pid 1 of its namespace it would ignore an untrapped SIGTERM
# and `stop` would wait its 10 s and SIGKILL. With the trap both daemons do the graceful path:
# SIGTERM, the container exits, the stop returns.
graceful='trap "exit 0" TERM; sleep 1000 & wait'
# stop_round SIDE: CYCLES x (run -d, stop); appends the round's seconds to $work/stop.SIDE;
# cycles that took 5 s or more (a stop that timed out) are counted in $work/slow.SIDE.
stop_round() {
    local side=$1 i id start end c0 c1
    start=${EPOCHREALTIME/./}
    for ((i = 0; i < cycles; i++)); do
        c0=${EPOCHREALTIME/./}
        id=$("$side" run -d "$image" sh -c "$graceful" 2>"$work/stderr") ||
            { cat "$work/stderr" >&2; die "$side run -d failed"; }
        "$side" stop "$id" >/dev/null 2>"$work/stderr" ||
            { cat "$work/stderr" >&2; die "$side stop failed"; }
        c1=${EPOCHREALTIME/./}
        ((c1 - c0 < 5000000)) || echo "$id" >>"$work/slow.$side"
    done
    end=${EPOCHREALTIME/./}
    awk -v us=$((end - start)) 'BEGIN { printf "%.3f\n", us / 1e6 }' >>"$work/stop.$side"
    # Untimed: the stopped containers go.
    case $side in
    side_berth) remove_all_containers "$BERTH_HOST" ;;
    side_docker) remove_all_containers "$DOCKERD_HOST" ;;
    esac
}
log "run -d + stop: $cycles cycles a round, 1 warm-up round of 5 each, $stop_rounds rounds each"
saved=$cycles cycles=5
stop_round side_berth
stop_round side_docker
cycles=$saved
rm -f "$work"/stop.* "$work"/slow.*
for ((n = 0; n < stop_rounds; n++)); do
    if ((n % 2)); then
        stop_round side_docker
        stop_round side_berth
    else
        stop_round side_berth
        stop_round side_docker
    fi
done

# --- 3. idle memory -------------------------------------------------------------------------------
sleep 2
berth_rss=$(proc_kib "$BERTH_PID" VmRSS)
berth_hwm=$(proc_kib "$BERTH_PID" VmHWM)
dockerd_rss=$(proc_kib "$DOCKERD_PID" VmRSS)
dockerd_hwm=$(proc_kib "$DOCKERD_PID" VmHWM)
containerd_rss=$(proc_kib "$CONTAINERD_PID" VmRSS)
containerd_hwm=$(proc_kib "$CONTAINERD_PID" VmHWM)

# --- 4. per-container memory ----------------------------------------------------------------------
log "per-container memory: $idle sleeping containers on each"
for ((n = 0; n < idle; n++)); do
    side_berth run -d "$image" sleep 1000 >/dev/null
    side_docker run -d "$image" sleep 1000 >/dev/null
done
sleep 2
# berth: one `berth shim` process per container, its state under the exec root's shims/.
mapfile -t berth_shims < <(pids_with_args '/berth$' "$work/b/x/shims")
# dockerd: one containerd-shim-runc-v2 per container (Kubernetes pods share one per pod;
# docker does not), found by the address of our containerd.
mapfile -t docker_shims < <(pids_with_args 'containerd-shim' "$work/d/x/containerd")
[[ ${#berth_shims[@]} -eq $idle ]] || die "found ${#berth_shims[@]} berth shims, expected $idle"
[[ ${#docker_shims[@]} -eq $idle ]] || die "found ${#docker_shims[@]} containerd shims, expected $idle"
sum_of() {
    local what=$1 pid total=0
    shift
    for pid in "$@"; do
        case $what in
        rss) total=$((total + $(proc_kib "$pid" VmRSS))) ;;
        pss) total=$((total + $(pss_kib "$pid"))) ;;
        esac
    done
    echo "$total"
}
berth_shim_rss=$(($(sum_of rss "${berth_shims[@]}") / idle))
berth_shim_pss=$(($(sum_of pss "${berth_shims[@]}") / idle))
docker_shim_rss=$(($(sum_of rss "${docker_shims[@]}") / idle))
docker_shim_pss=$(($(sum_of pss "${docker_shims[@]}") / idle))
berth_busy_rss=$(proc_kib "$BERTH_PID" VmRSS)
docker_busy_rss=$(($(proc_kib "$DOCKERD_PID" VmRSS) + $(proc_kib "$CONTAINERD_PID" VmRSS)))
remove_all_containers "$BERTH_HOST"
remove_all_containers "$DOCKERD_HOST"

# --- report ---------------------------------------------------------------------------------------
pair_ratios "$work/rm.side_berth" "$work/rm.side_docker" >"$work/ratio.rm"
pair_ratios "$work/rm.side_docker" "$work/rm.side_berth" >"$work/ratio.rm.inv"
pair_ratios "$work/rm.side_dockercli_berth" "$work/rm.side_docker" >"$work/ratio.rm.cli"
pair_ratios "$work/stop.side_berth" "$work/stop.side_docker" >"$work/ratio.stop"
slow() { [[ -f $work/slow.$1 ]] && wc -l <"$work/slow.$1" || echo 0; }

echo "engine: berth $(git -C "$REPO_ROOT" rev-parse --short HEAD) vs dockerd $(docker_at "$DOCKERD_HOST" version -f '{{.Server.Version}}') ($(docker_at "$DOCKERD_HOST" info -f '{{.Driver}}'), containerd $(containerd --version | awk '{ print $3 }'), runc), docker CLI $(docker version -f '{{.Client.Version}}' 2>/dev/null); $(nproc) cpus; kernel $(uname -r)"
echo "run --rm $image true, $pairs interleaved rounds:"
summary "  berth CLI -> berth daemon" "$work/rm.side_berth" ms
summary "  docker CLI -> dockerd" "$work/rm.side_docker" ms
summary "  docker CLI -> berth daemon" "$work/rm.side_dockercli_berth" ms
echo "  median ratio docker CLI -> berth / docker CLI -> dockerd: $(median "$work/ratio.rm.cli") (dockerd/berth $(awk -v r="$(median "$work/ratio.rm.cli")" 'BEGIN { printf "%.2f", 1 / r }'))"
echo "$cycles x (run -d + stop), sh trapping TERM, $stop_rounds interleaved rounds (cycles of 5 s or more: berth $(slow side_berth), docker $(slow side_docker)):"
summary "  berth" "$work/stop.side_berth" s
summary "  docker" "$work/stop.side_docker" s
echo "  median ratio berth/docker: $(median "$work/ratio.stop")"
echo "idle memory, no container, after the runs (KiB):"
printf '  berth daemon          VmRSS %7d  VmHWM %7d\n' "$berth_rss" "$berth_hwm"
printf '  dockerd + containerd  VmRSS %7d  VmHWM %7d  (dockerd %d/%d, containerd %d/%d)\n' \
    $((dockerd_rss + containerd_rss)) $((dockerd_hwm + containerd_hwm)) \
    "$dockerd_rss" "$dockerd_hwm" "$containerd_rss" "$containerd_hwm"
echo "  ratio berth/docker (VmRSS): $(awk -v a="$berth_rss" -v b=$((dockerd_rss + containerd_rss)) 'BEGIN { printf "%.3f", a / b }')"
echo "per container, $idle sleeping containers each (KiB):"
printf '  berth shim               RSS %6d  PSS %6d   berth daemon VmRSS with them %d\n' \
    "$berth_shim_rss" "$berth_shim_pss" "$berth_busy_rss"
printf '  containerd-shim-runc-v2  RSS %6d  PSS %6d   dockerd + containerd VmRSS with them %d\n' \
    "$docker_shim_rss" "$docker_shim_pss" "$docker_busy_rss"
echo "  ratio berth/docker: RSS $(awk -v a="$berth_shim_rss" -v b="$docker_shim_rss" 'BEGIN { printf "%.3f", a / b }'), PSS $(awk -v a="$berth_shim_pss" -v b="$docker_shim_pss" 'BEGIN { printf "%.3f", a / b }')"
echo "median ratio berth/docker (run --rm true): $(median "$work/ratio.rm") (docker/berth $(median "$work/ratio.rm.inv"))"
