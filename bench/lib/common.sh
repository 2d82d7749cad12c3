# Helpers shared by the registry benches (bench/registry_cpu.sh, registry_rps.sh, pull.sh).
# Source it; it sets `set -euo pipefail` and an EXIT trap that undoes everything registered
# with `on_exit`, in reverse order, even when the script fails half-way.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
CLK_TCK=$(getconf CLK_TCK)

_cleanups=()
_live_pids=()
# on_exit CMD...: run CMD (a string, eval'd) when the script exits, last registered first.
on_exit() { _cleanups+=("$*"); }
_run_cleanups() {
    local status=$?
    local i
    for i in "${_live_pids[@]}"; do
        stop_pid "$i" 20 >/dev/null 2>&1 || true
    done
    for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
        eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
    done
    exit "$status"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is not installed (see bench/REGISTRY_README.md)"
    done
}

# build_berth: one release build; sets BERTH to the binary.
build_berth() {
    log "building berth (cargo build --release -p berth)"
    (cd "$REPO_ROOT" && cargo build --release -p berth --quiet) || die "cargo build failed"
    BERTH="$REPO_ROOT/target/release/berth"
}

# new_scratch BASE: sets SCRATCH to a new directory under BASE, removed at exit. (Not a
# $(...) function: the exit hook must be registered in this shell, not in a subshell.)
new_scratch() {
    SCRATCH=$(mktemp -d "$1/berth-bench.XXXXXX")
    on_exit "rm -rf '$SCRATCH'"
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL: until URL answers at all (any HTTP status), or fail after ~10 s.
wait_http() {
    local i
    for ((i = 0; i < 200; i++)); do
        if curl -s -o /dev/null "$1"; then return 0; fi
        sleep 0.05
    done
    die "nothing answers at $1"
}

# cpu_ticks PID: utime + stime of the process (all its threads), in clock ticks.
# Fields 14 and 15 of /proc/PID/stat; counted after the ")" that ends the command name.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}

# cpu_ticks_with_children PID: as cpu_ticks plus the waited-for children (cutime, cstime).
cpu_ticks_with_children() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    awk '{ print $12 + $13 + $14 + $15 }' <<<"$stat"
}

# peak_rss_kib PID: VmHWM of a live process.
peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

now_ns() { date +%s%N; }

# track_pid PID: stop PID at exit unless stop_pid stopped it before (a stale PID is never
# signalled: it may belong to someone else by then).
track_pid() { _live_pids+=("$1"); }

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5); waits for it (it
# is our child).
stop_pid() {
    local pid=$1 grace=${2:-5} i kept=()
    for i in "${_live_pids[@]}"; do
        [[ $i == "$pid" ]] || kept+=("$i")
    done
    _live_pids=("${kept[@]}")
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < grace * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# --- registries ---------------------------------------------------------------------------

# start_berth_registry ROOT: serve ROOT on a free loopback port. Sets REG_PID and REG_ADDR.
start_berth_registry() {
    local root=$1 port
    port=$(free_port)
    mkdir -p "$root"
    "$BERTH" registry serve --listen "127.0.0.1:$port" --root "$root" \
        >"$root.log" 2>&1 &
    REG_PID=$!
    track_pid "$REG_PID"
    REG_ADDR="127.0.0.1:$port"
    wait_http "http://$REG_ADDR/v2/"
}

# start_distribution ROOT: docker-registry with filesystem storage in ROOT, Debian's default
# settings (blob descriptor cache in memory) minus auth, with logging turned down to errors
# and the access log off so that log writing does not count against it.
start_distribution() {
    local root=$1 port
    port=$(free_port)
    mkdir -p "$root"
    cat >"$root.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $root
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
    docker-registry serve "$root.yml" >"$root.log" 2>&1 &
    REG_PID=$!
    track_pid "$REG_PID"
    REG_ADDR="127.0.0.1:$port"
    wait_http "http://$REG_ADDR/v2/"
}

# start_registry SIDE ROOT: SIDE is berth or distribution.
start_registry() {
    case $1 in
    berth) start_berth_registry "$2" ;;
    distribution) start_distribution "$2" ;;
    *) die "unknown side $1" ;;
    esac
}

# --- statistics ---------------------------------------------------------------------------

# stats FILE: "min median max" of the numbers in FILE, one a line.
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 }
        END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
              print f(v[1]), f(m), f(v[NR]) }
        function f(x) { return (x >= 1000 || x <= -1000) ? sprintf("%.0f", x) : sprintf("%.4g", x) }'
}

# median FILE: the median of the numbers in FILE.
median() { stats "$1" | awk '{ print $2 }'; }

# pair_ratios A B: the line-by-line ratios A/B of two files of equal length.
pair_ratios() { paste "$1" "$2" | awk '{ printf "%.6g\n", $1 / $2 }'; }

# summary LABEL FILE UNIT: one line "LABEL min/median/max UNIT".
summary() {
    stats "$2" | awk -v l="$1" -v u="$3" '{ printf "%-40s min %-8s median %-8s max %-8s %s\n", l, $1, $2, $3, u }'
}
