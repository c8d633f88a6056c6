#!/usr/bin/env bash
# Sequential patterns for BENCHMARKS.md: the top 15 patterns (two pages or
# more) over all 989,818 sessions of the UCI MSNBC dataset, imported with
# `trailmap import --format seq`, beside the PyPI package prefixspan 0.5.2
# on the same sessions in the same run; answers compared; time and peak
# memory of both.
#
#   cargo build --release --features dev && pip install prefixspan==0.5.2 && benches/patterns.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BIN=target/release/trailmap
# `trailmap bench` is a developer tool, only in a build with the dev feature.
"$BIN" bench --help >/dev/null 2>&1 || { echo "$BIN has no bench command: build it with cargo build --release --features dev" >&2; exit 1; }
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
ZIP=../shared/data/seq/msnbc990928.zip
[ -f "$ZIP" ] || ZIP=tests/fixtures/seq/msnbc990928.zip
# The data lines (the first 7 name the categories).
python3 -c '
import sys, zipfile
text = zipfile.ZipFile(sys.argv[1]).read("msnbc990928.seq").decode()
sys.stdout.write("\n".join(text.splitlines()[7:]) + "\n")' "$ZIP" > "$DIR/msnbc.seq"
$BIN --db "$DIR/t.db" site add msnbc --origin https://msnbc.example >/dev/null
$BIN --db "$DIR/t.db" import --site msnbc --format seq "$DIR/msnbc.seq" >/dev/null
for run in $(seq "$RUNS"); do
  /usr/bin/time -f "%M" -o "$DIR/ours.rss" \
    $BIN --db "$DIR/t.db" bench patterns --site msnbc --top 15 --min-len 2 --rounds 7 > "$DIR/ours.json"
  /usr/bin/time -f "%M" -o "$DIR/theirs.rss" \
    python3 benches/prefixspan_msnbc.py "$DIR/msnbc.seq" > "$DIR/theirs.json"
  python3 - "$run" "$DIR" <<'PY'
import json, sys
run, d = sys.argv[1], sys.argv[2]
ours = json.load(open(f"{d}/ours.json"))
theirs = json.load(open(f"{d}/theirs.json"))
same = [[[int(p[1:]) for p in pages], n] for pages, n in ours["patterns"]] == theirs["patterns"]
print(json.dumps({
    "run": int(run), "sessions": ours["sessions"], "identical": same,
    "trailmap_first_s": round(ours["first_seconds"], 3),
    "trailmap_median_s": round(ours["median_seconds"], 3),
    "prefixspan_s": round(theirs["seconds"], 3),
    "ratio_median": round(theirs["seconds"] / ours["median_seconds"], 1),
    "ratio_first": round(theirs["seconds"] / ours["first_seconds"], 1),
    "trailmap_mining_peak_mib": round((ours["mining_peak_kib"] or 0) / 1024, 1),
    "trailmap_process_peak_mib": round(int(open(f"{d}/ours.rss").read()) / 1024, 1),
    "prefixspan_process_peak_mib": round(int(open(f"{d}/theirs.rss").read()) / 1024, 1),
}))
PY
done
