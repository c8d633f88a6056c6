#!/usr/bin/env python3
"""Heatmaps and scroll maps of one page with a million clicks, through the
real server, two builds side by side (BENCHMARKS.md, issue 15).

    benches/heatmap.py OLD_BIN NEW_BIN [BATCHES] [ROUNDS] [PER_KIND]

Fills one database through NEW_BIN's collector: `trailmap bench collect
--page /` sends BATCHES visits (default 200,000) to the shop's home page,
each a page view, about 11 clicks, scrolls, a custom event and a leave,
half from phones and half from desktops, over 200,000 cookieless visitors
(so about 2.2 million clicks on `/`, over a million per viewport class).
Then, ROUNDS times, it starts each build's server on that database in
turn (alternating which goes first), asks one heatmap to bring it up
(timed apart: "first"), then PER_KIND heatmaps and PER_KIND scroll maps,
each over another date window, viewport class, count, layer or format,
so no question repeats. Prints one JSON line per kind with both medians
(ms), the ratio new / old, the clicks the widest question drew, and
whether both builds drew the same bytes.
"""
import json, os, re, shutil, sqlite3, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_server  # noqa: E402

OLD, NEW = sys.argv[1], sys.argv[2]
BATCHES = int(sys.argv[3]) if len(sys.argv) > 3 else 200_000
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
PER = int(sys.argv[5]) if len(sys.argv) > 5 else 5
TOKEN = bench_server.TOKEN
ORIGIN = "https://shop.example"
PORT = 18195
RATE = 4000


def serve(binary, db):
    return bench_server.serve(binary, db, PORT, "--trust-proxy", "true", "--analysis-timeout-seconds", "600")


def ask(path):
    return bench_server.ask(PORT, "shop", path)


def fill(db):
    subprocess.run([NEW, "--db", db, "site", "add", "shop", "--origin", ORIGIN], check=True,
                   stdout=subprocess.DEVNULL)
    p = serve(NEW, db)
    try:
        seconds = max(1, BATCHES // RATE)
        out = subprocess.run([NEW, "bench", "collect", "--url", f"http://127.0.0.1:{PORT}", "--site", "shop",
                              "--origin", ORIGIN, "--page", "/", "--rate", str(RATE), "--seconds", str(seconds),
                              "--sessions", "200000", "--json"], check=True, capture_output=True, text=True)
        load = json.loads(out.stdout)
    finally:
        p.terminate()
        p.wait()
    return load


def questions(rnd, start, end):
    """(kind, path) pairs, every one different."""
    span = end - start
    qs = []
    for i in range(PER):
        k = rnd * PER + i
        # Windows from a third of the load's span to all of it.
        length = span // 3 + (k * 7919 % 5) * span // 6
        lo = start + (k * 104729 % 7) * max(0, span - length) // 6
        w = f"from={lo}&to={lo + length}" if k % 4 else ""
        view = ("desktop", "mobile")[k % 2]
        count = ("clicks", "sessions")[k // 2 % 2]
        layer = ("both", "clicks", "frustration")[k % 3]
        ext = ("svg", "png")[k // 3 % 2]
        qs.append(("heatmap", f"charts/heatmap.{ext}?page=/&viewport={view}&count={count}&layer={layer}&{w}"))
        qs.append(("scrollmap", f"charts/scrollmap.{ext}?page=/&viewport={view}&{w}"))
    return qs


def main():
    d = os.environ.get("REUSE") or tempfile.mkdtemp(dir=os.environ.get("BENCH_DIR"))
    db = os.path.join(d, "shop.db")
    meta = os.path.join(d, "load.json")
    if not os.path.exists(meta):
        json.dump({"load": fill(db)}, open(meta, "w"))
    m = json.load(open(meta))
    # The load generator's events carry the times it drew when it started
    # (up to a few minutes before): windows are cut from the sessions'
    # own span, read from the database (a fact of the data, not an answer).
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    start, end = c.execute("SELECT min(start_ms), max(start_ms) + 1 FROM sessions").fetchone()
    c.close()
    print(json.dumps({"batches_accepted": m["load"].get("batches_accepted"),
                      "events_accepted": m["load"].get("events_accepted"),
                      "db_mb": round(os.path.getsize(db) / 2**20)}), flush=True)
    times = {"old": {}, "new": {}}
    first = {"old": [], "new": []}
    bodies = {"old": {}, "new": {}}
    widest = {}
    for rnd in range(ROUNDS):
        order = [("old", OLD), ("new", NEW)] if rnd % 2 == 0 else [("new", NEW), ("old", OLD)]
        for name, binary in order:
            p = serve(binary, db)
            try:
                ms, _ = ask(f"charts/heatmap.svg?page=/&viewport=tablet&from={start}&to={start + 1000 * (rnd + 1)}")
                first[name].append(ms)
                for kind, path in questions(rnd, start, end):
                    ms, body = ask(path)
                    times[name].setdefault(kind, []).append(ms)
                    bodies[name][path] = body
                    title = re.search(rb"(\d+) (clicks|views)", body)
                    if title:
                        widest[kind] = max(widest.get(kind, 0), int(title.group(1)))
            finally:
                p.terminate()
                p.wait()
    print(json.dumps({"kind": "first", "old_median_ms": round(statistics.median(first["old"]), 1),
                      "new_median_ms": round(statistics.median(first["new"]), 1),
                      "old_ms": [round(x, 1) for x in first["old"]],
                      "new_ms": [round(x, 1) for x in first["new"]]}))
    for kind in times["old"]:
        old, new = statistics.median(times["old"][kind]), statistics.median(times["new"][kind])
        same = all(bodies["old"][k] == bodies["new"][k] for k in bodies["old"] if kind in k)
        print(json.dumps({"kind": kind, "questions": len(times["old"][kind]),
                          "old_median_ms": round(old, 1), "new_median_ms": round(new, 1),
                          "ratio_new_over_old": round(new / old, 3), "most_drawn": widest.get(kind),
                          "same": same}))
    if not os.environ.get("KEEP") and not os.environ.get("REUSE"):
        shutil.rmtree(d)
    else:
        print(json.dumps({"kept": d}))


main()
