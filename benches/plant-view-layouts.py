#!/usr/bin/env python3
"""Plants replay layouts in a `trailmap bench shop` database, for
benchmarking `why`'s new content (the "new_content" evidence, which reads
which layout each page view showed from `view_layouts`). `trailmap bench
shop` uploads no layouts, so without this `why` has no such evidence to read.

What it plants (site 1 only; stdlib only):

- `layouts`: one per distinct page that is the last or next-to-last view of
  a session with two or more page views, plus a second layout of
  /checkout/shipping (else of the most visited page with "checkout" in its
  path) that adds a shipping cost. Each layout's text is the shop's chrome
  (menu and footer, the same nine lines on every page), four lines of the
  page's own, and on checkout pages an order summary. Hashes are
  sha256('bench:' + path [+ ':b' for the second layout]); url is
  'bench:' + path.
- `page_layouts`: a row per planted layout (desktop; INSERT OR REPLACE on
  the (site_id, path, viewport) key, so the shipping page's row ends up
  naming its second layout).
- `view_layouts`: for every session with two or more page views, its last
  two views, each with its page's layout (the shipping page's second layout
  in sessions whose id % 3 == 0).

Usage, after running a build with schema migration 16 on the database once
(any command that opens it migrates it, e.g. `trailmap site list --db DB`):

    benches/plant-view-layouts.py DB

It runs in one transaction, and first deletes what an earlier run planted
(layouts whose url starts with 'bench:', and the page_layouts and
view_layouts rows naming them), so it can be run again.
"""
import gzip
import hashlib
import json
import sqlite3
import struct
import sys
import time
from array import array
from collections import Counter

SITE = 1
T0 = 1767225600000  # 2026-01-01T00:00:00Z
BATCH = 50_000
CHROME = ["Trail shop", "Bags", "Shoes", "Sale", "Help", "Cart", "Returns", "Contact", "© Trail shop"]
SUMMARY = ["Daypack", "$89.00", "Subtotal: $89.00", "Continue"]
SHIPPING = "/checkout/shipping"
TAGS = ["html", "body", "nav", "main", "footer"]


def lines_of(path, variant):
    own = [f"{path} title", f"{path} a", f"{path} b", f"{path} c"]
    if path.startswith("/checkout"):
        own += SUMMARY
    if variant:
        own.append("Shipping: $19.95")
    return CHROME + own


def layout_row(path, variant):
    """(hash, url, html_gz, raw_bytes, content) of a planted layout."""
    key = "bench:" + path + (":b" if variant else "")
    digest = hashlib.sha256(key.encode()).hexdigest()
    lines = lines_of(path, variant)
    html = (
        "<html><body><nav>" + "".join(f"<p>{l}</p>" for l in CHROME[:8])
        + "</nav><main>" + "".join(f"<p>{l}</p>" for l in lines[9:])
        + f"</main><footer><p>{CHROME[8]}</p></footer></body></html>"
    ).encode()
    content = json.dumps({"lines": lines, "tags": TAGS + ["p"] * len(lines)}, ensure_ascii=False)
    return digest, "bench:" + path, gzip.compress(html, mtime=0), len(html), content


def main(db):
    started = time.time()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("BEGIN IMMEDIATE")

    # What an earlier run planted.
    planted = "SELECT hash FROM layouts WHERE site_id = ?1 AND url LIKE 'bench:%'"
    deleted_views = conn.execute(
        f"DELETE FROM view_layouts WHERE site_id = ?1 AND hash IN ({planted})", (SITE,)).rowcount
    deleted_pages = conn.execute(
        f"DELETE FROM page_layouts WHERE site_id = ?1 AND hash IN ({planted})", (SITE,)).rowcount
    deleted_layouts = conn.execute(
        "DELETE FROM layouts WHERE site_id = ?1 AND url LIKE 'bench:%'", (SITE,)).rowcount

    paths = dict(conn.execute("SELECT id, path FROM pages WHERE site_id = ?1", (SITE,)))

    # The last two views of every session with two or more, in id order.
    sids, views, pids = array("q"), array("I"), array("I")
    sessions = short = 0
    for sid, blob in conn.execute(
        "SELECT id, pages FROM sessions WHERE site_id = ?1 AND page_count >= 2 ORDER BY id", (SITE,)
    ):
        n = len(blob) // 4
        if n < 2:
            short += 1
            continue
        sessions += 1
        a, b = struct.unpack_from("<II", blob, 4 * (n - 2))
        sids.extend((sid, sid))
        views.extend((n - 2, n - 1))
        pids.extend((a, b))
    scanned = time.time()

    # The page with a second layout.
    by_path = {p: i for i, p in paths.items()}
    variant_page = by_path.get(SHIPPING)
    if variant_page is None:
        visits = Counter()
        for (blob,) in conn.execute("SELECT pages FROM sessions WHERE site_id = ?1", (SITE,)):
            visits.update(struct.unpack(f"<{len(blob) // 4}I", blob))
        checkout = [(visits[i], i) for i, p in paths.items() if "checkout" in p]
        variant_page = max(checkout)[1] if checkout else None

    # Layouts and page_layouts.
    pages = sorted(set(pids) & paths.keys() | ({variant_page} if variant_page else set()))
    hashes = {}
    for pid in pages:
        for variant in (False, True) if pid == variant_page else (False,):
            digest, url, html_gz, raw, content = layout_row(paths[pid], variant)
            conn.execute(
                "INSERT INTO layouts (site_id, hash, url, html_gz, raw_bytes, created_ms, used_ms, content)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (SITE, digest, url, html_gz, raw, T0, T0, content),
            )
            conn.execute(
                "INSERT OR REPLACE INTO page_layouts (site_id, path, viewport, hash, vw, vh, dw, dh, seen_ms)"
                " VALUES (?, ?, 'desktop', ?, 1280, 800, 1280, 2000, ?)",
                (SITE, paths[pid], digest, T0 + pid),
            )
            hashes[(pid, variant)] = digest
    page_rows = conn.execute(
        f"SELECT count(*) FROM page_layouts WHERE site_id = ?1 AND hash IN ({planted})", (SITE,)
    ).fetchone()[0]

    # view_layouts, in session id order.
    insert = "INSERT INTO view_layouts (site_id, session_id, view, page_id, hash) VALUES (?, ?, ?, ?, ?)"
    rows, view_rows, unknown, leaving_on_variant = [], 0, 0, 0
    for k in range(len(sids)):
        sid, view, pid = sids[k], views[k], pids[k]
        if pid == variant_page and k % 2 == 1:
            leaving_on_variant += 1
        h = hashes.get((pid, pid == variant_page and sid % 3 == 0))
        if h is None:
            unknown += 1  # a page id not among site 1's pages
            continue
        rows.append((SITE, sid, view, pid, h))
        if len(rows) >= BATCH:
            conn.executemany(insert, rows)
            view_rows += len(rows)
            rows.clear()
    conn.executemany(insert, rows)
    view_rows += len(rows)
    conn.execute("COMMIT")
    conn.close()

    print(json.dumps({
        "deleted": {"layouts": deleted_layouts, "page_layouts": deleted_pages, "view_layouts": deleted_views},
        "layouts": len(hashes),
        "page_layouts": page_rows,
        "view_layouts": view_rows,
        "sessions": sessions,
        "sessions_short_blob": short,
        "views_of_unknown_pages": unknown,
        "variant_page": paths.get(variant_page),
        "sessions_leaving_on_variant_page": leaving_on_variant,
        "scan_seconds": round(scanned - started, 2),
        "seconds": round(time.time() - started, 2),
    }, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
