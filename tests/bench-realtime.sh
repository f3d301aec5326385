#!/usr/bin/env bash
# Realtime fan-out benchmark: Samling beside a bare tokio-tungstenite broadcast server (the
# ceiling of this machine). Run by hand, not in CI; it needs 2 cores and about 10 minutes.
#
#   tests/bench-realtime.sh            # RUNS=3 DURATION=10 by default
#   RUNS=1 DURATION=5 tests/bench-realtime.sh
#   ONLY="b c" TARGETS=samling tests/bench-realtime.sh   # some scenarios, one server
#   BIN_DIR=/tmp/old-build ONLY=d TARGETS=samling tests/bench-realtime.sh   # another build
#   POST_OVER=http ONLY="c d" tests/bench-realtime.sh   # Samling's posts over HTTP
#
# The server runs on core 0 and the load generator on core 1. Each run starts a fresh server
# (Samling: a fresh SQLite file, seeded members and tokens), so every run starts alike.
# The report goes to target/bench-realtime/report.md.
set -euo pipefail

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
# Samling: posts go over their authors' own websockets, as the thread page sends them, or
# (POST_OVER=http) through POST /api/v1/threads/{id}/posts.
POST_OVER=${POST_OVER:-websocket}
GRACE=${GRACE:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
# BIN_DIR: binaries built before (an A/B comparison of two builds); nothing is built then.
bin=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
out=$root/target/bench-realtime
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
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

# 5,000 websocket clients and their server need more descriptors than the usual 1,024.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < 12000)); then
    echo "bench-realtime: warning: ulimit -n is $(ulimit -n); scenario (c) needs about 11,000" >&2
fi

if (($(nproc) >= 2)); then
    on_server_core=(taskset -c 0)
    on_load_core=(taskset -c 1)
else
    echo "bench-realtime: warning: fewer than 2 cores; server and generator share one" >&2
    on_server_core=()
    on_load_core=()
fi

if [[ -z ${BIN_DIR:-} ]]; then
    echo "== building (release)"
    (cd "$root" && cargo build --release --locked -p samling --features samling/bench-seed -p samling-bench)
fi

# name | bench-load arguments (the server address and the label are added per run)
scenarios=(
    "a|--clients 1000 --cohorts 1 --rate 10"
    "b|--clients 1000 --cohorts 1 --rate 100"
    "c|--clients 5000 --cohorts 100 --rate 1000"
    "d|--clients 1000 --cohorts 1 --mode burst --window 64"
    "e|--clients 2000 --cohorts 1 --mode idle"
)

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

free_port() {
    local port
    for port in $(seq 20000 20999); do
        if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "bench-realtime: no free port in 20000-20999" >&2
    exit 1
}

start_bare() {
    local log=$work/bare.log
    "${on_server_core[@]}" "$bin/bench-bare-server" --bind 127.0.0.1:0 >"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        if addr=$(grep -m1 -o 'listening .*' "$log" 2>/dev/null); then
            addr=${addr#listening }
            return
        fi
        sleep 0.05
    done
    echo "bench-realtime: the bare server did not start:" >&2
    cat "$log" >&2
    exit 1
}

# Samling on a fresh SQLite file with `cohorts` × `members` seeded project leads.
start_samling() {
    local cohorts=$1 members=$2 port
    port=$(free_port)
    local dir=$work/samling-$RANDOM
    mkdir -p "$dir"
    export SAMLING_DATABASE_URL="sqlite://$dir/samling.sqlite?mode=rwc"
    export SAMLING_BIND=127.0.0.1:$port
    export SAMLING_PUBLIC_URL=http://127.0.0.1:$port
    export SAMLING_OUTBOX_DIR=$dir/outbox
    export SAMLING_SIGNING_SECRET=bench-realtime-signing-secret-0123456789abcdef
    # The benchmark measures fan-out, not the per-person post limit.
    export SAMLING_POSTS_PER_MINUTE=1000000
    export RUST_LOG=${SAMLING_BENCH_LOG:-warn}
    "$bin/samling" bench-seed --cohorts "$cohorts" --members "$members" --out "$dir/seed.json"
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
    echo "bench-realtime: Samling did not get ready:" >&2
    cat "$dir/serve.log" >&2
    exit 1
}

run_scenario() {
    local target=$1 label=$2 args=$3 run=$4
    local extra=()
    if [[ $target == bare ]]; then
        start_bare
    else
        if [[ $label == c ]]; then start_samling 100 50; else start_samling 1 2000; fi
        extra=(--seed "$seed" --post-over "$POST_OVER")
    fi
    # Idle mode reads the server's memory; the others report its CPU use while posting.
    extra+=(--server-pid "$server_pid")
    echo "== $target ($label) run $run/$RUNS"
    # shellcheck disable=SC2086 # the scenario's arguments are meant to split
    "${on_load_core[@]}" "$bin/bench-load" --target "$target" --addr "$addr" --label "$label" \
        --duration "$DURATION" --grace "$GRACE" $args "${extra[@]}" | tee -a "$results" ||
        echo "bench-realtime: $target ($label) run $run failed" >&2
    stop_server
}

for target in ${TARGETS:-bare samling}; do
    for scenario in "${scenarios[@]}"; do
        [[ " ${ONLY:-a b c d e} " == *" ${scenario%%|*} "* ]] || continue
        for run in $(seq "$RUNS"); do
            run_scenario "$target" "${scenario%%|*}" "${scenario#*|}" "$run"
        done
    done
done

report=$out/report.md
{
    echo "# Realtime fan-out benchmark"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "- Server pinned to core 0, load generator to core 1; $RUNS runs of each scenario, ${DURATION} s of posting each"
    echo
    "$bin/bench-report" "$results"
} >"$report"
echo
cat "$report"
echo
echo "Written to $report (raw results: $results)"
