#!/usr/bin/env bash
# Digest benchmark: compose and send the recap digest to every member of COHORTS cohorts of
# MEMBERS people (default 50 × 200 = 10,000) through a local SMTP server, with
# `samling digests run` (release build). Reports the wall time, mails per second and the
# command's peak memory, RUNS times on a fresh SQLite database each. Run by hand, not in CI.
#
#   tests/bench-digests.sh                       # RUNS=3 COHORTS=50 MEMBERS=200
#   RUNS=1 COHORTS=5 MEMBERS=100 tests/bench-digests.sh
#   BIN_DIR=/tmp/old-build tests/bench-digests.sh   # binaries built before; nothing is built
#
# The report goes to target/bench-digests/report.md.
set -euo pipefail

RUNS=${RUNS:-3}
COHORTS=${COHORTS:-50}
MEMBERS=${MEMBERS:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/release}
out=$root/target/bench-digests
mkdir -p "$out"
work=$(mktemp -d)
sink_pid=

cleanup() {
    if [[ -n $sink_pid ]]; then
        kill "$sink_pid" 2>/dev/null || true
        wait "$sink_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [[ -z ${BIN_DIR:-} ]]; then
    echo "== building (release)"
    (cd "$root" && cargo build --release --locked -p samling --features samling/bench-seed -p samling-bench)
fi
if [[ ! -x /usr/bin/time ]]; then
    echo "bench-digests: /usr/bin/time (GNU time) is needed for the peak memory" >&2
    exit 1
fi

expected=$((COHORTS * MEMBERS))
rows=()
for run in $(seq "$RUNS"); do
    dir=$work/run-$run
    mkdir -p "$dir"
    "$bin/bench-smtp-sink" --count-file "$dir/count" >"$dir/sink.log" 2>&1 &
    sink_pid=$!
    for _ in $(seq 100); do
        grep -q '^listening ' "$dir/sink.log" 2>/dev/null && break
        sleep 0.05
    done
    port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$dir/sink.log")
    export SAMLING_DATABASE_URL="sqlite://$dir/samling.sqlite?mode=rwc"
    export SAMLING_OUTBOX_DIR=$dir/outbox
    export SAMLING_SMTP_HOST=127.0.0.1
    export SAMLING_SMTP_PORT=$port
    export SAMLING_SMTP_TLS=none
    export RUST_LOG=warn
    echo "== run $run/$RUNS: seeding $COHORTS cohorts of $MEMBERS members"
    "$bin/samling" bench-seed --cohorts "$COHORTS" --members "$MEMBERS" --recap-due --out "$dir/seed.json"
    echo "== run $run/$RUNS: samling digests run"
    /usr/bin/time -v -o "$dir/time.txt" "$bin/samling" digests run | tee "$dir/run.txt"
    sleep 0.3
    received=$(cat "$dir/count")
    kill "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
    sink_pid=
    seconds=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time.txt" |
        awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    peak_kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time.txt")
    echo "received $received of $expected mails in $seconds s, peak $peak_kib KiB"
    if ((received < expected)); then
        echo "bench-digests: the SMTP server received $received mails, expected $expected" >&2
        exit 1
    fi
    rows+=("$seconds $peak_kib $received")
done

report=$out/report.md
{
    echo "# Digest benchmark"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "- $COHORTS cohorts × $MEMBERS members = $expected recap digests, composed, enqueued and sent over SMTP by \`samling digests run\` (release, SQLite)"
    echo
    echo "| run | wall time | mails/s | peak memory | mails received |"
    echo "| ---: | ---: | ---: | ---: | ---: |"
    n=0
    for row in "${rows[@]}"; do
        read -r seconds peak received <<<"$row"
        n=$((n + 1))
        awk -v n="$n" -v s="$seconds" -v p="$peak" -v r="$received" \
            'BEGIN { printf "| %d | %.1f s | %.0f | %.0f MiB | %d |\n", n, s, r / s, p / 1024, r }'
    done
    median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    median_seconds=$(printf '%s\n' "${rows[@]}" | awk '{ print $1 }' | median)
    median_peak=$(printf '%s\n' "${rows[@]}" | awk '{ print $2 }' | median)
    awk -v s="$median_seconds" -v p="$median_peak" -v r="$expected" \
        'BEGIN { printf "\nMedian wall time %.1f s (%.0f mails/s); median peak memory %.0f MiB.\n", s, r / s, p / 1024 }'
} >"$report"
echo
cat "$report"
echo "Written to $report"
