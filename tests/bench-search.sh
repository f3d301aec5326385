#!/usr/bin/env bash
# Search benchmark: POSTS generated posts (default 100,000) in COHORTS cohorts (default 10),
# indexed as the post path indexes them, then QUERIES searches (default 2,000) one after
# another through the real API by members who each see one cohort. Reports search latency
# p50, p99 and max, on SQLite and on PostgreSQL (BACKENDS="sqlite postgres"), RUNS times each
# on a fresh database. Server on core 0, client on core 1. Run by hand, not in CI.
#
#   tests/bench-search.sh                              # RUNS=3 POSTS=100000 BACKENDS="sqlite postgres"
#   RUNS=1 POSTS=10000 BACKENDS=sqlite tests/bench-search.sh
#   BIN_DIR=/tmp/old-build tests/bench-search.sh        # binaries built before; nothing is built
#
# PostgreSQL: SAMLING_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432) is used to
# create and drop a scratch database. The report goes to target/bench-search/report.md.
set -euo pipefail

RUNS=${RUNS:-3}
POSTS=${POSTS:-100000}
COHORTS=${COHORTS:-10}
QUERIES=${QUERIES:-2000}
BACKENDS=${BACKENDS:-sqlite postgres}
POSTGRES=${SAMLING_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
out=$root/target/bench-search
mkdir -p "$out"
work=$(mktemp -d)
server_pid=
scratch_db=

cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n $scratch_db ]]; then
        psql "$POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS $scratch_db" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if (($(nproc) >= 2)); then
    on_server_core=(taskset -c 0)
    on_client_core=(taskset -c 1)
else
    on_server_core=()
    on_client_core=()
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
    echo "bench-search: no free port in 21000-21999" >&2
    exit 1
}

# One run: a fresh database, seeded, a server on it, the queries; prints the client's JSON line.
run_once() {
    local backend=$1 run=$2 port dir
    port=$(free_port)
    dir=$work/$backend-$run
    mkdir -p "$dir"
    if [[ $backend == postgres ]]; then
        scratch_db=samling_bench_search_$$
        psql "$POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS $scratch_db" >/dev/null
        psql "$POSTGRES/postgres" -qc "CREATE DATABASE $scratch_db" >/dev/null
        export SAMLING_DATABASE_URL=$POSTGRES/$scratch_db
    else
        export SAMLING_DATABASE_URL="sqlite://$dir/samling.sqlite?mode=rwc"
    fi
    export SAMLING_BIND=127.0.0.1:$port
    export SAMLING_PUBLIC_URL=http://127.0.0.1:$port
    export SAMLING_OUTBOX_DIR=$dir/outbox
    export SAMLING_SIGNING_SECRET=bench-search-signing-secret-0123456789abcdef
    export RUST_LOG=${SAMLING_BENCH_LOG:-warn}
    local seeded_at=$SECONDS
    "$bin/samling" bench-seed --cohorts "$COHORTS" --members 1 --posts "$POSTS" --out "$dir/seed.json"
    echo "   seeded $POSTS posts in $((SECONDS - seeded_at)) s" >&2
    "${on_server_core[@]}" "$bin/samling" serve >"$dir/serve.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
        sleep 0.05
    done
    "${on_client_core[@]}" "$bin/bench-search" --base-url "http://127.0.0.1:$port" --seed "$dir/seed.json" --queries "$QUERIES"
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    if [[ $backend == postgres ]]; then
        psql "$POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS $scratch_db" >/dev/null
        scratch_db=
    fi
}

report=$out/report.md
{
    echo "# Search benchmark"
    echo
    echo "$POSTS posts in $COHORTS cohorts; $QUERIES searches per run, one at a time, by members who each see one cohort."
    echo "Machine: $(nproc) cores, $(uname -m); $(date -u +%Y-%m-%dT%H:%MZ)."
    echo
    echo "| backend | run | p50 ms | p99 ms | max ms | hits per query |"
    echo "|---|---:|---:|---:|---:|---:|"
} >"$report"
for backend in $BACKENDS; do
    for run in $(seq "$RUNS"); do
        echo "== $backend run $run"
        line=$(run_once "$backend" "$run")
        echo "   $line"
        python3 - "$backend" "$run" "$line" >>"$report" <<'PY'
import json, sys
backend, run, line = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
print(f"| {backend} | {run} | {line['p50_ms']:.2f} | {line['p99_ms']:.2f} | {line['max_ms']:.2f} | {line['hits_per_query']:.1f} |")
PY
    done
done
echo
cat "$report"
