"""The peer of `trailmap bench patterns`: PyPI prefixspan 0.5.2 over the same
sessions (a seq file: one session per line of space-separated page ids).
Prints JSON: mining seconds (the data already in memory) and the top 15
patterns of two pages or more, with their support."""
import json
import sys
import time

from prefixspan import PrefixSpan

with open(sys.argv[1]) as f:
    db = [[int(x) for x in line.split()] for line in f if line.strip()]
started = time.perf_counter()
top = PrefixSpan(db).topk(15, filter=lambda patt, matches: len(patt) >= 2)
seconds = time.perf_counter() - started
print(json.dumps({"sessions": len(db), "seconds": seconds,
                  "patterns": [[patt, support] for support, patt in top]}))
