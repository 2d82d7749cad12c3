#!/usr/bin/env bash
# OCI runtime bench: `berth runtime run` against `runc run` on the same busybox bundle running
# `true` (create + start + wait + delete), interleaved pairs after a warm-up. Prints min /
# median / max per runtime, the peak RSS of each runtime process, and last the median of the
# pair-by-pair ratio berth/runc. See bench/README.md.
#
# Environment (all optional):
#   BENCH_PAIRS    pairs to time (default 100; at least 10)
#   BENCH_RUNTIME  command of the runtime under test (default: the freshly built
#                  `target/release/berth runtime`; set e.g. `runc` to check the bench itself)
#   BENCH_PEER     command of the peer (default: runc)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
repo=$(berth_repo_root)
cd "$repo"

berth_require_root
berth_ensure_packages busybox-static runc time

pairs=${BENCH_PAIRS:-100}
[[ $pairs =~ ^[0-9]+$ && $pairs -ge 10 ]] || berth_die "BENCH_PAIRS must be a number >= 10"

if [[ -n ${BENCH_RUNTIME:-} ]]; then
    read -r -a runtime_a <<<"$BENCH_RUNTIME"
else
    berth_ensure_cargo
    berth_say "building berth (cargo build --release)"
    cargo build --release --quiet --bin berth
    runtime_a=("$repo/target/release/berth" runtime)
fi
read -r -a runtime_b <<<"${BENCH_PEER:-runc}"
name_a=$(basename "${runtime_a[0]}")
name_b=$(basename "${runtime_b[0]}")
[[ $name_a != "$name_b" ]] || { name_a="$name_a(A)"; name_b="$name_b(B)"; }

work=$(mktemp -d /tmp/berth-bench-runtime.XXXXXX)
cleanup() {
    local root id
    for root in "$work/root-a" "$work/root-b"; do
        for id in "$root"/*/; do
            [[ -d $id ]] || continue
            id=$(basename "$id")
            "${runtime_a[@]}" --root "$root" delete --force "$id" >/dev/null 2>&1 ||
                "${runtime_b[@]}" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
        done
    done
    rm -rf "$work"
}
trap cleanup EXIT

berth_make_busybox_bundle "$work/bundle" bench true

# run_one NAME ROOT ID RUNTIME...: one `run` of the bundle; its stdio is discarded, a failure
# stops the bench (timing a failing runtime means nothing).
run_one() {
    local name=$1 root=$2 id=$3
    shift 3
    if ! "$@" --root "$root" run --bundle "$work/bundle" "$id" </dev/null >/dev/null 2>"$work/stderr"; then
        cat "$work/stderr" >&2
        berth_die "$name run $id failed"
    fi
    # `run` deletes the container when it exits; make sure nothing accumulates if it did not.
    if [[ -e $root/$id ]]; then
        "$@" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    fi
}

# time_one NAME ROOT ID RUNTIME...: prints the wall time of one run in microseconds.
# $EPOCHREALTIME is read by bash itself, so no fork adds to what is measured.
time_one() {
    local start end
    start=${EPOCHREALTIME/./}
    run_one "$@"
    end=${EPOCHREALTIME/./}
    echo $((end - start))
}

berth_say "warm-up"
for n in 1 2 3; do
    run_one "$name_a" "$work/root-a" "warm-a-$n" "${runtime_a[@]}"
    run_one "$name_b" "$work/root-b" "warm-b-$n" "${runtime_b[@]}"
done

berth_say "$pairs interleaved pairs: ${runtime_a[*]} vs ${runtime_b[*]}"
# Pairs run A B, B A, A B...: the second run of a pair pays for the first one's asynchronous
# clean-up (cgroup and namespace teardown), so a fixed order would favour A.
times_a=() times_b=()
for ((n = 1; n <= pairs; n++)); do
    if ((n % 2)); then
        times_a+=("$(time_one "$name_a" "$work/root-a" "id-$n" "${runtime_a[@]}")")
        times_b+=("$(time_one "$name_b" "$work/root-b" "id-$n" "${runtime_b[@]}")")
    else
        times_b+=("$(time_one "$name_b" "$work/root-b" "id-$n" "${runtime_b[@]}")")
        times_a+=("$(time_one "$name_a" "$work/root-a" "id-$n" "${runtime_a[@]}")")
    fi
done

# peak_rss NAME ROOT RUNTIME...: the largest peak RSS (KiB) over 5 runs of the runtime
# process, as GNU time reports it (ru_maxrss of the process it waited for).
peak_rss() {
    local name=$1 root=$2 n kib max=0
    shift 2
    for n in 1 2 3 4 5; do
        /usr/bin/time -o "$work/rss" -f %M "$@" --root "$root" run --bundle "$work/bundle" "rss-$n" \
            </dev/null >/dev/null 2>&1 || berth_die "$name run rss-$n failed under /usr/bin/time"
        kib=$(<"$work/rss")
        ((kib > max)) && max=$kib
        [[ -e $root/rss-$n ]] && { "$@" --root "$root" delete --force "rss-$n" >/dev/null 2>&1 || true; }
    done
    echo "$max"
}
rss_a=$(peak_rss "$name_a" "$work/root-a" "${runtime_a[@]}")
rss_b=$(peak_rss "$name_b" "$work/root-b" "${runtime_b[@]}")

# Statistics on microsecond integers; printed in milliseconds.
summary() {
    printf '%s\n' "$@" | sort -n | awk '
        { v[NR] = $1 }
        END {
            med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "min %7.2f ms  median %7.2f ms  max %7.2f ms", v[1] / 1000, med / 1000, v[NR] / 1000
        }'
}
ratios=()
for ((n = 0; n < pairs; n++)); do
    ratios+=("$(awk -v a="${times_a[n]}" -v b="${times_b[n]}" 'BEGIN { printf "%.6f", a / b }')")
done
median_ratio=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '
    { v[NR] = $1 }
    END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')

echo "runtime run of a busybox bundle running true; $pairs interleaved pairs; $(nproc) cpus; kernel $(uname -r)"
printf '%-12s %s  peak RSS %6d KiB\n' "$name_a" "$(summary "${times_a[@]}")" "$rss_a"
printf '%-12s %s  peak RSS %6d KiB\n' "$name_b" "$(summary "${times_b[@]}")" "$rss_b"
echo "median ratio $name_a/$name_b: $median_ratio"
