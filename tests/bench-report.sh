#!/usr/bin/env bash
# Report benchmark: a generated programme of national size (400 municipalities, 30 cohorts,
# 120 sessions, 10,000 registrations, 200,000 posts, with needs, answers, resources, lessons
# and survey answers; `samling bench-seed-report`), then every report page (programme, theme,
# cohort, session; the HTML page and the JSON API) REQUESTS times each (default 50), one after
# another, as the admin. Reports p50, p99 and max per page, on SQLite and on PostgreSQL
# (BACKENDS="sqlite postgres"), RUNS times each on a fresh database, and the medians over the
# runs. Targets: p50 under 300 ms and p99 under 1 s per page. Server on core 0, client on core 1.
# Run by hand, not in CI.
#
#   tests/bench-report.sh                                   # RUNS=3 BACKENDS="sqlite postgres"
#   RUNS=1 POSTS=20000 BACKENDS=sqlite tests/bench-report.sh
#   BIN_DIR=/tmp/old-build tests/bench-report.sh             # binaries built before; nothing is built
#
# PostgreSQL: SAMLING_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432) is used to
# create and drop a scratch database. The report goes to target/bench-report/report.md.
set -euo pipefail

RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-50}
MUNICIPALITIES=${MUNICIPALITIES:-400}
COHORTS=${COHORTS:-30}
REGISTRATIONS=${REGISTRATIONS:-10000}
POSTS=${POSTS:-200000}
BACKENDS=${BACKENDS:-sqlite postgres}
POSTGRES=${SAMLING_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
out=$root/target/bench-report
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
    for port in $(seq 22000 22999); do
        if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "bench-report: no free port in 22000-22999" >&2
    exit 1
}

# One run: a fresh database, seeded, a server on it, the requests; prints the client's JSON lines.
run_once() {
    local backend=$1 run=$2 port dir
    port=$(free_port)
    dir=$work/$backend-$run
    mkdir -p "$dir"
    if [[ $backend == postgres ]]; then
        scratch_db=samling_bench_report_$$
        psql "$POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS $scratch_db" >/dev/null
        psql "$POSTGRES/postgres" -qc "CREATE DATABASE $scratch_db" >/dev/null
        export SAMLING_DATABASE_URL=$POSTGRES/$scratch_db
    else
        export SAMLING_DATABASE_URL="sqlite://$dir/samling.sqlite?mode=rwc"
    fi
    export SAMLING_BIND=127.0.0.1:$port
    export SAMLING_PUBLIC_URL=http://127.0.0.1:$port
    export SAMLING_OUTBOX_DIR=$dir/outbox
    export SAMLING_SIGNING_SECRET=bench-report-signing-secret-0123456789abcdef
    export SAMLING_DIGEST_INTERVAL_SECONDS=0
    export RUST_LOG=${SAMLING_BENCH_LOG:-warn}
    local seeded_at=$SECONDS
    "$bin/samling" bench-seed-report --municipalities "$MUNICIPALITIES" --cohorts "$COHORTS" \
        --registrations "$REGISTRATIONS" --posts "$POSTS" --out "$dir/seed.json"
    echo "   seeded in $((SECONDS - seeded_at)) s" >&2
    "${on_server_core[@]}" "$bin/samling" serve >"$dir/serve.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
        sleep 0.05
    done
    "${on_client_core[@]}" "$bin/bench-report-pages" --base-url "http://127.0.0.1:$port" --seed "$dir/seed.json" \
        --requests "$REQUESTS"
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    if [[ $backend == postgres ]]; then
        psql "$POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS $scratch_db" >/dev/null
        scratch_db=
    fi
}

lines=$out/lines.jsonl
: >"$lines"
for backend in $BACKENDS; do
    for run in $(seq "$RUNS"); do
        echo "== $backend run $run"
        run_once "$backend" "$run" | while read -r line; do
            echo "   $line"
            echo "{\"backend\": \"$backend\", \"run\": $run, \"line\": $line}" >>"$lines"
        done
    done
done

report=$out/report.md
python3 - "$lines" "$MUNICIPALITIES" "$COHORTS" "$REGISTRATIONS" "$POSTS" "$REQUESTS" "$(nproc)" >"$report" <<'PY'
import json, statistics, sys, datetime, platform
path, municipalities, cohorts, registrations, posts, requests, cores = sys.argv[1:]
rows = [json.loads(line) for line in open(path)]
print("# Report benchmark")
print()
print(f"A generated programme: {municipalities} municipalities, {cohorts} cohorts, {int(cohorts) * 4} sessions, "
      f"{registrations} registrations, {posts} posts. {requests} requests per page and run, one at a time, as the admin.")
print(f"Machine: {cores} cores, {platform.machine()}; {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%MZ}.")
print("Medians over the runs; target p50 < 300 ms and p99 < 1,000 ms per page.")
print()
print("| backend | scope | kind | runs | p50 ms | p99 ms | max ms | bytes | target met |")
print("|---|---|---|---:|---:|---:|---:|---:|---|")
keys = []
for row in rows:
    key = (row["backend"], row["line"]["scope"], row["line"]["kind"])
    if key not in keys:
        keys.append(key)
for key in keys:
    found = [row["line"] for row in rows if (row["backend"], row["line"]["scope"], row["line"]["kind"]) == key]
    p50 = statistics.median(line["p50_ms"] for line in found)
    p99 = statistics.median(line["p99_ms"] for line in found)
    most = statistics.median(line["max_ms"] for line in found)
    size = statistics.median(line["bytes"] for line in found)
    met = "yes" if p50 < 300 and p99 < 1000 else "no"
    print(f"| {key[0]} | {key[1]} | {key[2]} | {len(found)} | {p50:.1f} | {p99:.1f} | {most:.1f} | {size:,.0f} | {met} |")
PY
echo
cat "$report"
