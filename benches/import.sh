#!/usr/bin/env bash
# Import benchmark for BENCHMARKS.md: trailmap import end to end (parsed,
# filtered, sessionized, stored in SQLite) against GoAccess 1.7 on the same
# file in the same run, parsing alone, and peak memory as the file grows.
#
#   cargo build --release --features dev && apt-get install goaccess && benches/import.sh [COPIES] [RUNS]
#
# COPIES of the 10,000-line fixture (default 100: 1,000,000 lines), each a
# day later with varied client addresses (benches/make-log.py). Each tool
# runs RUNS times (default 3); medians are printed as JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
COPIES=${1:-100}
RUNS=${2:-3}
BIN=target/release/trailmap
# `trailmap bench` is a developer tool, only in a build with the dev feature.
"$BIN" bench --help >/dev/null 2>&1 || { echo "$BIN has no bench command: build it with cargo build --release --features dev" >&2; exit 1; }
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
python3 benches/make-log.py "$COPIES" > "$DIR/big.log"
python3 benches/make-log.py $((COPIES / 2)) > "$DIR/half.log"
LINES=$(wc -l < "$DIR/big.log")

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Runs a command, prints "seconds peak_rss_kib".
timed() { /usr/bin/time -f "%e %M" -o "$DIR/time" "$@" >/dev/null 2>&1; cat "$DIR/time"; }

for _ in $(seq "$RUNS"); do
  rm -f "$DIR"/t.db*
  $BIN --db "$DIR/t.db" site add blog --origin https://semicomplete.com >/dev/null
  timed $BIN --db "$DIR/t.db" import --site blog "$DIR/big.log" >> "$DIR/trailmap.times"
  timed goaccess "$DIR/big.log" --log-format=COMBINED --no-global-config -o "$DIR/report.json" >> "$DIR/goaccess.times"
done
rm -f "$DIR"/t.db*
$BIN --db "$DIR/t.db" site add blog --origin https://semicomplete.com >/dev/null
$BIN --db "$DIR/t.db" import --site blog --json "$DIR/big.log" > "$DIR/summary.json"
rm -f "$DIR"/t.db*
$BIN --db "$DIR/t.db" site add blog --origin https://semicomplete.com >/dev/null
HALF_RSS=$(timed $BIN --db "$DIR/t.db" import --site blog "$DIR/half.log" | cut -d' ' -f2)

T=$(cut -d' ' -f1 "$DIR/trailmap.times" | median)
G=$(cut -d' ' -f1 "$DIR/goaccess.times" | median)
T_RSS=$(cut -d' ' -f2 "$DIR/trailmap.times" | median)
G_RSS=$(cut -d' ' -f2 "$DIR/goaccess.times" | median)
echo "{\"lines\":$LINES,\"runs\":$RUNS}"
echo "{\"tool\":\"trailmap import\",\"median_s\":$T,\"lines_per_s\":$(python3 -c "print(round($LINES/$T))"),\"peak_rss_kib\":$T_RSS,\"all\":\"$(tr '\n' ';' < "$DIR/trailmap.times")\"}"
echo "{\"tool\":\"goaccess 1.7\",\"median_s\":$G,\"lines_per_s\":$(python3 -c "print(round($LINES/$G))"),\"peak_rss_kib\":$G_RSS,\"all\":\"$(tr '\n' ';' < "$DIR/goaccess.times")\"}"
echo "{\"ratio_trailmap_over_goaccess\":$(python3 -c "print(round($G/$T, 2))")}"
echo "{\"memory\":{\"half_file_lines\":$((LINES / 2)),\"peak_rss_kib\":$HALF_RSS,\"full_file_lines\":$LINES,\"peak_rss_kib_full\":$T_RSS}}"
echo "{\"summary\":$(cat "$DIR/summary.json")}"
echo "{\"parse_only\":$($BIN bench parse --rounds 3 "$DIR/big.log")}"
