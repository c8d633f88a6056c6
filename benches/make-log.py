#!/usr/bin/env python3
"""Builds a large access log from the 10,000-line fixture for import
benchmarks: COPIES copies (default 100, i.e. 1,000,000 lines), copy k
shifted k days later and with client addresses varied (each IPv4 octet
after the first xor'ed with k), so visitors and sessions stay realistic.

    python3 benches/make-log.py [COPIES] > /tmp/big.log
"""
import os, re, sys
from datetime import datetime, timedelta

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "logs", "apache_combined_semicomplete_2015.log")
copies = int(sys.argv[1]) if len(sys.argv) > 1 else 100
lines = open(FIXTURE, "rb").read().decode("latin-1").splitlines()
stamp = re.compile(r"\[(\d\d/\w\w\w/\d{4}):")
out = sys.stdout
for k in range(copies):
    cache = {}
    for line in lines:
        ip, _, rest = line.partition(" ")
        parts = ip.split(".")
        if len(parts) == 4:
            ip = ".".join([parts[0]] + [str(int(p) ^ (k % 256)) for p in parts[1:]])
        m = stamp.search(rest)
        if m:
            day = m.group(1)
            if day not in cache:
                d = datetime.strptime(day, "%d/%b/%Y") + timedelta(days=k)
                cache[day] = d.strftime("%d/%b/%Y")
            rest = rest[: m.start(1)] + cache[day] + rest[m.end(1):]
        out.write(f"{ip} {rest}\n")
