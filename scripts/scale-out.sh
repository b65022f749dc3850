#!/bin/sh
# Runs N `secure-channel serve` nodes on loopback behind HAProxy (deploy/haproxy.cfg with
# its addresses moved to loopback) and loads them with `secure-channel load`; prints the
# load summary. For the figures in docs/OPERATIONS.md ("Many nodes").
#
#   scripts/scale-out.sh [NODES] [CLIENTS] [DURATION]      (defaults: 3 64 10s)
#   NODES=0 loads one node directly, without HAProxy.
set -eu
nodes=${1:-3}; clients=${2:-64}; duration=${3:-10s}
root=$(cd "$(dirname "$0")/.." && pwd)
exe=${SECURE_CHANNEL:-$root/target/release/secure-channel}
[ -x "$exe" ] || (cd "$root" && cargo build --release -q -p sc-cli)
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null; wait; rm -rf "$work"' EXIT
"$exe" sim-root create --out "$work/root.key" >/dev/null
start_node() { # index -> prints its address
    "$exe" serve -q --listen "127.0.0.1:$((17100 + $1))" --metrics-listen "127.0.0.1:$((17200 + $1))" \
        --sim-root "$work/root.key" --policy-out "$work/policy$1.toml" >"$work/node$1.out" 2>"$work/node$1.err" &
    echo $! >"$work/node$1.pid"
    while ! grep -q listening "$work/node$1.out" 2>/dev/null; do
        kill -0 "$(cat "$work/node$1.pid")" 2>/dev/null || { cat "$work/node$1.err" >&2; exit 1; }
        sleep 0.1
    done
}
if [ "$nodes" -eq 0 ]; then
    start_node 1
    target=127.0.0.1:17101
else
    servers=""
    for i in $(seq 1 "$nodes"); do
        start_node "$i"
        servers="$servers    server node$i 127.0.0.1:$((17100 + i)) port $((17200 + i))\n"
    done
    awk -v servers="$servers" '
        /bind :7000/ { print "    bind 127.0.0.1:17000"; next }
        /bind 127.0.0.1:8404/ { print "    bind 127.0.0.1:17001"; next }
        /^ *server node1 / { printf "%s", servers; next }
        /^ *server node/ { next }
        { sub("check port 9100", "check"); print }' "$root/deploy/haproxy.cfg" >"$work/haproxy.cfg"
    haproxy -db -f "$work/haproxy.cfg" >/dev/null 2>&1 &
    echo $! >"$work/haproxy.pid"
    sleep 3 # HAProxy marks the nodes up after two checks, a second apart
    target=127.0.0.1:17000
fi
"$exe" load -q --target "$target" --policy "$work/policy1.toml" --clients "$clients" --duration "$duration"
