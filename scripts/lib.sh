# Shell helpers shared by scripts/*.sh and bench/*.sh. Source it; it defines functions only.
# shellcheck shell=bash

# Prints a message on stderr, prefixed so that it stands out from tool output.
berth_say() {
    printf '==> %s\n' "$*" >&2
}

# Stops the script with a message on stderr.
berth_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Containers need namespaces, mounts and cgroups: everything here runs as root.
berth_require_root() {
    if [[ $(id -u) -ne 0 ]]; then
        berth_die "$(basename "$0") must run as root (containers need namespaces, mounts and cgroups); try: sudo $0"
    fi
}

# The repository root, whichever directory the caller was started from.
berth_repo_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd
}

# Installs the Debian packages given that are not installed yet. Does nothing (and touches no
# network) when all are present, so that it is cheap to call every time.
berth_ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    berth_say "installing Debian packages: ${missing[*]}"
    local log
    log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        berth_die "apt-get could not install: ${missing[*]}"
    fi
    rm -f "$log"
}

# Makes cargo reachable when rustup installed it but the shell has not loaded its profile.
berth_ensure_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null 2>&1 ||
        berth_die "cargo not found: install Rust 1.85 or newer (https://rustup.rs), then run $0 again"
}

# Quotes one string as a JSON string (enough for arguments, hostnames and paths).
berth_json_string() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}

# berth_make_busybox_bundle DIR HOSTNAME ARG...
# Makes an OCI bundle in DIR (created, must not exist yet): rootfs/ holds the host's static
# busybox with a symlink for each applet, config.json is runc's default spec with a readonly
# root, no terminal, the hostname and process args given.
berth_make_busybox_bundle() {
    local dir=$1 hostname=$2
    shift 2
    [[ $# -gt 0 ]] || berth_die "berth_make_busybox_bundle: no process args"
    [[ ! -e $dir ]] || berth_die "bundle directory $dir already exists"
    local busybox=/bin/busybox
    [[ -x $busybox ]] || berth_die "$busybox not found (Debian package busybox-static)"

    local rootfs=$dir/rootfs
    mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,etc,tmp,root}
    cp "$busybox" "$rootfs/bin/busybox"
    local applet
    while IFS= read -r applet; do
        # --list-full prints paths such as usr/bin/env; busybox itself stays a file.
        [[ $applet == bin/busybox ]] && continue
        [[ -d $rootfs/${applet%/*} ]] || mkdir -p "$rootfs/${applet%/*}"
        ln -sf /bin/busybox "$rootfs/$applet"
    done < <("$busybox" --list-full)
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    chmod 1777 "$rootfs/tmp"

    local args="" arg
    for arg in "$@"; do
        args+="${args:+, }$(berth_json_string "$arg")"
    done
    cat >"$dir/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": [ $args ],
    "env": [ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root" ],
    "cwd": "/",
    "capabilities": {
      "bounding": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
      "effective": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
      "permitted": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
      "ambient": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ]
    },
    "rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": true },
  "hostname": $(berth_json_string "$hostname"),
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": [ "nosuid", "strictatime", "mode=755", "size=65536k" ] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
      "options": [ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" ] },
    { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
      "options": [ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" ] },
    { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
      "options": [ "nosuid", "noexec", "nodev" ] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs",
      "options": [ "nosuid", "noexec", "nodev", "ro" ] },
    { "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
      "options": [ "nosuid", "nodev", "mode=1777" ] }
  ],
  "linux": {
    "resources": { "devices": [ { "allow": false, "access": "rwm" } ] },
    "namespaces": [
      { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
      { "type": "uts" }, { "type": "mount" }
    ],
    "maskedPaths": [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
    ],
    "readonlyPaths": [ "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" ]
  }
}
JSON
}

# berth_debian_mirror SUITE
# Prints the Debian mirror this host's apt uses for SUITE (from /etc/apt/sources.list and
# /etc/apt/sources.list.d/*.{list,sources}, one-line and deb822 formats): the first enabled
# `deb` source that serves SUITE, else the first whose URI ends in /debian, else
# http://deb.debian.org/debian. Hosts behind a local mirror or proxy keep using it.
berth_debian_mirror() {
    local suite=$1 files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && files+=("$f")
    done
    local mirror=""
    if [[ ${#files[@]} -gt 0 ]]; then
        mirror=$(awk -v suite="$suite" '
            function consider(uri, suites,    n, s, i) {
                sub(/\/+$/, "", uri)
                n = split(suites, s, /[ \t]+/)
                for (i = 1; i <= n; i++) if (s[i] == suite && exact == "") exact = uri
                if (uri ~ /\/debian$/ && debian == "") debian = uri
            }
            function stanza_end() {
                if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") {
                    n = split(uris, u, /[ \t]+/)
                    for (i = 1; i <= n; i++) if (u[i] != "") consider(u[i], suites)
                }
                types = ""; uris = ""; suites = ""; enabled = ""
            }
            FNR == 1 { stanza_end(); deb822 = (FILENAME ~ /\.sources$/) }
            deb822 && /^[ \t]*$/ { stanza_end(); next }
            deb822 && /^[^#]/ {
                key = tolower($1); value = $0; sub(/^[^:]*:[ \t]*/, "", value)
                if (key == "types:") types = value
                else if (key == "uris:") uris = value
                else if (key == "suites:") suites = value
                else if (key == "enabled:") enabled = tolower(value)
                next
            }
            !deb822 && $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if (i + 1 <= NF) consider($i, $(i + 1))
            }
            END { stanza_end(); print (exact != "" ? exact : debian) }
        ' "${files[@]}")
    fi
    printf '%s\n' "${mirror:-http://deb.debian.org/debian}"
}

# berth_debian_base_tar SUITE TAR
# Writes TAR, the root filesystem of a minimal Debian SUITE as a tarball (for `berth
# import`): `debootstrap --variant=minbase` from the host's mirror (berth_debian_mirror),
# trimmed as Docker's debian:*-slim images are: no apt lists or caches (a Dockerfile runs
# apt-get update first), and dpkg told to skip docs, man pages and translations, now and
# in later installs. About 90 MB instead of 200: quicker to import and to build on.
berth_debian_base_tar() {
    local suite=$1 tar=$2 mirror rootfs
    mirror=$(berth_debian_mirror "$suite")
    rootfs=$(mktemp -d "$tar.rootfs.XXXXXX")
    berth_say "debootstrap --variant=minbase $suite from $mirror"
    if ! debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
        tail -n 30 "$rootfs.log" >&2
        # debootstrap mounts /proc and /sys in the target while it works.
        umount -l "$rootfs/proc" "$rootfs/sys" 2>/dev/null || true
        rm -rf "$rootfs" "$rootfs.log"
        berth_die "debootstrap $suite from $mirror failed (its last lines above)"
    fi
    rm -f "$rootfs.log"
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'DPKG'
# As in Docker's debian:*-slim images (berth_debian_base_tar in berth's scripts/lib.sh).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
    find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
        "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
    tar --numeric-owner -C "$rootfs" -cf "$tar" .
    rm -rf "$rootfs"
}

# berth_start_daemon BERTH WORK INSTANCE: starts `berth daemon` on the roots WORK/data and
# WORK/exec with its own network instance (bridge INSTANCE0, nft table INSTANCE), logging
# to WORK/daemon.log; sets BERTH_DAEMON_PID and returns once it answers.
berth_start_daemon() {
    local berth=$1 work=$2 instance=$3
    "$berth" --data-root "$work/data" --exec-root "$work/exec" \
        daemon --instance "$instance" 2>"$work/daemon.log" &
    BERTH_DAEMON_PID=$!
    local client=("$berth" --data-root "$work/data" --exec-root "$work/exec")
    for _ in $(seq 100); do
        [[ -S $work/exec/berth.sock ]] && "${client[@]}" version >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    "${client[@]}" version >/dev/null || berth_die "the daemon did not start: $(cat "$work/daemon.log")"
}

# berth_stop_daemon_and_clean PID INSTANCE WORK: stops the daemon (if PID is set), removes
# what it made on the host should it have died (its bridge and nft table), unmounts what
# is left under WORK and removes WORK.
berth_stop_daemon_and_clean() {
    local pid=$1 instance=$2 work=$3
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    ip link delete "${instance}0" >/dev/null 2>&1 || true
    nft delete table ip "$instance" >/dev/null 2>&1 || true
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
