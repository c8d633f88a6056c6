#!/usr/bin/env python3
"""The conversion reports through the real server over a shop-like
dataset (BENCHMARKS.md, issue 18): goals, events, revenue, funnels with
event steps, breakdowns, drop-off sessions and unit=visitor, plus the
overview (which carries the goals) and the journey graph with events as
nodes.

    benches/conversions-scale.py BIN SESSIONS [PER_REPORT] [ROUNDS]

Makes (once, kept in $BENCH_DIR or /tmp, reused when there) a database of
SESSIONS shop sessions over 90 days with `trailmap bench shop` (the real
write path), starts `trailmap serve` on it, asks one report to bring the
read engine up (timed apart: "first"), then every question PER_REPORT
times per round, each over another date window, breakdown or funnel, so
no question repeats. Prints one JSON line per report with the median and
the spread (ms), and the server's memory after each round.
"""
import json, os, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_server  # noqa: E402

BIN = sys.argv[1]
SESSIONS = int(sys.argv[2])
PER = int(sys.argv[3]) if len(sys.argv) > 3 else 3
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 1
DIR = os.environ.get("BENCH_DIR", "/tmp")
DB = os.path.join(DIR, f"shop-{SESSIONS}.db")
T0 = 1_767_225_600_000  # the generator's first day, 2026-01-01
SPAN = 90 * 86_400_000
DIMS = ["channel", "device", "country", "referrer", "utm_campaign", "entry_page"]


def window(k):
    """The k-th date window: between a third and all of the 90 days."""
    return bench_server.window(k, T0, SPAN)


def questions(rnd):
    qs = []
    for i in range(PER):
        k = rnd * PER + i
        w = window(k)
        d = DIMS[k % len(DIMS)]
        p = 1 + k * 37 % 500
        qs += [
            ("overview (with goals)", f"overview?top={5 + k % 5}&{w}"),
            ("goals", f"goals?{w}"),
            ("goals by segment", f"goals?breakdown={d}&{w}"),
            ("goals, unit=visitor", f"goals?unit=visitor&{w}"),
            ("events", f"events?top={5 + k % 10}&{w}"),
            ("revenue by segment", f"revenue?breakdown={d}&{w}"),
            ("funnel, page and event steps", f"funnel?step=%5E/category/&step=event:add_to_cart&step=event:begin_checkout&step=event:purchase&{w}"),
            ("funnel by segment, optional step", f"funnel?step=%5E/product/&step=%5E/help/&step=%5E/cart&step=event:purchase&optional=2&breakdown={d}&{w}"),
            ("funnel, step window, drop-off sessions", f"funnel?step=%5E/cart&step=%5E/checkout/address&step=%5E/thank-you&step_window=3:{10 + k}&dropped_at=2&limit=50&{w}"),
            ("funnel, unit=visitor", f"funnel?step=event:add_to_cart&step=event:purchase&unit=visitor&window_minutes=1440&{w}"),
            ("journeys with event nodes", f"journeys?steps={3 + k % 3}&events=true&{w}"),
            ("goals, compare=previous", f"goals?breakdown={d}&compare=previous&{w}"),
            ("funnel, one product page then add to cart", f"funnel?step=%5E/product/{p}$&step=event:add_to_cart&{w}"),
        ]
    return qs


def main():
    if not os.path.exists(DB):
        t = time.time()
        out = subprocess.run([BIN, "--db", DB, "bench", "shop", "--sessions", str(SESSIONS)],
                             check=True, capture_output=True, text=True).stdout
        print(json.dumps({"generated": json.loads(out.strip().splitlines()[-1]),
                          "wall_seconds": round(time.time() - t, 1)}), flush=True)
    times = {}
    for rnd in range(ROUNDS):
        server = bench_server.serve(BIN, DB, 18700, "--analysis-timeout-seconds", "600")
        try:
            first, _ = bench_server.ask(18700, "shop", "exits")
            print(json.dumps({"round": rnd, "first_report_ms": round(first)}), flush=True)
            for label, path in questions(rnd):
                ms, _ = bench_server.ask(18700, "shop", path)
                times.setdefault(label, []).append(ms)
            print(json.dumps({"round": rnd,
                              "rss_mb": bench_server.memory_mb(server.pid, "VmRSS:"),
                              "peak_mb": bench_server.memory_mb(server.pid, "VmHWM:")}), flush=True)
        finally:
            server.terminate()
            server.wait()
    for label, ms in times.items():
        print(json.dumps({"report": label, "median_ms": round(statistics.median(ms), 1),
                          "min_ms": round(min(ms), 1), "max_ms": round(max(ms), 1), "n": len(ms)}), flush=True)


main()
