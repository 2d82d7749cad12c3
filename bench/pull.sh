#!/usr/bin/env bash
# Image pull: `berth pull` (download + unpack) against `docker pull` on a dockerd started
# here, the same image from the same local registry (distribution, Debian docker-registry,
# preloaded by skopeo). The image is made from host directories (default: /usr/bin,
# /usr/sbin, /usr/include, /usr/share/man, /usr/share/perl: one layer each, gzip -6), so its
# compressibility is that of real binaries and text.
#
# berth pulls into a fresh data root each round; docker's image is removed (`docker rmi`,
# `docker image prune -f`) between its rounds, and dockerd stays up (its start-up is not
# counted). Both data roots live on the same filesystem (WORK_BASE, default /var/tmp: disk).
#
#   bench/pull.sh                                # 1 warm-up pair + PAIRS pairs (default 10)
#   PAIRS=5 WORK_BASE=/var/tmp IMAGE_DIRS="/usr/bin /usr/sbin" bench/pull.sh
#
# The last line is the headline: median of the pair ratios of wall time berth/docker.
source "$(dirname "$0")/lib/common.sh"

PAIRS=${PAIRS:-10}
WORK_BASE=${WORK_BASE:-/var/tmp}
IMAGE_DIRS=${IMAGE_DIRS:-/usr/bin /usr/sbin /usr/include /usr/share/man /usr/share/perl}

need skopeo docker-registry dockerd docker python3 curl /usr/bin/time
build_berth
new_scratch "$WORK_BASE"
work=$SCRATCH

# shellcheck disable=SC2086 # IMAGE_DIRS is a list
read -r image_bytes tar_bytes < <(python3 "$BENCH_DIR/lib/mkimage.py" --out "$work/image" \
    --level 6 tree $IMAGE_DIRS 2>/dev/null)
log "image: $(wc -w <<<"$IMAGE_DIRS") layers, $image_bytes bytes gzip ($tar_bytes as tar)"

start_distribution "$work/registry"
registry=$REG_ADDR
skopeo copy --quiet --preserve-digests --dest-tls-verify=false \
    "oci:$work/image:bench" "docker://$registry/bench:pull"
image="$registry/bench:pull"

# dockerd on its own socket, data root and exec root; --insecure-registry is what a user
# would pass (loopback is insecure to dockerd anyway). A short exec root: socket paths have a
# length limit.
dockerd_dir=$(mktemp -d /tmp/bbd.XXXXXX)
on_exit "rm -rf '$dockerd_dir'"
mkdir -p "$work/docker"
dockerd --data-root "$work/docker" --exec-root "$dockerd_dir/x" --pidfile "$dockerd_dir/pid" \
    -H "unix://$dockerd_dir/sock" --bridge=none --iptables=false --ip-masq=false \
    --insecure-registry "$registry" --log-level=error >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
track_pid "$dockerd_pid"
# Its data root holds overlay mounts: unmount what is left before the scratch dir goes.
on_exit "umount -R '$work/docker/overlay2' 2>/dev/null; true"
export DOCKER_HOST="unix://$dockerd_dir/sock"
for ((i = 0; i < 200; i++)); do
    docker version >/dev/null 2>&1 && break
    sleep 0.1
done
docker version >/dev/null 2>&1 || die "dockerd did not start: $(tail -5 "$work/dockerd.log")"
log "dockerd $(docker version -f '{{.Server.Version}}') on $DOCKER_HOST, storage $(docker info -f '{{.Driver}}')"

# round SIDE N: one timed pull; appends seconds to $work/SIDE.wall and CPU-s to SIDE.cpu.
round() {
    local side=$1 n=$2 w0 w1 t0 t1 cpu
    # Write back what the previous round left dirty (docker does not fsync its layers),
    # untimed: otherwise berth's syncfs would write (and be charged for) docker's pages.
    sync
    if [[ $side == berth ]]; then
        local root="$work/berth-$n"
        w0=$(now_ns)
        /usr/bin/time -f '%U %S' -o "$work/berth.time" \
            "$BERTH" --data-root "$root" pull --quiet "$image" >/dev/null
        w1=$(now_ns)
        cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$work/berth.time")
        du -sb "$root" | cut -f1 >"$work/berth.du"
        rm -rf "$root"
    else
        # dockerd does the pull; its untar runs in children it waits for (cutime/cstime).
        t0=$(cpu_ticks_with_children "$dockerd_pid")
        w0=$(now_ns)
        docker pull -q "$image" >/dev/null
        w1=$(now_ns)
        t1=$(cpu_ticks_with_children "$dockerd_pid")
        cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
        docker rmi -f "$image" >/dev/null
        docker image prune -f >/dev/null
    fi
    local wall
    wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    if [[ $n == warmup ]]; then
        log "  warm-up $side: ${wall} s, ${cpu} CPU-s"
        return
    fi
    echo "$wall" >>"$work/$side.wall"
    echo "$cpu" >>"$work/$side.cpu"
    log "  pair $n $side: ${wall} s, ${cpu} CPU-s"
}

log "warm-up pair"
round berth warmup
round docker warmup
for ((i = 1; i <= PAIRS; i++)); do
    if ((i % 2)); then
        round berth "$i"
        round docker "$i"
    else
        round docker "$i"
        round berth "$i"
    fi
done

# Did berth unpack? An unpacked pull leaves at least the layers' tar bytes on disk.
berth_du=$(<"$work/berth.du")
if ((berth_du < image_bytes + tar_bytes / 2)); then
    unpacked="NO: berth's data root holds $berth_du bytes after a pull, less than the compressed image plus half its tar size; berth pull did not unpack, its figure is download-only and NOT comparable with docker pull"
else
    unpacked="yes: berth's data root holds $berth_du bytes after a pull"
fi

pair_ratios "$work/berth.wall" "$work/docker.wall" >"$work/ratio.wall"
echo "pull: $PAIRS pairs, image $image_bytes bytes gzip / $tar_bytes bytes tar in $(wc -w <<<"$IMAGE_DIRS") layers, from distribution on $registry, $(nproc) CPUs, $(uname -r)"
echo "berth unpacked: $unpacked"
summary "berth pull wall" "$work/berth.wall" "s"
summary "docker pull wall" "$work/docker.wall" "s"
summary "berth pull CPU (berth process)" "$work/berth.cpu" "s"
summary "docker pull CPU (dockerd + children)" "$work/docker.cpu" "s"
echo "pull wall ratio berth/docker (median of pairs): $(median "$work/ratio.wall")"
