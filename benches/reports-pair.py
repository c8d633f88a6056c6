#!/usr/bin/env python3
"""Reports through the real server, two builds side by side (BENCHMARKS.md).

    benches/reports-pair.py OLD_BIN NEW_BIN [ROUNDS]

Imports the UCI MSNBC sessions (989,818) once per build into its own
database (`trailmap import --format seq`), then in each round starts one
build's server, asks it the same list of questions, stops it, and does the
same with the other build (alternating which goes first). Every question
in a round differs from the others (another entry page, step count or
funnel), so nothing is answered twice in a row. Prints one JSON line per
report with both medians (ms) and the ratio new / old.
"""
import json, os, statistics, subprocess, sys, tempfile, time, urllib.request, zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_server  # noqa: E402

OLD, NEW = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
TOKEN = bench_server.TOKEN
HERE = os.path.dirname(os.path.abspath(__file__))
ZIP = os.path.join(HERE, "..", "..", "shared", "data", "seq", "msnbc990928.zip")
if not os.path.exists(ZIP):
    ZIP = os.path.join(HERE, "..", "tests", "fixtures", "seq", "msnbc990928.zip")

def questions():
    """(report, query) pairs: each report asked over several entry pages."""
    qs = []
    for entry in range(1, 8):
        e = f"entry_page=/{entry}"
        qs.append(("paths", f"steps={2 + entry % 4}&top=10&{e}"))
        qs.append(("exits", e))
        qs.append(("journeys", f"steps={3 + entry % 3}&nodes=8&{e}"))
        qs.append(("funnel", f"step=^/{entry}$&step=^/{entry % 17 + 1}$&window_minutes=60"))
        qs.append(("frustration", f"worst={entry}&{e}"))
        qs.append(("patterns", f"top={10 + entry}&min_len=2&{e}"))
        qs.append(("overview", f"top={5 + entry}&{e}"))
    return qs

def import_into(binary, db, seq):
    subprocess.run([binary, "--db", db, "site", "add", "msnbc", "--origin", "https://msnbc.example"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([binary, "--db", db, "import", "--site", "msnbc", "--format", "seq", "--json", seq],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def serve(binary, db, port):
    return bench_server.serve(binary, db, port)

def ask(port, report, query):
    ms, body = bench_server.ask(port, "msnbc", f"{report}?{query}", timeout=300)
    return ms, json.loads(body)

def main():
    d = tempfile.mkdtemp()
    seq = os.path.join(d, "msnbc.seq")
    text = zipfile.ZipFile(ZIP).read("msnbc990928.seq").decode()
    with open(seq, "w") as f:
        f.write("\n".join(text.splitlines()[7:]) + "\n")
    dbs = {}
    for name, binary in (("old", OLD), ("new", NEW)):
        dbs[name] = os.path.join(d, f"{name}.db")
        import_into(binary, dbs[name], seq)
    times = {"old": {}, "new": {}}
    answers = {"old": {}, "new": {}}
    for rnd in range(ROUNDS):
        order = [("old", OLD), ("new", NEW)] if rnd % 2 == 0 else [("new", NEW), ("old", OLD)]
        for name, binary in order:
            p = serve(binary, dbs[name], 18190 if name == "old" else 18191)
            port = 18190 if name == "old" else 18191
            try:
                for report, query in questions():
                    ms, body = ask(port, report, query)
                    times[name].setdefault(report, []).append(ms)
                    answers[name][(report, query)] = body
            finally:
                p.terminate()
                p.wait()
    for report in times["old"]:
        old, new = statistics.median(times["old"][report]), statistics.median(times["new"][report])
        same = all(answers["old"][k] == answers["new"][k] for k in answers["old"] if k[0] == report)
        print(json.dumps({"report": report, "questions": len(times["old"][report]),
                          "old_median_ms": round(old, 1), "new_median_ms": round(new, 1),
                          "ratio_new_over_old": round(new / old, 3), "same_answers": same}))

main()
