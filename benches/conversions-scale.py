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
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_server  # noqa: E402

BIN = sys.argv[1]
SESSIONS = int(sys.argv[2])
PER = int(sys.argv[3]) if len(sys.argv) > 3 else 3
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 1
DIMS = bench_server.SHOP_DIMS


def window(k):
    """The k-th date window: between a third and all of the 90 days."""
    return bench_server.window(k, bench_server.SHOP_T0, bench_server.SHOP_SPAN)


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


bench_server.run_rounds(BIN, bench_server.shop_db(BIN, SESSIONS), questions, ROUNDS)
