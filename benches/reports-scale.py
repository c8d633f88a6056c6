#!/usr/bin/env python3
"""Every report through the real server at 1M or 10M sessions, two builds
side by side (BENCHMARKS.md, issue 15).

    benches/reports-scale.py OLD_BIN NEW_BIN [COPIES] [ROUNDS] [PER_REPORT]

Writes the UCI MSNBC sessions COPIES times into one sequence file (COPIES=10
gives 9,898,180 sessions, a second apart: 115 days), imports it once with
NEW_BIN (`trailmap import --format seq`) and copies the database for
OLD_BIN (the schema is the same), with the search index NEW_BIN builds
on its first start. Then, ROUNDS times, it starts each build's
server in turn (alternating which goes first), asks one report to bring it
up (timed apart: "first"), then every report and chart PER_REPORT times,
each time over another date window, entry page or funnel, so no question
repeats and nothing is answered from a cache of the same question. It
prints one JSON line per report with both medians (ms), the ratio
new / old, whether the answers were the same, and each server's resident
memory (VmRSS, and the peak VmHWM) after its round.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time, urllib.request, zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_server  # noqa: E402

OLD, NEW = sys.argv[1], sys.argv[2]
COPIES = int(sys.argv[3]) if len(sys.argv) > 3 else 1
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
PER = int(sys.argv[5]) if len(sys.argv) > 5 else 3
TOKEN = bench_server.TOKEN
HERE = os.path.dirname(os.path.abspath(__file__))
ZIP = os.path.join(HERE, "..", "..", "shared", "data", "seq", "msnbc990928.zip")
if not os.path.exists(ZIP):
    ZIP = os.path.join(HERE, "..", "tests", "fixtures", "seq", "msnbc990928.zip")
SESSIONS = 989_818 * COPIES
DAY = 86_400_000
EPOCH = 946_684_800_000  # the seq import's first session
SPAN = SESSIONS * 1000  # sessions are a second apart


def window(k):
    """The k-th date window: between a third and all of the span."""
    return bench_server.window(k, EPOCH, SPAN)


def questions(rnd):
    """(label, path) pairs; every one differs from every other."""
    qs = []
    for i in range(PER):
        k = rnd * PER + i
        w = window(k)
        e = f"entry_page=/{1 + k % 17}"
        a, b = 1 + k % 17, 1 + (k * 5 + 3) % 17
        qs += [
            ("overview", f"overview?top={5 + k % 5}&{w}"),
            ("paths", f"paths?steps={2 + k % 4}&top=10&{w}"),
            ("exits", f"exits?{w}&{e}"),
            ("transitions", f"transitions?page=/{1 + k % 17}&{w}"),
            ("journeys", f"journeys?steps={3 + k % 3}&nodes=8&{w}"),
            ("funnel", f"funnel?step=^/{a}$&step=^/{b}$&window_minutes=60&{w}"),
            ("stages", f"stages?{w}&{e}"),
            ("frustration", f"frustration?worst={1 + k % 9}&{w}"),
            ("moments", f"moments?top={5 + k % 5}&{w}"),
            ("patterns", f"patterns?top={10 + k % 7}&min_len=2&{w}&{e}"),
            ("sankey.svg", f"charts/sankey.svg?steps={3 + k % 3}&nodes=6&{w}"),
            ("funnel.svg", f"charts/funnel.svg?step=^/{a}$&step=^/{b}$&window_minutes=60&{w}"),
            ("sessions", f"sessions?q=&limit=50&{w}&{e}"),
        ]
    return qs


def serve(binary, db, port):
    # The API's default deadline (10 s) would cut the old build's slowest
    # reports at 10M short: both get ten minutes.
    return bench_server.serve(binary, db, port, "--analysis-timeout-seconds", "600")


def ask(port, path):
    ms, body = bench_server.ask(port, "msnbc", path)
    try:
        return ms, json.loads(body)
    except ValueError:
        return ms, body


def memory(pid):
    return {"VmRSS": bench_server.memory_mb(pid, "VmRSS:"), "VmHWM": bench_server.memory_mb(pid, "VmHWM:")}


def prepare(d, db):
    seq = os.path.join(d, "msnbc.seq")
    lines = zipfile.ZipFile(ZIP).read("msnbc990928.seq").decode().splitlines()[7:]
    with open(seq, "w") as f:
        for _ in range(COPIES):
            f.write("\n".join(lines) + "\n")
    del lines
    subprocess.run([NEW, "--db", db["new"], "site", "add", "msnbc", "--origin", "https://msnbc.example"],
                   check=True, stdout=subprocess.DEVNULL)
    t = time.perf_counter()
    subprocess.run([NEW, "--db", db["new"], "import", "--site", "msnbc", "--format", "seq", "--json", seq],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(json.dumps({"sessions": SESSIONS, "import_s": round(time.perf_counter() - t, 1)}), flush=True)
    os.remove(seq)
    # Let the new build index the sessions for search once, so that both
    # builds' session lists read a whole index (the folder is copied too).
    t = time.perf_counter()
    p = serve(NEW, db["new"], 18191)
    try:
        while True:
            _, o = ask(18191, "overview?top=1")
            _, hits = ask(18191, "sessions?q=&limit=1")
            if hits["total"] >= o["sessions"]:
                break
            time.sleep(2)
    finally:
        p.terminate()
        p.wait()
    print(json.dumps({"indexed_s": round(time.perf_counter() - t, 1)}), flush=True)
    shutil.copy(db["new"], db["old"])
    shutil.copytree(db["new"] + ".search", db["old"] + ".search")


def main():
    # REUSE=DIR takes the databases a run left there (with KEEP=1).
    d = os.environ.get("REUSE") or tempfile.mkdtemp(dir=os.environ.get("BENCH_DIR"))
    db = {"new": os.path.join(d, "new.db"), "old": os.path.join(d, "old.db")}
    if not os.environ.get("REUSE"):
        prepare(d, db)
    times = {"old": {}, "new": {}}
    answers = {"old": {}, "new": {}}
    first = {"old": [], "new": []}
    mem = {"old": [], "new": []}
    for rnd in range(ROUNDS):
        order = [("old", OLD), ("new", NEW)] if rnd % 2 == 0 else [("new", NEW), ("old", OLD)]
        for name, binary in order:
            port = 18190 if name == "old" else 18191
            p = serve(binary, db[name], port)
            try:
                ms, _ = ask(port, f"exits?entry_page=/{1 + rnd}")
                first[name].append(ms)
                for label, path in questions(rnd):
                    ms, body = ask(port, path)
                    times[name].setdefault(label, []).append(ms)
                    answers[name][(label, path)] = body
                mem[name].append(memory(p.pid))
            finally:
                p.terminate()
                p.wait()
            print(json.dumps({"round": rnd, "build": name, "first_ms": round(first[name][-1]),
                              **mem[name][-1]}), flush=True)
    for label in times["old"]:
        old, new = statistics.median(times["old"][label]), statistics.median(times["new"][label])
        same = all(answers["old"][k] == answers["new"][k] for k in answers["old"] if k[0] == label)
        print(json.dumps({"report": label, "questions": len(times["old"][label]),
                          "old_median_ms": round(old, 1), "new_median_ms": round(new, 1),
                          "ratio_new_over_old": round(new / old, 3), "same_answers": same}))
    if not os.environ.get("KEEP") and not os.environ.get("REUSE"):
        shutil.rmtree(d)


main()
