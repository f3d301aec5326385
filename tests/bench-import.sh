#!/usr/bin/env bash
# Benchmark of the grant import: builds the release binary, generates exports of ROWS rows
# (default 10000 and 50000) shaped like the sample, and times, on a fresh SQLite file each run:
# the first import (all rows new) and a second import of the same file (all rows unchanged).
# Prints the median and spread of RUNS runs (default 5) and the peak memory of one run.
# Usage: bash tests/bench-import.sh [ROWS...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(10000 50000)

cargo build --release --locked -p samling >/dev/null
bin=$PWD/target/release/samling
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

generate() { # rows file: the sample's data rows repeated with fresh project numbers
  python3 - "$1" "$2" <<'PY'
import sys
rows, out = int(sys.argv[1]), sys.argv[2]
lines = open("server/demo-data/klimasats-tildelinger-sample.csv", encoding="utf-8-sig", newline="").read().split("\r\n")
header, data = lines[0], [line for line in lines[1:] if line]
with open(out, "w", encoding="utf-8", newline="") as f:
    f.write("\ufeff" + header + "\r\n")
    for i in range(rows):
        fields = data[i % len(data)].split(";")
        fields[0] = f"{fields[9]}-{i:06d}"
        f.write(";".join(fields) + "\r\n")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f s (min %.3f, max %.3f, n=%d)", m, a[1], a[NR], NR}'; }

echo "Grant import benchmark: $(nproc) cores, $(date -u +%Y-%m-%d), release build, SQLite, $runs runs each"
for rows in "${sizes[@]}"; do
  file=$work/grants-$rows.csv
  generate "$rows" "$file"
  first=(); second=()
  for run in $(seq 1 "$runs"); do
    dir=$work/run-$rows-$run; mkdir -p "$dir"; cd "$dir"
    "$bin" create-programme --name Bench --grant-years 2021,2022 --starts-on 2027-01-04 --ends-on 2027-12-17 >/dev/null
    start=$(date +%s.%N); "$bin" import-grants "$file" >/dev/null; end=$(date +%s.%N)
    first+=("$(echo "$end - $start" | bc)")
    start=$(date +%s.%N); "$bin" import-grants "$file" >/dev/null; end=$(date +%s.%N)
    second+=("$(echo "$end - $start" | bc)")
    cd - >/dev/null
  done
  dir=$work/rss-$rows; mkdir -p "$dir"; cd "$dir"
  "$bin" create-programme --name Bench --grant-years 2021,2022 --starts-on 2027-01-04 --ends-on 2027-12-17 >/dev/null
  peak=$( { /usr/bin/time -f '%M' "$bin" import-grants "$file" >/dev/null; } 2>&1 | tail -n 1 )
  cd - >/dev/null
  printf '%6d rows  first import: %s  re-import: %s  peak memory: %d MiB\n' "$rows" \
    "$(printf '%s\n' "${first[@]}" | median)" "$(printf '%s\n' "${second[@]}" | median)" "$((peak / 1024))"
done
