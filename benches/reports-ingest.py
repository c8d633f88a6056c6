#!/usr/bin/env python3
"""Reports while the collector ingests at half its maximum rate, and how soon
an event answered 202 shows in a report (BENCHMARKS.md, issue 15).

    benches/reports-ingest.py BIN DB [SECONDS]

Starts `BIN serve --trust-proxy true` on DB (a database with the site
`msnbc`, origin https://msnbc.example, as benches/reports-scale.py leaves
with KEEP=1), waits for its first report, measures the collector's maximum
rate into that site for 10 s (`trailmap bench collect`, 64 connections,
25 events a batch), then runs it at half that rate for SECONDS (default 60)
while one client asks the reports and charts in turn over varied date
windows, and every few seconds posts a page view of a page never seen
before and times how long until the transitions report counts it. Prints
the rates, each report's median latency under the load, and the
202-to-report times.
"""
import json, os, statistics, subprocess, sys, threading, time, urllib.error, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_server  # noqa: E402

BIN, DB = sys.argv[1], sys.argv[2]
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 60
TOKEN = bench_server.TOKEN
PORT = 18193
BASE = f"http://127.0.0.1:{PORT}"
EPOCH = 946_684_800_000


def get(path):
    return bench_server.ask(PORT, "msnbc", path, check=False)


def collect(sid, path, ts):
    body = json.dumps({"site": "msnbc", "sid": sid, "now": ts, "events": [
        {"type": "pageview", "ts": ts, "url": f"https://msnbc.example{path}", "referrer": "", "title": "T",
         "vw": 1280, "vh": 720, "dw": 1280, "dh": 2000}]}).encode()
    req = urllib.request.Request(f"{BASE}/api/collect", data=body, method="POST",
                                 headers={"Content-Type": "text/plain", "Origin": "https://msnbc.example",
                                          # A browser's: urllib's own is a bot's, which reports leave out.
                                          "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                                                        "(KHTML, like Gecko) Chrome/120.0 Safari/537.36",
                                          "X-Forwarded-For": f"10.9.{hash(sid) % 250}.{hash(path) % 250}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def bench(rate, seconds):
    args = [BIN, "bench", "collect", "--url", BASE, "--site", "msnbc", "--origin", "https://msnbc.example",
            "--seconds", str(seconds), "--json"]
    if rate:
        args += ["--rate", str(rate)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = bench_server.serve(BIN, DB, PORT, "--trust-proxy", "true", "--analysis-timeout-seconds", "600")
    try:
        get("exits?entry_page=/1")
        sessions = json.loads(get("overview?top=1")[1])["sessions"]
        span = sessions * 1000
        full = bench(None, 10)
        print(json.dumps({"max": full}), flush=True)
        batches = full["batches_per_sec"]
        half = max(1, int(batches / 2)) if batches else None
        load = threading.Thread(target=lambda: print(json.dumps({"half": bench(half, int(SECONDS))}), flush=True))
        load.start()
        reports = ["paths?steps=4", "exits", "transitions?page=/2", "journeys?steps=5&nodes=8",
                   "funnel?step=^/1$&step=^/2$", "stages", "frustration?worst=10", "moments",
                   "patterns?top=10", "overview", "charts/sankey.svg?steps=4", "charts/funnel.svg?step=^/1$&step=^/2$"]
        times, fresh = {}, []
        k = 0
        next_probe = time.perf_counter() + 3
        while load.is_alive():
            if time.perf_counter() >= next_probe:
                page = f"/fresh-{k}-{int(time.time() * 1000)}"
                assert collect(f"fresh-probe-{k:06d}-x", page, int(time.time() * 1000)) == 202
                answered = time.perf_counter()
                while time.perf_counter() - answered < 30:
                    try:
                        _, body = get(f"transitions?page={page}")
                    except urllib.error.HTTPError as e:
                        assert e.code == 404, e.code  # the page is not stored yet
                        continue
                    if json.loads(body).get("views", 0) >= 1:
                        break
                fresh.append((time.perf_counter() - answered) * 1000)
                next_probe = time.perf_counter() + 5
                continue
            report = reports[k % len(reports)]
            sep = "&" if "?" in report else "?"
            ms, _ = get(f"{report}{sep}{bench_server.window(k, EPOCH, span)}")
            times.setdefault(report.split("?")[0], []).append(ms)
            k += 1
        load.join()
        for report, ms in sorted(times.items()):
            print(json.dumps({"report": report, "answers": len(ms), "median_ms": round(statistics.median(ms), 1)}))
        print(json.dumps({"fresh_ms": [round(f) for f in fresh],
                          "fresh_median_ms": round(statistics.median(fresh)) if fresh else None}))
    finally:
        p.terminate()
        p.wait()


main()
