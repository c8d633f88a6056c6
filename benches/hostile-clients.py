#!/usr/bin/env python3
"""Hostile clients for the memory budget (README, Memory budget): holds
slowloris sockets (half-sent headers, one more header line every few
seconds), unfinished 2 MiB replay uploads (1 MiB sent, then silence) and
oversized heads (380 KB of headers, never finished) against a running
server, re-opening whatever the server closes, for SECONDS.

    benches/hostile-clients.py HOST:PORT SECONDS [SLOWLORIS] [UPLOADS] [HEADS]

Run it beside benches/flood-memory.sh (HOSTILE=... does that) and read the
server's peak RSS."""
import socket, sys, time

host, port = sys.argv[1].split(":")
port = int(port)
secs = float(sys.argv[2])
n_slow = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
n_up = int(sys.argv[4]) if len(sys.argv) > 4 else 300
n_head = int(sys.argv[5]) if len(sys.argv) > 5 else 300
HASH = "a" * 64

def opened(first: bytes):
    try:
        s = socket.create_connection((host, port), timeout=2)
        s.setblocking(False)
        s.send(first)
        return s
    except OSError:
        return None

def slowloris():
    return opened(b"POST /api/collect HTTP/1.1\r\nHost: x\r\nX-a: b\r\n")

def upload():
    s = opened(
        f"POST /api/replay/snapshots/{HASH}?site=bench&url=http://bench.localhost/&vw=1&vh=1&dw=1&dh=1 HTTP/1.1\r\n"
        "Host: x\r\nOrigin: http://bench.localhost\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {2 * 1024 * 1024}\r\n\r\n".encode()
    )
    if s:
        chunk = b"\0" * 65536
        try:
            for _ in range(16):
                s.send(chunk)
        except OSError:
            pass
    return s

def head():
    s = opened(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    if s:
        try:
            s.send(b"X-big: " + b"a" * 380_000)
        except OSError:
            pass
    return s

pools = [(slowloris, [None] * n_slow), (upload, [None] * n_up), (head, [None] * n_head)]
end = time.time() + secs
reopened = 0
while time.time() < end:
    for make, pool in pools:
        for i, s in enumerate(pool):
            if s is not None:
                try:
                    if s.recv(1, socket.MSG_PEEK) == b"":
                        raise OSError
                    s.close()  # the server answered (431/408/...): start anew
                    raise OSError
                except BlockingIOError:
                    continue  # still held open by the server
                except OSError:
                    try:
                        s.close()
                    except OSError:
                        pass
            pool[i] = make()
            reopened += 1
    time.sleep(2)
    for s in pools[0][1]:
        if s is not None:
            try:
                s.send(b"X-b: c\r\n")
            except OSError:
                pass
print(f"hostile clients: {n_slow} slowloris, {n_up} uploads, {n_head} big heads; {reopened} (re)opened")
