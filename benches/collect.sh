#!/usr/bin/env bash
# Collector benchmark for BENCHMARKS.md: durable events/s at max rate, p50/p99
# latency at half that rate, and RSS at idle and under load.
#
#   cargo build --release --features dev && benches/collect.sh [SECONDS] [CONNECTIONS]
#
# Starts a release `trailmap serve` on a fresh database in a temp dir (default
# synchronous=full: every 202 is fsynced), drives it over loopback with
# `trailmap bench collect` (batches of 25 events), and prints one JSON line
# per phase. The load generator shares the machine's cores with the server.
# Each simulated visitor sends from its own address (X-Forwarded-For), and the
# server trusts it (--trust-proxy true), so the per-client rate limit is on
# the measured path and applies per visitor, as behind a real proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-20}
CONNECTIONS=${2:-64}
BIN=${BIN:-target/release/trailmap}
# The load generator: the same binary unless LOADGEN names another, so two
# servers can be measured side by side under one load generator. It needs
# the dev feature (`trailmap bench`); the server (BIN) need not have it.
LOADGEN=${LOADGEN:-$BIN}
# `trailmap bench` is a developer tool, only in a build with the dev feature.
"$LOADGEN" bench --help >/dev/null 2>&1 || { echo "$LOADGEN has no bench command: build it with cargo build --release --features dev" >&2; exit 1; }
PORT=${PORT:-18080}
DIR=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DIR"' EXIT

$BIN --db "$DIR/t.db" site add bench --origin http://bench.localhost >/dev/null
TRAILMAP_LOG=warn $BIN serve --db "$DIR/t.db" --listen 127.0.0.1:$PORT \
  --token bench-token-0123456789 --trust-proxy true ${SERVE_FLAGS:-} >"$DIR/serve.log" 2>&1 &
SERVER=$!
until grep -q listening "$DIR/serve.log" 2>/dev/null; do sleep 0.1; done
sleep 1
rss() { awk '/VmRSS/ {print $2}' /proc/$SERVER/status; }
echo "{\"phase\":\"idle\",\"rss_kib\":$(rss)}"

# Peak RSS while under load: sample every 200 ms in the background.
( peak=0; while kill -0 $SERVER 2>/dev/null; do r=$(rss || echo 0); [ "$r" -gt "$peak" ] && peak=$r && echo $peak >"$DIR/peak"; sleep 0.2; done ) &
SAMPLER=$!

MAX=$($LOADGEN bench collect --url http://127.0.0.1:$PORT --site bench --origin http://bench.localhost \
  --connections $CONNECTIONS --seconds $SECONDS_PER_RUN --events 25 --json)
echo "{\"phase\":\"max\",\"connections\":$CONNECTIONS,\"report\":$MAX}"
EPS=$(echo "$MAX" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_per_sec"])')
HALF_BATCHES=$(python3 -c "print(round($EPS / 2 / 25, 1))")
HALF=$($LOADGEN bench collect --url http://127.0.0.1:$PORT --site bench --origin http://bench.localhost \
  --connections $CONNECTIONS --seconds $SECONDS_PER_RUN --events 25 --rate $HALF_BATCHES --json)
echo "{\"phase\":\"half\",\"rate_batches_per_s\":$HALF_BATCHES,\"report\":$HALF}"
kill $SAMPLER 2>/dev/null || true
echo "{\"phase\":\"load\",\"peak_rss_kib\":$(cat "$DIR/peak")}"
sleep 2
echo "{\"phase\":\"after\",\"rss_kib\":$(rss),\"db_bytes\":$(du -sb "$DIR" | cut -f1)}"
