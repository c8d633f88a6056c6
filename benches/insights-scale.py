#!/usr/bin/env python3
"""The insights through the real server over the shop-like dataset
(BENCHMARKS.md, issue 19): `contrast` between buyers and the rest, a
reached page or event and the rest, two values of one dimension, a
dimension value and the rest, with patterns up to 3-5 pages long; `why`
from the decision stage or an event, with and without a breakdown;
`conformance` to a model given in the query, with and without one;
`errors` (JavaScript errors) over the site and one segment, and the
frustration report that counts them; `changes` (before and after each
recorded layout change; the shop generator records none, so the bench
adds ten rows to `layout_changes` with benches/plant-changes.sql).

    benches/insights-scale.py BIN SESSIONS [PER_REPORT] [ROUNDS] [ONLY]

Makes (once, in $BENCH_DIR or /tmp, reused when there) a database of
SESSIONS shop sessions with `trailmap bench shop`, starts `trailmap
serve` on it, brings the read engine up with one report (timed apart),
then asks every question PER_REPORT times per round, each over another
date window and pattern length, so no question repeats. Prints one JSON
line per question with the median and the spread (ms), and the server's
memory after each round. ONLY keeps the questions whose label starts
with it (`contrast`, to hold a build without `why` against one with).
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_server  # noqa: E402

BIN = sys.argv[1]
SESSIONS = int(sys.argv[2])
PER = int(sys.argv[3]) if len(sys.argv) > 3 else 3
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 1
ONLY = sys.argv[5] if len(sys.argv) > 5 else ""


def questions(rnd):
    qs = []
    for i in range(PER):
        k = rnd * PER + i
        w = bench_server.window(k, bench_server.SHOP_T0, bench_server.SHOP_SPAN)
        n = 3 + k % 3
        qs += [
            ("contrast: converted vs the rest", f"contrast?max_len={n}&{w}"),
            ("contrast: added to cart vs the rest", f"contrast?a=reached%3Aevent%3Aadd_to_cart&max_len={n}&{w}"),
            ("contrast: reached the cart vs converted", f"contrast?a=reached%3A%5E%2Fcart&b=converted&max_len={n}&{w}"),
            ("contrast: mobile vs desktop", f"contrast?a=device%3Dmobile&b=device%3Ddesktop&max_len={n}&{w}"),
            ("contrast: organic search vs the rest", f"contrast?a=channel%3Dorganic_search&top={10 + k}&max_len={n}&{w}"),
            ("why: the decision stage", f"why?top={3 + k % 5}&{w}"),
            ("why: from begin_checkout, by segment", f"why?at=event%3Abegin_checkout&breakdown={bench_server.SHOP_DIMS[k % 6]}&{w}"),
            ("conformance: a five-step journey", f"conformance?step=%5E%2Fcategory%2F&step=%5E%2Fproduct%2F&step=event%3Aadd_to_cart&step=event%3Abegin_checkout&step=event%3Apurchase&repeat=2&optional={2 + k % 2}&{w}"),
            ("errors: the site's", f"errors?top={10 + k % 10}&{w}"),
            ("errors: one segment", f"errors?{['device=mobile', 'channel=organic_search', 'country=US'][k % 3]}&{w}"),
            ("frustration: with JavaScript errors", f"frustration?worst={10 + k % 10}&{w}"),
            ("changes: every change, 7 days each side", f"changes?days={7 + k % 3}&min_change=0.1&{w}"),
            ("changes: one segment, 14 days", f"changes?days={14 + k % 3}&{['device=mobile', 'channel=organic_search', 'country=US'][k % 3]}&{w}"),
            ("conformance: by segment", f"conformance?step=%5E%2Fproduct%2F&step=event%3Aadd_to_cart&step=event%3Apurchase&repeat=1&breakdown={bench_server.SHOP_DIMS[k % 6]}&{w}"),
        ]
    return [q for q in qs if q[0].startswith(ONLY)]


bench_server.run_rounds(BIN, bench_server.shop_db(BIN, SESSIONS), questions, ROUNDS)
