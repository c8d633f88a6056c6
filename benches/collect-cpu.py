#!/usr/bin/env python3
"""CPU time per collected batch, two server builds side by side.

    benches/collect-cpu.py OLD_BIN NEW_BIN [PAIRS] [SECONDS]

Throughput at max rate on a shared 2-core machine swings by +-25% from one
run to the next (the load generator shares the cores), too much to settle
a 5% question. CPU time per batch is steadier: for each build in turn (the
order alternates per pair), a fresh `serve --trust-proxy true` on a new
database is driven at max rate by NEW_BIN's `trailmap bench collect` (64
connections, batches of 25 events, one X-Forwarded-For per simulated
visitor), and the CPU seconds of the server's threads (utime + stime from
/proc/PID/task/*/stat) over the run are divided by the batches it
committed (its /metrics). Threads are grouped by name: `tokio-rt-worker`
(request handling: parsing, validation, enrichment, limits) and
`trailmap-writer` (sessionizing and the group commit), the rest as
`other`. Prints one JSON line per run, then the medians per build and the
median of the per-pair ratios (new / old).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "bench-token-0123456789"
PORT = 18181
TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid):
    """CPU seconds per thread name of process `pid`."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except FileNotFoundError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        secs = (int(fields[11]) + int(fields[12])) / TICKS
        group = name if name in ("tokio-rt-worker", "trailmap-writer") else "other"
        out[group] = out.get(group, 0.0) + secs
    return out


def metric(name):
    req = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    text = urllib.request.urlopen(req, timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def run(server_bin, loadgen, seconds):
    tmp = tempfile.mkdtemp()
    db = os.path.join(tmp, "t.db")
    subprocess.run(
        [server_bin, "--db", db, "site", "add", "bench", "--origin", "http://bench.localhost"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    log = open(os.path.join(tmp, "serve.log"), "w")
    env = dict(os.environ, TRAILMAP_LOG="warn")
    server = subprocess.Popen(
        [server_bin, "serve", "--db", db, "--listen", f"127.0.0.1:{PORT}", "--token", TOKEN,
         "--trust-proxy", "true"],
        stdout=log,
        stderr=log,
        env=env,
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        time.sleep(1)
        before, batches_before = thread_cpu(server.pid), metric("trailmap_batches_committed_total")
        report = subprocess.run(
            [loadgen, "bench", "collect", "--url", f"http://127.0.0.1:{PORT}", "--site", "bench",
             "--origin", "http://bench.localhost", "--connections", "64", "--seconds", str(seconds),
             "--events", "25", "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        after, batches_after = thread_cpu(server.pid), metric("trailmap_batches_committed_total")
        batches = batches_after - batches_before
        per_10k = {g: (after.get(g, 0) - before.get(g, 0)) / batches * 10_000 for g in after}
        return {
            "events_per_sec": json.loads(report)["events_per_sec"],
            "batches": batches,
            "cpu_s_per_10k_batches": per_10k,
        }
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    old, new = sys.argv[1], sys.argv[2]
    pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    seconds = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    results = {"old": [], "new": []}
    for pair in range(pairs):
        order = [("old", old), ("new", new)] if pair % 2 == 0 else [("new", new), ("old", old)]
        for label, binary in order:
            r = run(binary, new, seconds)
            results[label].append(r)
            print(json.dumps({"pair": pair + 1, "build": label, **r}), flush=True)
    groups = ["tokio-rt-worker", "trailmap-writer", "other"]
    summary = {}
    for label in ("old", "new"):
        rs = results[label]
        summary[label] = {
            "events_per_sec": statistics.median(r["events_per_sec"] for r in rs),
            **{g: statistics.median(r["cpu_s_per_10k_batches"].get(g, 0) for r in rs) for g in groups},
            "total": statistics.median(sum(r["cpu_s_per_10k_batches"].values()) for r in rs),
        }
    ratios = {}
    for key in ["events_per_sec", *groups, "total"]:
        per_pair = []
        for o, n in zip(results["old"], results["new"]):
            if key == "events_per_sec":
                a, b = o[key], n[key]
            elif key == "total":
                a, b = sum(o["cpu_s_per_10k_batches"].values()), sum(n["cpu_s_per_10k_batches"].values())
            else:
                a, b = o["cpu_s_per_10k_batches"].get(key, 0), n["cpu_s_per_10k_batches"].get(key, 0)
            if a:
                per_pair.append(b / a)
        ratios[key] = round(statistics.median(per_pair), 3) if per_pair else None
    print(json.dumps({"median": summary, "median_pair_ratio_new_over_old": ratios}, indent=1))


if __name__ == "__main__":
    main()
