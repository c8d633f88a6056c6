"""What the report benchmarks share: starting a trailmap server and asking
its read API, timed; the date windows that make each question differ; and
reading a process's memory; the shop dataset and a run of rounds of
questions over it. Imported by heatmap.py, reports-scale.py,
reports-pair.py, reports-ingest.py, reports-concurrent.py,
conversions-scale.py and insights-scale.py (run them from anywhere: they
find this file beside themselves)."""

import json
import os
import statistics
import subprocess
import time
import urllib.request

TOKEN = "bench-token-0123456789"


def serve(binary, db, port, *extra):
    """`trailmap serve` on `db` at 127.0.0.1:`port` with the bench token and
    `extra` flags; returns once it listens."""
    p = subprocess.Popen([binary, "serve", "--db", db, "--listen", f"127.0.0.1:{port}", "--token", TOKEN, *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "TRAILMAP_LOG": "warn"})
    for line in p.stdout:
        if b"listening" in line:
            break
    return p


def ask(port, site, path, timeout=600, check=True):
    """GET /api/sites/`site`/`path`: (milliseconds, body bytes). Anything
    but 200 is an error unless `check` is false."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/sites/{site}/{path}",
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = r.read()
        if check:
            assert r.status == 200, (path, r.status)
    return (time.perf_counter() - t) * 1000, body


def window(k, epoch, span):
    """The k-th of the benchmarks' date windows over [epoch, epoch + span):
    between a third and all of the span, as a query string."""
    length = span // 3 + (k * 7919 % 5) * span // 7
    start = epoch + (k * 104729 % 11) * (span - length) // 10
    return f"from={start}&to={start + length}"


def memory_mb(pid, key):
    """A /proc/PID/status figure (`VmRSS:`, `VmHWM:`) in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) // 1024
    return None


# The shop generator's first day (2026-01-01) and its span.
SHOP_T0 = 1_767_225_600_000
SHOP_SPAN = 90 * 86_400_000
SHOP_DIMS = ["channel", "device", "country", "referrer", "utm_campaign", "entry_page"]


def shop_db(binary, sessions):
    """The database of `sessions` shop sessions over 90 days made by
    `trailmap bench shop` (the real write path), in $BENCH_DIR or /tmp:
    made once, reused when there."""
    db = os.path.join(os.environ.get("BENCH_DIR", "/tmp"), f"shop-{sessions}.db")
    if not os.path.exists(db):
        t = time.time()
        out = subprocess.run([binary, "--db", db, "bench", "shop", "--sessions", str(sessions)],
                             check=True, capture_output=True, text=True).stdout
        print(json.dumps({"generated": json.loads(out.strip().splitlines()[-1]),
                          "wall_seconds": round(time.time() - t, 1)}), flush=True)
    return db


def run_rounds(binary, db, questions, rounds, port=18790):
    """For each round: starts `trailmap serve` on `db`, asks one report to
    bring the read engine up (timed apart: "first"), then every
    (label, path) of `questions(round)`, and the server's memory. Prints
    one JSON line per label with the median and spread (ms)."""
    times = {}
    for rnd in range(rounds):
        server = serve(binary, db, port, "--analysis-timeout-seconds", "600")
        try:
            first, _ = ask(port, "shop", "exits")
            print(json.dumps({"round": rnd, "first_report_ms": round(first)}), flush=True)
            for label, path in questions(rnd):
                ms, _ = ask(port, "shop", path)
                times.setdefault(label, []).append(ms)
            # Resident memory, and its parts: the process's own (anonymous)
            # and the pages of the files it maps (the engine's columns),
            # which the kernel can drop and read again.
            print(json.dumps({"round": rnd,
                              "rss_mb": memory_mb(server.pid, "VmRSS:"),
                              "peak_mb": memory_mb(server.pid, "VmHWM:"),
                              "anon_mb": memory_mb(server.pid, "RssAnon:"),
                              "file_mb": memory_mb(server.pid, "RssFile:")}), flush=True)
        finally:
            server.terminate()
            server.wait()
    for label, ms in times.items():
        print(json.dumps({"report": label, "median_ms": round(statistics.median(ms), 1),
                          "min_ms": round(min(ms), 1), "max_ms": round(max(ms), 1), "n": len(ms)}), flush=True)
