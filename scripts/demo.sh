#!/usr/bin/env bash
# Builds berth and shows its main job, on embedded defaults (no external service, no
# network): the local container workflow.
#   1. a base image made offline from the host's static busybox (`berth import`);
#   2. the engine (`berth daemon`);
#   3. a small web app built from a Dockerfile on that base (`berth build`: COPY, RUN,
#      EXPOSE, CMD), then `berth run -d -p` of the app, fetched over the
#      published port with curl; a second container on a user network reaches the first by
#      name through the embedded DNS; `berth ps`, `berth logs`, `berth rm -f`.
# Everything runs in a temp dir (its own data root, exec root and network names) and is
# removed at the end.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
repo=$(berth_repo_root)
cd "$repo"

berth_require_root
berth_ensure_packages busybox-static curl iproute2 nftables
berth_ensure_cargo

berth_say "building berth (cargo build --release)"
cargo build --release --quiet --bin berth

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
instance="demo$((RANDOM % 10000))"
berth=("$repo/target/release/berth" --data-root "$work/data" --exec-root "$work/exec")
BERTH_DAEMON_PID=""
cleanup() {
    if [[ -n $BERTH_DAEMON_PID ]]; then
        "${berth[@]}" rm -f demo-web demo-client >/dev/null 2>&1 || true
        "${berth[@]}" network rm demo-net >/dev/null 2>&1 || true
    fi
    berth_stop_daemon_and_clean "$BERTH_DAEMON_PID" "$instance" "$work"
}
trap cleanup EXIT

berth_say "1. a base image, made offline: busybox-static as a one-layer image"
mkdir -p "$work/base/bin" "$work/base/etc" "$work/base/tmp"
cp "$(command -v busybox)" "$work/base/bin/busybox"
for applet in $("$work/base/bin/busybox" --list); do
    [[ -e $work/base/bin/$applet ]] || ln -s busybox "$work/base/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/base/etc/passwd"
echo 'root:x:0:' >"$work/base/etc/group"
tar -C "$work/base" -cf "$work/base.tar" .
"${berth[@]}" import -c 'CMD ["sh"]' "$work/base.tar" demo/base:1 >/dev/null

berth_say "2. the engine: berth daemon (Docker Engine API on $work/exec/berth.sock)"
berth_start_daemon "$repo/target/release/berth" "$work" "$instance"

berth_say "3. the example app, built from a Dockerfile: berth build -t demo/web:1"
mkdir -p "$work/app"
cat >"$work/app/index.html" <<'EOF'
<h1>hello from a berth container</h1>
EOF
cat >"$work/app/Dockerfile" <<'EOF'
FROM demo/base:1
COPY index.html /www/index.html
RUN test -s /www/index.html
EXPOSE 80
CMD ["httpd", "-f", "-v", "-p", "80", "-h", "/www"]
EOF
"${berth[@]}" build -t demo/web:1 "$work/app"
"${berth[@]}" images

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
berth_say "berth run -d --name demo-web -p 127.0.0.1:$port:80 demo/web:1"
"${berth[@]}" network create demo-net >/dev/null
"${berth[@]}" run -d --name demo-web --network demo-net -p "127.0.0.1:$port:80" demo/web:1 >/dev/null
"${berth[@]}" ps

berth_say "curl http://127.0.0.1:$port/ (the published port)"
for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$port/" && break
    sleep 0.1
done

berth_say "another container on demo-net fetches http://demo-web/ (the embedded DNS)"
"${berth[@]}" run --rm --name demo-client --network demo-net demo/base:1 wget -qO- http://demo-web/

berth_say "berth logs demo-web"
"${berth[@]}" logs demo-web
"${berth[@]}" rm -f demo-web >/dev/null
berth_say "done: the container is removed; the daemon stops and the temp dir goes"
