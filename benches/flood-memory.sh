#!/usr/bin/env bash
# Memory under a session flood, for README "Memory budget": 1-event batches,
# each a new session id from its own address (X-Forwarded-For, trusted), over
# 256 connections; prints the server's VmRSS (and its anonymous and file
# parts) and open sessions every 2 s, then the totals and RSS once idle.
#
#   cargo build --features dev && benches/flood-memory.sh [SECONDS] [serve flags...]
#   e.g. benches/flood-memory.sh 60 --max-open-sessions 5000
#
# BIN defaults to the debug build (the budget holds for either; the load
# generator, `trailmap bench collect`, needs the dev feature). HOSTILE="N U H"
# also runs benches/hostile-clients.py with N slowloris sockets, U unfinished
# 2 MiB replay uploads and H unfinished 380 KB heads for the same time.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-20}; shift || true
BIN=${BIN:-target/debug/trailmap}
# `trailmap bench` is a developer tool, only in a build with the dev feature.
"$BIN" bench --help >/dev/null 2>&1 || { echo "$BIN has no bench command: build it with cargo build --features dev" >&2; exit 1; }
PORT=${PORT:-18090}
DIR=$(mktemp -d)
trap 'kill $S $M ${H:-} 2>/dev/null || true; rm -rf "$DIR"' EXIT
$BIN --db "$DIR/t.db" site add bench --origin http://bench.localhost >/dev/null
TRAILMAP_LOG=warn $BIN serve --db "$DIR/t.db" --listen 127.0.0.1:$PORT \
  --token bench-token-0123456789 --trust-proxy true "$@" >"$DIR/serve.log" 2>&1 &
S=$!
until grep -q listening "$DIR/serve.log" 2>/dev/null; do sleep 0.1; done
rss() { awk '/VmRSS/ {r=$2} /RssAnon/ {a=$2} /RssFile/ {f=$2} END {print "rss_kib="r" anon_kib="a" file_kib="f}' /proc/$S/status; }
open_sessions() { curl -s -H "Authorization: Bearer bench-token-0123456789" 127.0.0.1:$PORT/metrics | awk '/^trailmap_open_sessions /{print $2}'; }
echo "idle $(rss)"
if [ -n "${HOSTILE:-}" ]; then
  python3 benches/hostile-clients.py 127.0.0.1:$PORT "$SECS" $HOSTILE &
  H=$!
fi
( peak=0; while kill -0 $S 2>/dev/null; do r=$(awk '/VmRSS/ {print $2}' /proc/$S/status 2>/dev/null); r=${r:-0}; [ "$r" -gt "$peak" ] && peak=$r && echo $peak >"$DIR/peak"; sleep 0.2; done ) &
( for i in $(seq 1 $((SECS / 2))); do sleep 2; echo "t=$((i * 2))s $(rss) open=$(open_sessions)"; done ) &
M=$!
$BIN bench collect --url http://127.0.0.1:$PORT --connections 256 --seconds "$SECS" \
  --events 1 --sessions 100000000 --json >"$DIR/report.json"
wait $M || true
python3 -c "import json; r = json.load(open('$DIR/report.json')); print('batches', r['batches_sent'], 'statuses', r['status_counts'])"
curl -s -H "Authorization: Bearer bench-token-0123456789" 127.0.0.1:$PORT/metrics | grep -E '^trailmap_(open_sessions|sessions_closed|batches_rejected)'
wait ${H:-} 2>/dev/null || true
echo "peak_rss_kib=$(cat "$DIR/peak")"
sleep 3
echo "after $(rss)"
