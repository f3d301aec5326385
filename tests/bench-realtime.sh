#!/usr/bin/env bash
# Realtime fan-out benchmark: Samling on SQLite and on PostgreSQL beside two ceilings of this
# machine, with post bodies like real ones. The ceilings are bare tokio-tungstenite servers with
# no database: `bench-bare-server` speaks Samling's JSON protocol (protocol-level), and
# `bench-bare-transport` rebroadcasts raw frames unread (transport-level). Run by hand, not in
# CI; it needs 2 cores. With the defaults (RUNS=3, BACKENDS="sqlite postgres", BODY=realistic,
# all three servers) a full run takes 20 to 25 minutes once built: 6 to 8 per run, most of it
# the 10 s scenarios and the sweeps (a sweep runs longer the more steps its server keeps up with).
#
#   tests/bench-realtime.sh                  # RUNS=3 DURATION=10 STEP_DURATION=5 by default
#   RUNS=1 DURATION=5 tests/bench-realtime.sh
#   ONLY="b c" TARGETS=samling BACKENDS=sqlite tests/bench-realtime.sh   # some scenarios, one server, one database
#   BODY=plain tests/bench-realtime.sh       # the old "Lorem ipsum" body; BODY="realistic plain" runs both
#   BODY_SEED=7 tests/bench-realtime.sh      # another realistic mix (2027 by default)
#   ONLY=d RATES="500 1000 2000" tests/bench-realtime.sh   # the sweep's rates
#   BIN_DIR=/tmp/old-build ONLY=d TARGETS=samling tests/bench-realtime.sh   # another build
#   POST_OVER=http ONLY="c d" tests/bench-realtime.sh   # Samling's posts over HTTP
#
# TARGETS are bare (protocol-level), transport (transport-level) and samling. Every run starts
# a fresh server; Samling gets a fresh database seeded by `samling bench-seed`: a SQLite file,
# or a scratch database on SAMLING_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432,
# created and dropped per run). The bare servers need no database, so they run once per run and
# body, not per backend. The server runs on core 0, PostgreSQL's processes too (pinned with
# taskset while the script runs, their affinity restored at exit), the load generator on core 1.
# Scenario (d) is an open-loop sweep: RATES posts/s into 1,000 subscribers, STEP_DURATION
# seconds each, until p99 passes STOP_P99_MS or a post is refused or a delivery lost; the peak
# is the deliveries/s of the highest rate with p99 under 1 s and nothing lost.
# The report goes to target/bench-realtime/report.md.
set -euo pipefail

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
GRACE=${GRACE:-5}
BACKENDS=${BACKENDS:-sqlite postgres}
TARGETS=${TARGETS:-bare transport samling}
BODY=${BODY:-realistic}
BODY_SEED=${BODY_SEED:-2027}
RATES=${RATES:-100 250 500 750 1000 1250 1500 2000 3000 4000}
STEP_DURATION=${STEP_DURATION:-5}
STOP_P99_MS=${STOP_P99_MS:-3000}
# Samling: posts go over their authors' own websockets, as the thread page sends them, or
# (POST_OVER=http) through POST /api/v1/threads/{id}/posts.
POST_OVER=${POST_OVER:-websocket}
POSTGRES=${SAMLING_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
root=$(cd "$(dirname "$0")/.." && pwd)
# BIN_DIR: binaries built before (an A/B comparison of two builds); nothing is built then.
bin=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
out=$root/target/bench-realtime
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
work=$(mktemp -d)
server_pid=
scratch_db=
postmaster=
postmaster_affinity=
started_at=$SECONDS

drop_scratch_db() {
    [[ -n $scratch_db ]] || return 0
    # FORCE (PostgreSQL 13+) ends connections the killed server left behind.
    psql "$POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS $scratch_db WITH (FORCE)" >/dev/null 2>&1 ||
        psql "$POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS $scratch_db" >/dev/null 2>&1 || true
    scratch_db=
}

# The postmaster and every process it has forked, for taskset.
postgres_processes() {
    echo "$postmaster"
    pgrep -P "$postmaster" || true
}

unpin_postgres() {
    [[ -n $postmaster && -n $postmaster_affinity ]] || return 0
    local pid
    for pid in $(postgres_processes); do
        taskset -a -p -c "$postmaster_affinity" "$pid" >/dev/null 2>&1 || true
    done
    postmaster=
}

cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    drop_scratch_db
    unpin_postgres
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

wants() {
    [[ " $1 " == *" $2 "* ]]
}

# Pins PostgreSQL to the server's core, so the rig stays two cores: the postmaster (whose new
# backends inherit its affinity) and the processes it already runs. The old affinity comes
# back at exit.
pin_postgres() {
    local checkpointer parent
    checkpointer=$(psql "$POSTGRES/postgres" -Atc \
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'" 2>/dev/null) || checkpointer=
    parent=$(ps -o ppid= -p "${checkpointer:-0}" 2>/dev/null | tr -d ' ') || parent=
    # The pid is only ours to pin if PostgreSQL runs on this machine, in this pid namespace.
    if [[ -z $parent ]] || [[ $(ps -o comm= -p "$parent" 2>/dev/null) != postgres* ]] ||
        [[ $(ps -o comm= -p "$checkpointer" 2>/dev/null) != postgres* ]]; then
        echo "bench-realtime: warning: PostgreSQL's processes were not found on this machine; not pinned" >&2
        return
    fi
    postmaster_affinity=$(taskset -c -p "$parent" | sed 's/.*: //')
    if ! taskset -a -p -c 0 "$parent" >/dev/null 2>&1; then
        echo "bench-realtime: warning: cannot pin PostgreSQL (pid $parent) to core 0; it runs unpinned" >&2
        postmaster_affinity=
        return
    fi
    postmaster=$parent
    local pid
    for pid in $(postgres_processes); do
        taskset -a -p -c 0 "$pid" >/dev/null 2>&1 ||
            echo "bench-realtime: warning: cannot pin PostgreSQL process $pid to core 0" >&2
    done
    echo "== PostgreSQL (postmaster $postmaster) pinned to core 0; affinity $postmaster_affinity restored at exit"
}

if [[ -z ${BIN_DIR:-} ]]; then
    echo "== building (release)"
    (cd "$root" && cargo build --release --locked -p samling --features samling/bench-seed -p samling-bench)
fi
for target in $TARGETS; do
    case $target in
    bare) needed=bench-bare-server ;;
    transport) needed=bench-bare-transport ;;
    samling) needed=samling ;;
    *)
        echo "bench-realtime: unknown target $target (bare, transport, samling)" >&2
        exit 1
        ;;
    esac
    if [[ ! -x $bin/$needed ]]; then
        echo "bench-realtime: $bin/$needed is missing" >&2
        exit 1
    fi
done
if wants "$TARGETS" samling && wants "$BACKENDS" postgres; then
    if ! psql "$POSTGRES/postgres" -qAtc "SELECT 1" >/dev/null; then
        echo "bench-realtime: PostgreSQL at $POSTGRES does not answer (SAMLING_BENCH_POSTGRES)" >&2
        exit 1
    fi
    if ((${#on_server_core[@]} > 0)); then
        pin_postgres
    fi
fi

# name | bench-load arguments (the server address, the body and the tags are added per run)
scenarios=(
    "a|--clients 1000 --cohorts 1 --rate 10 --duration $DURATION"
    "b|--clients 1000 --cohorts 1 --rate 100 --duration $DURATION"
    "c|--clients 5000 --cohorts 100 --rate 1000 --duration $DURATION"
    "d|--clients 1000 --cohorts 1 --mode sweep --rates ${RATES// /,} --duration $STEP_DURATION --stop-p99-ms $STOP_P99_MS"
    "e|--clients 2000 --cohorts 1 --mode idle"
)

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    drop_scratch_db
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

# A bare server (bench-bare-server or bench-bare-transport) on a free port.
start_bare() {
    local binary=$1 log=$work/bare.log
    "${on_server_core[@]}" "$bin/$binary" --bind 127.0.0.1:0 >"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        if addr=$(grep -m1 -o 'listening .*' "$log" 2>/dev/null); then
            addr=${addr#listening }
            return
        fi
        sleep 0.05
    done
    echo "bench-realtime: $binary did not start:" >&2
    cat "$log" >&2
    exit 1
}

# Samling on a fresh database with `cohorts` × `members` seeded project leads.
start_samling() {
    local cohorts=$1 members=$2 backend=$3 port
    port=$(free_port)
    local dir=$work/samling-$RANDOM
    mkdir -p "$dir"
    if [[ $backend == postgres ]]; then
        scratch_db=samling_bench_realtime_$$
        psql "$POSTGRES/postgres" -q -c "SET client_min_messages = warning" \
            -c "DROP DATABASE IF EXISTS $scratch_db" -c "CREATE DATABASE $scratch_db" >/dev/null
        export SAMLING_DATABASE_URL=$POSTGRES/$scratch_db
    else
        export SAMLING_DATABASE_URL="sqlite://$dir/samling.sqlite?mode=rwc"
    fi
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

# One scenario against one server: target is bare, transport or samling; backend is the
# database (Samling only, else "-").
run_scenario() {
    local target=$1 backend=$2 body=$3 label=$4 args=$5 run=$6
    local extra=(--body "$body" --body-seed "$BODY_SEED" --run "$run")
    case $target in
    bare) start_bare bench-bare-server ;;
    transport) start_bare bench-bare-transport ;;
    samling)
        if [[ $label == c ]]; then start_samling 100 50 "$backend"; else start_samling 1 2000 "$backend"; fi
        extra+=(--seed "$seed" --post-over "$POST_OVER" --backend "$backend")
        ;;
    esac
    # Idle mode reads the server's memory; the others report its CPU use while posting.
    extra+=(--server-pid "$server_pid")
    local server=$target
    if [[ $backend != - ]]; then server="$target on $backend"; fi
    echo "== $server ($label, $body body) run $run/$RUNS, $(((SECONDS - started_at) / 60)) min in"
    # shellcheck disable=SC2086 # the scenario's arguments are meant to split
    "${on_load_core[@]}" "$bin/bench-load" --target "$target" --addr "$addr" --label "$label" \
        --grace "$GRACE" $args "${extra[@]}" | tee -a "$results" ||
        echo "bench-realtime: $server ($label) run $run failed" >&2
    stop_server
}

# Runs alternate the servers, so a drift of the machine hits all of them alike, and each
# Samling figure has ceilings measured in the same run beside it.
for run in $(seq "$RUNS"); do
    for body in $BODY; do
        for target in $TARGETS; do
            backends=-
            if [[ $target == samling ]]; then backends=$BACKENDS; fi
            for backend in $backends; do
                for scenario in "${scenarios[@]}"; do
                    wants "${ONLY:-a b c d e}" "${scenario%%|*}" || continue
                    run_scenario "$target" "$backend" "$body" "${scenario%%|*}" "${scenario#*|}" "$run"
                done
            done
        done
    done
done
elapsed=$((SECONDS - started_at))

report=$out/report.md
{
    echo "# Realtime fan-out benchmark"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "- Server pinned to core 0, load generator to core 1; PostgreSQL $(
        if [[ -n $postmaster ]]; then echo "pinned to core 0 with the server"; else echo "not pinned"; fi
    )"
    echo "- Runs: $RUNS; servers: $TARGETS; databases: $BACKENDS; bodies: $BODY (seed $BODY_SEED);" \
        "${DURATION} s of posting in (a)–(c), sweep steps of ${STEP_DURATION} s at ${RATES// /, } posts/s;" \
        "$((elapsed / 60)) min $((elapsed % 60)) s in all"
    echo
    "$bin/bench-report" "$results"
} >"$report"
echo
cat "$report"
echo
echo "Written to $report (raw results: $results)"
