#!/usr/bin/env python3
"""The server's memory and latency with many reports at once (BENCHMARKS.md,
issue 15).

    benches/reports-concurrent.py BIN DB [CLIENTS] [SECONDS]

Starts `BIN serve` on DB (a database with a site `msnbc`, as
benches/reports-scale.py leaves with KEEP=1), waits until its read engine
holds every session (the first report answers), then lets CLIENTS threads
(default 8) ask reports and charts without pause for SECONDS (default 60),
each question over another date window, so that no two are the same.
Samples the server's RSS every 0.2 s. Prints the start-up time, RSS before,
median and peak during the load (VmHWM), and each report's median latency
under the load.
"""
import json, os, statistics, subprocess, sys, threading, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_server  # noqa: E402

BIN, DB = sys.argv[1], sys.argv[2]
CLIENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 8
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 60
TOKEN = bench_server.TOKEN
PORT = 18192
EPOCH = 946_684_800_000


def ask(path):
    return bench_server.ask(PORT, "msnbc", path)[0]


def status(pid, key):
    return bench_server.memory_mb(pid, key)


def main():
    t = time.perf_counter()
    p = bench_server.serve(BIN, DB, PORT, "--analysis-timeout-seconds", "600")
    listening = time.perf_counter() - t
    _, span = ask("exits?entry_page=/1"), None
    ready = time.perf_counter() - t
    o = urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{PORT}/api/sites/msnbc/overview?top=1&include_bots=true",
        headers={"Authorization": f"Bearer {TOKEN}"})).read()
    sessions = json.loads(o)["sessions"]
    span = sessions * 1000
    before = status(p.pid, "VmRSS:")
    reports = ["paths?steps=4", "exits", "transitions?page=/2", "journeys?steps=5&nodes=8",
               "funnel?step=^/1$&step=^/2$&step=^/3$", "stages", "frustration?worst=10", "moments",
               "patterns?top=10", "overview", "charts/sankey.svg?steps=4", "charts/funnel.svg?step=^/1$&step=^/2$"]
    times = {}
    lock = threading.Lock()
    stop = time.perf_counter() + SECONDS
    counter = [0]

    def client(c):
        k = c
        while time.perf_counter() < stop:
            report = reports[k % len(reports)]
            sep = "&" if "?" in report else "?"
            ms = ask(f"{report}{sep}{bench_server.window(k, EPOCH, span)}")
            with lock:
                times.setdefault(report.split("?")[0], []).append(ms)
                counter[0] += 1
            k += CLIENTS

    rss = []
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for th in threads:
        th.start()
    while any(th.is_alive() for th in threads):
        rss.append(status(p.pid, "VmRSS:"))
        time.sleep(0.2)
    peak = status(p.pid, "VmHWM:")
    p.terminate()
    p.wait()
    print(json.dumps({"sessions": sessions, "clients": CLIENTS, "seconds": SECONDS, "answers": counter[0],
                      "listening_s": round(listening, 2), "first_report_s": round(ready, 1),
                      "rss_before_mib": before, "rss_median_mib": statistics.median(rss),
                      "rss_max_sampled_mib": max(rss), "vmhwm_mib": peak}))
    for report, ms in sorted(times.items()):
        print(json.dumps({"report": report, "answers": len(ms), "median_ms": round(statistics.median(ms), 1),
                          "max_ms": round(max(ms), 1)}))


main()
