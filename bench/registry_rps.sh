#!/usr/bin/env bash
# Registry request rate: manifest HEAD, manifest GET, blob HEAD and blob GET (a 164-byte
# layer) at concurrency 32, against `berth registry serve` and distribution (Debian
# docker-registry), each preloaded with the same small image by skopeo. For each kind of
# request: a short warm-up pair, then PAIRS pairs of DURATION each, alternating which side
# goes first.
#
# The load generator is bench/loadgen (std-only Rust, one keep-alive connection per thread):
# wrk 4.1 (Debian) cannot time HEAD requests, it waits for a body that never comes. It runs
# on the same machine and takes its share of the CPUs.
#
#   bench/registry_rps.sh                       # PAIRS=10 DURATION=5 CONNS=32
#   PAIRS=5 DURATION=10 bench/registry_rps.sh
#
# Prints requests/s and p99 latency per side and kind; the last line gives the median pair
# ratio berth/distribution of requests/s for every kind and the lowest of them.
source "$(dirname "$0")/lib/common.sh"

PAIRS=${PAIRS:-10}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
WORK_BASE=${WORK_BASE:-/dev/shm}

need skopeo docker-registry python3 curl jq
build_berth
log "building bench/loadgen"
CARGO_TARGET_DIR="$REPO_ROOT/target/loadgen" cargo build --release --quiet \
    --manifest-path "$BENCH_DIR/loadgen/Cargo.toml" || die "cargo build of bench/loadgen failed"
LOADGEN="$REPO_ROOT/target/loadgen/release/berth-bench-loadgen"
new_scratch "$WORK_BASE"
work=$SCRATCH

python3 "$BENCH_DIR/lib/mkimage.py" --out "$work/image" tiny >/dev/null 2>&1
manifest=$(skopeo inspect --raw "oci:$work/image:bench")
blob=$(jq -r '.layers[0].digest' <<<"$manifest")
blob_size=$(jq -r '.layers[0].size' <<<"$manifest")

declare -A addr
for side in berth distribution; do
    start_registry "$side" "$work/$side"
    addr[$side]=$REG_ADDR
    skopeo copy --quiet --preserve-digests --dest-tls-verify=false \
        "oci:$work/image:bench" "docker://$REG_ADDR/bench:1"
done

accept_manifest="application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
kinds=("manifest-HEAD" "manifest-GET" "blob-HEAD" "blob-GET")
declare -A path method accept
path[manifest-HEAD]=/v2/bench/manifests/1
path[manifest-GET]=/v2/bench/manifests/1
path[blob-HEAD]=/v2/bench/blobs/$blob
path[blob-GET]=/v2/bench/blobs/$blob
for k in "${kinds[@]}"; do
    method[$k]=${k#*-}
    accept[$k]=""
done
accept[manifest-HEAD]=$accept_manifest
accept[manifest-GET]=$accept_manifest

# Both sides must answer the same thing before anything is timed.
for k in "${kinds[@]}"; do
    for side in berth distribution; do
        if [[ ${method[$k]} == HEAD ]]; then how=-I; else how=-sS; fi
        code=$(curl -s "$how" -o /dev/null -w '%{http_code}' ${accept[$k]:+-H "Accept: ${accept[$k]}"} \
            "http://${addr[$side]}${path[$k]}")
        [[ $code == 200 ]] || die "$side: $k ${path[$k]} answers $code"
    done
done

# run_load SIDE KIND SECONDS OUT: one loadgen run; appends "rps p99_ms" to OUT (unless OUT
# is -). Any error (non-2xx, broken connection) stops the bench: the rates would mean nothing.
run_load() {
    local side=$1 kind=$2 dur=$3 out=$4 text
    text=$("$LOADGEN" -c "$CONNS" -d "$dur" -X "${method[$kind]}" \
        ${accept[$kind]:+-H "Accept: ${accept[$kind]}"} "http://${addr[$side]}${path[$kind]}") ||
        die "$side $kind: errors during the run: $text"
    [[ $out == - ]] && return
    awk '{ print $8, $12 }' <<<"$text" >>"$out"
}

for k in "${kinds[@]}"; do
    log "$k ${path[$k]}: warm-up, then $PAIRS pairs of ${DURATION}s"
    run_load berth "$k" 2 -
    run_load distribution "$k" 2 -
    for ((i = 1; i <= PAIRS; i++)); do
        if ((i % 2)); then order=(berth distribution); else order=(distribution berth); fi
        for side in "${order[@]}"; do
            run_load "$side" "$k" "$DURATION" "$work/$side.$k"
        done
        log "  pair $i: berth $(tail -1 "$work/berth.$k") distribution $(tail -1 "$work/distribution.$k") (rps p99-ms)"
    done
done

echo "registry_rps: loadgen -c $CONNS -d $DURATION, $PAIRS pairs, blob $blob_size bytes, $(nproc) CPUs (shared with the load generator), $(uname -r)"
headline=""
lowest=""
for k in "${kinds[@]}"; do
    for side in berth distribution; do
        cut -d' ' -f1 "$work/$side.$k" >"$work/$side.$k.rps"
        cut -d' ' -f2 "$work/$side.$k" >"$work/$side.$k.p99"
        summary "$side $k requests/s" "$work/$side.$k.rps" "req/s"
        summary "$side $k p99 latency" "$work/$side.$k.p99" "ms"
    done
    pair_ratios "$work/berth.$k.rps" "$work/distribution.$k.rps" >"$work/ratio.$k"
    r=$(median "$work/ratio.$k")
    headline+="$k $r, "
    lowest=$(awk -v a="$r" -v b="${lowest:-$r}" 'BEGIN { print (a < b) ? a : b }')
done
echo "requests/s ratio berth/distribution (median of pairs): ${headline}lowest $lowest"
