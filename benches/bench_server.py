"""What the report benchmarks share: starting a trailmap server and asking
its read API, timed; the date windows that make each question differ; and
reading a process's memory. Imported by heatmap.py, reports-scale.py,
reports-pair.py, reports-ingest.py, reports-concurrent.py and
conversions-scale.py (run them from anywhere: they find this file beside
themselves)."""

import os
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
