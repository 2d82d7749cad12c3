# Engine daemons for the engine benches: a berth daemon and a private dockerd, each on its own
# data root, exec root, socket, cgroup parent and bridge, with bridge networking and firewall
# rules on (as a user would run them), and the clean-up of everything they leave on the host:
# containers, processes, mounts, bridges, nftables / iptables rules, cgroups.
# Source it after bench/lib/common.sh (it uses on_exit, track_pid, stop_pid, die, log).
# shellcheck shell=bash

# --- berth ------------------------------------------------------------------------------------

# start_berth_daemon DIR INSTANCE CGROUP_PARENT: `berth daemon` with data root DIR/data, exec
# root DIR/x, socket DIR/x/berth.sock, bridge INSTANCE0 and nftables table `ip INSTANCE`.
# Containers are stopped when it stops (--no-live-restore). Sets BERTH_PID and BERTH_HOST; the
# clean-up is registered with on_exit.
start_berth_daemon() {
    local dir=$1 instance=$2 cgroup=$3 i
    mkdir -p "$dir/data" "$dir/x"
    BERTH_HOST="unix://$dir/x/berth.sock"
    BERTH_DIR=$dir
    on_exit "berth_daemon_cleanup '$dir' '$instance' '$cgroup'"
    "$BERTH" --data-root "$dir/data" --exec-root "$dir/x" -H "$BERTH_HOST" daemon \
        --instance "$instance" --cgroup-parent "$cgroup" --no-live-restore \
        >"$dir/daemon.log" 2>&1 &
    BERTH_PID=$!
    track_pid "$BERTH_PID"
    for ((i = 0; i < 200; i++)); do
        docker_at "$BERTH_HOST" version >/dev/null 2>&1 && return 0
        kill -0 "$BERTH_PID" 2>/dev/null || break
        sleep 0.05
    done
    die "berth daemon did not start: $(tail -5 "$dir/daemon.log")"
}

# berth_cli ARGS...: the berth CLI talking to the bench's berth daemon.
berth_cli() {
    "$BERTH" --data-root "$BERTH_DIR/data" --exec-root "$BERTH_DIR/x" -H "$BERTH_HOST" "$@"
}

# berth_daemon_cleanup DIR INSTANCE CGROUP: containers removed, daemon stopped, shims killed,
# mounts, bridge, nftables table and cgroups removed.
berth_daemon_cleanup() {
    local dir=$1 instance=$2 cgroup=$3
    remove_all_containers "unix://$dir/x/berth.sock"
    [[ -n ${BERTH_PID:-} ]] && stop_pid "$BERTH_PID" 20
    kill_processes_naming "$dir"
    unmount_under "$dir"
    ip link delete "${instance}0" 2>/dev/null || true
    nft delete table ip "$instance" 2>/dev/null || true
    remove_cgroup "$cgroup"
}

# --- dockerd ----------------------------------------------------------------------------------

# start_private_dockerd DIR BRIDGE BIP CGROUP_PARENT NAMESPACE: Debian's dockerd with data root
# DIR/data, exec root DIR/x, socket DIR/docker.sock, the default bridge network on a bridge
# BRIDGE made here with address BIP (e.g. 10.123.0.1/24), iptables on (its NAT and isolation
# rules, as by default), its own containerd (started by dockerd under DIR/x) in containerd
# namespace NAMESPACE, containers' cgroups under CGROUP_PARENT, no host daemon.json.
# Sets DOCKERD_PID, DOCKERD_HOST and CONTAINERD_PID; the clean-up is registered with on_exit.
start_private_dockerd() {
    local dir=$1 bridge=$2 bip=$3 cgroup=$4 namespace=$5 i subnet
    mkdir -p "$dir/data" "$dir/x"
    DOCKERD_HOST="unix://$dir/docker.sock"
    subnet=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_interface(sys.argv[1]).network)' "$bip")
    if ip -4 route show to match "${bip%/*}" | grep -qv '^default'; then
        die "$subnet is routed on this host already; choose another BENCH_DOCKER_BIP"
    fi
    # dockerd's rules are undone only if they are ours: chains that existed before belong to
    # another dockerd on the host.
    local owns_chains=1 owns_tables=1
    if iptables-save 2>/dev/null | grep -q '^:DOCKER'; then owns_chains=0; fi
    if nft list tables 2>/dev/null | grep -Eq '^table ip (filter|nat)$'; then owns_tables=0; fi
    echo '{}' >"$dir/daemon.json"
    on_exit "dockerd_cleanup '$dir' '$bridge' '$subnet' '$cgroup' $owns_chains $owns_tables"
    # dockerd makes only a bridge called docker0 itself; ours has a name of its own, and its
    # address is the network's (dockerd refuses --bip with --bridge and takes the bridge's).
    ip link add "$bridge" type bridge || die "cannot create bridge $bridge"
    ip addr add "$bip" dev "$bridge" || die "cannot give $bridge the address $bip"
    ip link set "$bridge" up
    dockerd --data-root "$dir/data" --exec-root "$dir/x" --pidfile "$dir/dockerd.pid" \
        -H "$DOCKERD_HOST" --config-file "$dir/daemon.json" \
        --bridge "$bridge" \
        --cgroup-parent "$cgroup" \
        --containerd-namespace "$namespace" --containerd-plugins-namespace "$namespace-plugins" \
        --log-level warn >"$dir/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    track_pid "$DOCKERD_PID"
    for ((i = 0; i < 600; i++)); do
        docker_at "$DOCKERD_HOST" version >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || break
        sleep 0.1
    done
    docker_at "$DOCKERD_HOST" version >/dev/null 2>&1 ||
        die "dockerd did not start: $(tail -5 "$dir/dockerd.log")"
    # dockerd uses a containerd already serving on /run/containerd instead of starting one: its
    # memory would then not be dockerd's alone, and it would outlive the bench.
    CONTAINERD_PID=$(cat "$dir/x/containerd/containerd.pid" 2>/dev/null) ||
        die "dockerd did not start a containerd of its own (is a system containerd running?)"
}

# docker_at HOST ARGS...: the docker CLI talking to HOST, with a config dir of the bench's own.
docker_at() {
    local host=$1
    shift
    DOCKER_HOST=$host DOCKER_CONFIG=$DOCKER_CLI_CONFIG DOCKER_CONTEXT='' docker "$@"
}

# dockerd_cleanup DIR BRIDGE SUBNET CGROUP OWNS_CHAINS OWNS_TABLES
dockerd_cleanup() {
    local dir=$1 bridge=$2 subnet=$3 cgroup=$4 owns_chains=$5 owns_tables=$6
    remove_all_containers "unix://$dir/docker.sock"
    # SIGTERM: dockerd stops its containerd; then whatever is left is killed.
    [[ -n ${DOCKERD_PID:-} ]] && stop_pid "$DOCKERD_PID" 20
    if [[ -n ${CONTAINERD_PID:-} ]] && kill -0 "$CONTAINERD_PID" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$CONTAINERD_PID/cmdline" | grep -qF "$dir"; then
        kill -KILL "$CONTAINERD_PID" 2>/dev/null || true
    fi
    kill_processes_naming "$dir"
    unmount_under "$dir"
    ip link delete "$bridge" 2>/dev/null || true
    remove_iptables_rules "$bridge" "$subnet" "$owns_chains" "$owns_tables"
    remove_cgroup "$cgroup"
}

# remove_iptables_rules BRIDGE SUBNET OWNS_CHAINS OWNS_TABLES: deletes the rules naming our
# bridge or subnet; if the DOCKER chains were not there before, the jumps to them and the
# chains; if the iptables-nft tables were not there before and are now empty, the tables.
remove_iptables_rules() {
    local bridge=$1 subnet=$2 owns_chains=$3 owns_tables=$4 table line chain
    local -a rule
    for table in filter nat; do
        while IFS= read -r line; do
            read -r -a rule <<<"${line/#-A /-D }"
            iptables -t "$table" "${rule[@]}" 2>/dev/null || true
        done < <(iptables -t "$table" -S 2>/dev/null | grep -E -- "^-A .*(-i|-o) $bridge( |$)|^-A .* -s $subnet " || true)
        ((owns_chains)) || continue
        while IFS= read -r line; do
            read -r -a rule <<<"${line/#-A /-D }"
            iptables -t "$table" "${rule[@]}" 2>/dev/null || true
        done < <(iptables -t "$table" -S 2>/dev/null | grep -E -- '^-A .* -j DOCKER' || true)
        for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ { print $2 }'); do
            iptables -t "$table" -F "$chain" 2>/dev/null || true
        done
        for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ { print $2 }'); do
            iptables -t "$table" -X "$chain" 2>/dev/null || true
        done
    done
    if ((owns_tables)); then
        for table in filter nat; do
            if ! iptables -t "$table" -S 2>/dev/null | grep -qv '^-P '; then
                nft delete table ip "$table" 2>/dev/null || true
            fi
        done
    fi
}

# --- shared clean-up --------------------------------------------------------------------------

# remove_all_containers HOST: `docker rm -f` of every container of the daemon at HOST.
remove_all_containers() {
    local host=$1 ids
    ids=$(timeout 30 env DOCKER_HOST="$host" DOCKER_CONFIG="$DOCKER_CLI_CONFIG" docker ps -aq 2>/dev/null) || return 0
    [[ -z $ids ]] && return 0
    # shellcheck disable=SC2086 # a list of ids
    timeout 60 env DOCKER_HOST="$host" DOCKER_CONFIG="$DOCKER_CLI_CONFIG" docker rm -f $ids >/dev/null 2>&1 || true
}

# kill_processes_naming DIR: SIGKILL every process whose command line names DIR (shims,
# containerd), then waits a little for them to go.
kill_processes_naming() {
    local dir=$1 pid i
    for ((i = 0; i < 3; i++)); do
        for pid in $(pgrep -f -- "$dir" || true); do
            [[ $pid == "$$" ]] && continue
            kill -KILL "$pid" 2>/dev/null || true
        done
        pgrep -f -- "$dir" >/dev/null || return 0
        sleep 0.2
    done
}

# unmount_under DIR: lazily unmounts every mount point under DIR, deepest first.
unmount_under() {
    local dir=$1 target
    while IFS= read -r target; do
        umount -l "$target" 2>/dev/null || true
    done < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}

# remove_cgroup PARENT: removes PARENT (and what is under it) from every cgroup hierarchy,
# killing first any process left in it (a container whose shim was killed before it).
remove_cgroup() {
    local parent=${1#/} root
    [[ -n $parent ]] || return 0
    local -a dirs=()
    for root in /sys/fs/cgroup /sys/fs/cgroup/*; do
        [[ -d $root/$parent ]] && dirs+=("$root/$parent")
    done
    [[ ${#dirs[@]} -gt 0 ]] || return 0
    find "${dirs[@]}" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u |
        xargs -r kill -KILL 2>/dev/null || true
    sleep 0.2
    find "${dirs[@]}" -depth -type d -exec rmdir {} \; 2>/dev/null || true
}

# --- measuring --------------------------------------------------------------------------------

# proc_kib PID FIELD: a /proc/PID/status field in KiB (VmRSS, VmHWM), 0 if it is gone.
proc_kib() { awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# pss_kib PID: proportional set size (shared pages split between their users), 0 if gone.
pss_kib() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

# pids_with_args PROGRAM_RE WORD: pids whose argv[0] matches PROGRAM_RE and whose command line
# holds WORD as a whole argument or part of one.
pids_with_args() {
    local re=$1 word=$2 pid cmd
    for pid in $(pgrep -f -- "$word" || true); do
        cmd=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || continue
        [[ $(head -1 <<<"$cmd") =~ $re ]] && echo "$pid"
    done
}
