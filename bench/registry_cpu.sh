#!/usr/bin/env bash
# Registry server CPU per GB moved: skopeo pushes a ~1 GB multi-layer image into a fresh,
# empty registry and pulls it back, against `berth registry serve` and distribution
# (Debian docker-registry) in turn. Counted: the server process's own utime+stime (from
# /proc/PID/stat, read after the server answers and again after the pull) and the wall time
# of push + pull. Every round starts a new server on an empty root, so every byte is new.
#
#   bench/registry_cpu.sh            # 1 warm-up pair + PAIRS pairs (default 6)
#   PAIRS=10 LAYERS=8 LAYER_MB=128 WORK_BASE=/dev/shm bench/registry_cpu.sh
#
# The last line is the headline: median of the pair ratios berth/distribution, CPU per GB.
source "$(dirname "$0")/lib/common.sh"

PAIRS=${PAIRS:-6}
LAYERS=${LAYERS:-8}
LAYER_MB=${LAYER_MB:-128}
WORK_BASE=${WORK_BASE:-/dev/shm}

need skopeo docker-registry python3 curl /usr/bin/time
build_berth
new_scratch "$WORK_BASE"
work=$SCRATCH

log "making the image: $LAYERS layers of $LAYER_MB MiB random data, tar+gzip -1 (OCI layout)"
image_bytes=$(python3 "$BENCH_DIR/lib/mkimage.py" --out "$work/image" --level 1 \
    random "$LAYERS" $((LAYER_MB << 20)) 2>/dev/null | cut -d' ' -f1)
source_digest=$(skopeo inspect --raw "oci:$work/image:bench" | sha256sum | cut -d' ' -f1)
moved=$((2 * image_bytes)) # pushed once, pulled once
log "image: $image_bytes bytes, manifest sha256:$source_digest; $moved bytes move per round"

# round SIDE N: one push + pull against a fresh SIDE registry; appends to $work/SIDE.*.
round() {
    local side=$1 n=$2 dir="$work/$1-$2"
    mkdir -p "$dir"
    start_registry "$side" "$dir/root"
    local pid=$REG_PID addr=$REG_ADDR
    local t0 w0 t1 w1 hwm
    t0=$(cpu_ticks "$pid")
    w0=$(now_ns)
    /usr/bin/time -f '%U %S' -a -o "$dir/client.cpu" \
        skopeo copy --quiet --preserve-digests --dest-tls-verify=false \
        "oci:$work/image:bench" "docker://$addr/bench:1"
    /usr/bin/time -f '%U %S' -a -o "$dir/client.cpu" \
        skopeo copy --quiet --preserve-digests --src-tls-verify=false \
        "docker://$addr/bench:1" "oci:$dir/pulled:bench"
    w1=$(now_ns)
    t1=$(cpu_ticks "$pid")
    hwm=$(peak_rss_kib "$pid")
    stop_pid "$pid"
    local got
    got=$(skopeo inspect --raw "oci:$dir/pulled:bench" | sha256sum | cut -d' ' -f1)
    [[ $got == "$source_digest" ]] || die "$side round $n: pulled manifest sha256:$got differs"
    local cpu_s wall_s client_s
    cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz }')
    wall_s=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    client_s=$(awk '{ s += $1 + $2 } END { printf "%.2f", s }' "$dir/client.cpu")
    rm -rf "$dir"
    if [[ $n == warmup ]]; then
        log "  warm-up $side: server ${cpu_s} CPU-s, wall ${wall_s} s"
        return
    fi
    awk -v c="$cpu_s" -v m="$moved" 'BEGIN { printf "%.4f\n", c / (m / 1e9) }' >>"$work/$side.cpu"
    echo "$wall_s" >>"$work/$side.wall"
    echo "$client_s" >>"$work/$side.client"
    echo "$hwm" >>"$work/$side.rss"
    log "  pair $n $side: server ${cpu_s} CPU-s ($(tail -1 "$work/$side.cpu") per GB), wall ${wall_s} s, skopeo ${client_s} CPU-s, server peak RSS ${hwm} KiB"
}

log "warm-up pair"
round berth warmup
round distribution warmup
for ((i = 1; i <= PAIRS; i++)); do
    # Alternate which side goes first so that drift on the host hits both alike.
    if ((i % 2)); then
        round berth "$i"
        round distribution "$i"
    else
        round distribution "$i"
        round berth "$i"
    fi
done

pair_ratios "$work/berth.cpu" "$work/distribution.cpu" >"$work/ratio.cpu"
pair_ratios "$work/berth.wall" "$work/distribution.wall" >"$work/ratio.wall"
echo "registry_cpu: $PAIRS pairs, $moved bytes moved per round ($LAYERS layers x $LAYER_MB MiB), $(nproc) CPUs, $(uname -r)"
summary "berth server CPU-s per GB" "$work/berth.cpu" "s/GB"
summary "distribution server CPU-s per GB" "$work/distribution.cpu" "s/GB"
summary "berth push+pull wall" "$work/berth.wall" "s"
summary "distribution push+pull wall" "$work/distribution.wall" "s"
summary "skopeo CPU (berth rounds)" "$work/berth.client" "s"
summary "skopeo CPU (distribution rounds)" "$work/distribution.client" "s"
summary "berth server peak RSS" "$work/berth.rss" "KiB"
summary "distribution server peak RSS" "$work/distribution.rss" "KiB"
echo "wall ratio berth/distribution (median of pairs): $(median "$work/ratio.wall")"
echo "CPU per GB ratio berth/distribution (median of pairs): $(median "$work/ratio.cpu")"
