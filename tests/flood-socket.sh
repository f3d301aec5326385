#!/usr/bin/env bash
# Socket flood: one signed-in member's websocket sends two-byte frames for DURATION seconds
# and never reads, binary frames and then text frames; reports Samling's resident memory
# (VmRSS: before, the most during, and SETTLE seconds after) and its /healthz latency during
# the flood. Run by hand, not in CI.
#
#   tests/flood-socket.sh                        # DURATION=60, binary and text, one socket
#   MODES="once reconnect" tests/flood-socket.sh # also a client that reconnects at every close
#   KINDS=binary DURATION=10 tests/flood-socket.sh
#   BIN_DIR=/tmp/old-build tests/flood-socket.sh # another build; nothing is built then
#
# A flood stops early when the server's VmRSS passes MAX_RSS_MIB (default 4096), so that a
# build whose memory the flood grows does not take the machine down.
#
# Each run starts a fresh release server on a fresh SQLite file with one seeded member
# (`samling bench-seed`). With two cores or more, the server runs on core 0, the flood on core 1.
set -euo pipefail

DURATION=${DURATION:-60}
SETTLE=${SETTLE:-5}
KINDS=${KINDS:-binary text}
MODES=${MODES:-once}
MAX_RSS_MIB=${MAX_RSS_MIB:-4096}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
work=$(mktemp -d)
server_pid=

cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if (($(nproc) >= 2)); then
    on_server_core=(taskset -c 0)
    on_flood_core=(taskset -c 1)
else
    on_server_core=()
    on_flood_core=()
fi

if [[ -z ${BIN_DIR:-} ]]; then
    echo "== building (release)"
    (cd "$root" && cargo build --release --locked -p samling --features samling/bench-seed -p samling-bench)
fi

free_port() {
    local port
    for port in $(seq 21000 21999); do
        if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "flood-socket: no free port in 21000-21999" >&2
    exit 1
}

start_samling() {
    local port dir
    port=$(free_port)
    dir=$work/samling-$RANDOM
    mkdir -p "$dir"
    export SAMLING_DATABASE_URL="sqlite://$dir/samling.sqlite?mode=rwc"
    export SAMLING_BIND=127.0.0.1:$port
    export SAMLING_PUBLIC_URL=http://127.0.0.1:$port
    export SAMLING_OUTBOX_DIR=$dir/outbox
    export SAMLING_FILES_DIR=$dir/files
    export SAMLING_SIGNING_SECRET=flood-socket-signing-secret-0123456789abcdef
    export RUST_LOG=${SAMLING_FLOOD_LOG:-warn}
    "$bin/samling" bench-seed --cohorts 1 --members 1 --out "$dir/seed.json" >/dev/null
    seed=$dir/seed.json
    "${on_server_core[@]}" "$bin/samling" serve >"$dir/serve.log" 2>&1 &
    server_pid=$!
    addr=127.0.0.1:$port
    for _ in $(seq 200); do
        if curl -sf "http://$addr/readyz" >/dev/null; then
            return
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            break
        fi
        sleep 0.05
    done
    echo "flood-socket: Samling did not get ready:" >&2
    cat "$dir/serve.log" >&2
    exit 1
}

if [[ -n ${BIN_DIR:-} ]]; then
    build="binaries in $BIN_DIR"
else
    build=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
fi
echo "== $build, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
    "${DURATION} s per flood"
for mode in $MODES; do
    for kind in $KINDS; do
        start_samling
        extra=()
        if [[ $mode == reconnect ]]; then extra=(--reconnect); fi
        echo "== $kind, $mode"
        "${on_flood_core[@]}" "$bin/bench-flood" --addr "$addr" --seed "$seed" --server-pid "$server_pid" \
            --kind "$kind" --duration "$DURATION" --settle "$SETTLE" --max-rss-mib "$MAX_RSS_MIB" "${extra[@]}"
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    done
done
