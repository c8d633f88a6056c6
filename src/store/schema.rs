//! The versioned schema. Each migration runs once, in its own transaction,
//! and `PRAGMA user_version` records how far a database has come. Append new
//! migrations; never edit one that has shipped.

use rusqlite::{Connection, OptionalExtension};

use super::StoreError;

/// Migrations in order; the schema version is the count applied.
const MIGRATIONS: &[&str] = &[
    // 1: sites, salts, interned pages, sessions with their packed page
    // sequence, and event chunks clustered by session for replay.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE sites (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE site_origins (
        site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        origin  TEXT NOT NULL,
        PRIMARY KEY (site_id, origin)
    ) WITHOUT ROWID;
    -- Visitor-id salts by UTC day; only today's and yesterday's are kept.
    CREATE TABLE salts (
        day  INTEGER PRIMARY KEY,
        salt BLOB NOT NULL
    );
    -- Interned page paths, so sessions can store sequences of small ids.
    CREATE TABLE pages (
        id      INTEGER PRIMARY KEY,
        site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        path    TEXT NOT NULL,
        UNIQUE (site_id, path)
    );
    CREATE TABLE sessions (
        id              INTEGER PRIMARY KEY,
        site_id         INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        source          INTEGER NOT NULL,
        sid             TEXT NOT NULL,
        visitor         INTEGER NOT NULL,
        start_ms        INTEGER NOT NULL,
        end_ms          INTEGER NOT NULL,
        entry_page      INTEGER,
        exit_page       INTEGER,
        page_count      INTEGER NOT NULL,
        event_count     INTEGER NOT NULL,
        referrer        TEXT,
        referrer_domain TEXT,
        channel         TEXT NOT NULL,
        utm_source      TEXT,
        utm_medium      TEXT,
        utm_campaign    TEXT,
        country         TEXT,
        region          TEXT,
        city            TEXT,
        browser         TEXT NOT NULL,
        os              TEXT NOT NULL,
        device          TEXT NOT NULL,
        is_bot          INTEGER NOT NULL,
        rage_clicks     INTEGER NOT NULL,
        dead_clicks     INTEGER NOT NULL,
        error_pages     INTEGER NOT NULL,
        -- Page ids of the page views in order, packed as little-endian u32.
        pages           BLOB NOT NULL,
        -- Ids of the session's event chunks in order, packed as little-endian i64.
        chunks          BLOB NOT NULL
    );
    CREATE INDEX sessions_by_site_start ON sessions (site_id, start_ms DESC, id DESC);
    -- Events are stored in chunks: each batch's run of events for one
    -- session is one row, a JSON array (one object per event, in order)
    -- with the events' page ids packed beside it as little-endian u32
    -- (0 = no page). One insert per batch instead of one per event, into a
    -- rowid table that only ever appends, with no index (the session row
    -- lists its chunk ids), keeps the writer's I/O close to the size of the
    -- data: a batch dirties one sequential page and its session's row.
    CREATE TABLE event_chunks (
        id         INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL,
        first_seq  INTEGER NOT NULL,
        page_ids   BLOB NOT NULL,
        events     TEXT NOT NULL
    );
    "#,
    // 2: what `trailmap import` has read of each input, so that importing
    // the same file twice does not double count and an interrupted import
    // resumes. `identity` is a hash of the input's first bytes (content, not
    // name: rotated and copied logs keep it); `offset` counts bytes of the
    // decompressed stream committed so far.
    r#"
    CREATE TABLE import_files (
        site_id    INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        identity   TEXT NOT NULL,
        path       TEXT NOT NULL,
        offset     INTEGER NOT NULL,
        lines      INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (site_id, identity)
    ) WITHOUT ROWID;
    "#,
    // 3: what path mining needs per page view, beside the packed page ids,
    // so it never opens event chunks: each view's time (ms after the
    // session's start, little-endian u32) and its frustration signals
    // (3 bytes: rage clicks, dead clicks, flags; bit 0 = error page). Path
    // cleaning rules, ordered per site.
    r#"
    ALTER TABLE sessions ADD COLUMN page_times BLOB NOT NULL DEFAULT x'';
    ALTER TABLE sessions ADD COLUMN page_signals BLOB NOT NULL DEFAULT x'';
    CREATE TABLE page_rules (
        site_id     INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        position    INTEGER NOT NULL,
        pattern     TEXT NOT NULL,
        replacement TEXT NOT NULL,
        PRIMARY KEY (site_id, position)
    ) WITHOUT ROWID;
    "#,
    // 4: per-site journey settings, as JSON: the query parameters kept in
    // page paths (a list of names; the rest of a query string is dropped
    // at ingest), and the journey stages and goal pages (NULL: the
    // defaults).
    r#"
    ALTER TABLE sites ADD COLUMN keep_query TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE sites ADD COLUMN journey TEXT;
    "#,
    // 5: the change sequence of sessions (see WriteTxn), which the search
    // index follows.
    r#"
    ALTER TABLE sessions ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX sessions_by_change ON sessions (changed);
    "#,
    // 6: session replay's page layouts: DOM snapshots (gzipped, masked in
    // the browser), one per site and content hash however many sessions
    // show it; and the latest layout seen per page and viewport class.
    r#"
    CREATE TABLE layouts (
        id          INTEGER PRIMARY KEY,
        site_id     INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        hash        TEXT NOT NULL,
        url         TEXT NOT NULL,
        html_gz     BLOB NOT NULL,
        raw_bytes   INTEGER NOT NULL,
        created_ms  INTEGER NOT NULL,
        used_ms     INTEGER NOT NULL,
        UNIQUE (site_id, hash)
    );
    CREATE TABLE page_layouts (
        site_id   INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        path      TEXT NOT NULL,
        viewport  TEXT NOT NULL,
        hash      TEXT NOT NULL,
        vw        INTEGER NOT NULL,
        vh        INTEGER NOT NULL,
        dw        INTEGER NOT NULL,
        dh        INTEGER NOT NULL,
        seen_ms   INTEGER NOT NULL,
        PRIMARY KEY (site_id, path, viewport)
    ) WITHOUT ROWID;
    "#,
    // 7: layouts some session showed (its `$layout` event), with the time it
    // last did: a full replay quota makes room by deleting layouts no
    // session references, so junk uploads cannot push out real ones.
    r#"
    CREATE TABLE layout_refs (
        site_id  INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        hash     TEXT NOT NULL,
        seen_ms  INTEGER NOT NULL,
        PRIMARY KEY (site_id, hash)
    ) WITHOUT ROWID;
    "#,
    // 8: people and links instead of one shared token. Users with a role
    // and an argon2 password hash, limited to some sites (no rows in
    // user_sites: every site); their credentials (web sessions and API
    // tokens; no user: a sign-in with the server token, whose digest is the
    // label) by the SHA-256 of the secret only; share links (read-only,
    // one site) and the browser sessions opened through them, which end
    // with their link.
    r#"
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
        password_hash TEXT NOT NULL,
        created_ms    INTEGER NOT NULL
    );
    CREATE TABLE user_sites (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, site_id)
    ) WITHOUT ROWID;
    CREATE TABLE credentials (
        id         INTEGER PRIMARY KEY,
        digest     TEXT NOT NULL UNIQUE,
        user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
        kind       TEXT NOT NULL CHECK (kind IN ('session', 'token')),
        label      TEXT NOT NULL DEFAULT '',
        csrf       TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER
    );
    CREATE TABLE share_links (
        id            INTEGER PRIMARY KEY,
        site_id       INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        digest        TEXT NOT NULL UNIQUE,
        view          TEXT,
        password_hash TEXT,
        expires_ms    INTEGER,
        created_ms    INTEGER NOT NULL,
        created_by    TEXT
    );
    CREATE TABLE share_sessions (
        digest     TEXT PRIMARY KEY,
        share_id   INTEGER NOT NULL REFERENCES share_links(id) ON DELETE CASCADE,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 9: when the collector first took an event from each of a site's
    // origins, for the install check ("first event received from ... at").
    r#"
    ALTER TABLE site_origins ADD COLUMN first_event_ms INTEGER;
    "#,
    // 10: dated notes per site ("new shipping prices"), shown on the
    // time series.
    r#"
    CREATE TABLE annotations (
        id         INTEGER PRIMARY KEY,
        site_id    INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        at_ms      INTEGER NOT NULL,
        text       TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        created_by TEXT
    );
    CREATE INDEX annotations_by_site ON annotations (site_id, at_ms);
    "#,
    // 11: each session's custom events beside its page views
    // ([`crate::event::pack_marks`]), so goals, event funnel steps and
    // the events report never open event chunks. Sessions stored before
    // get theirs from their chunks ([`backfill_marks`]).
    r#"
    ALTER TABLE sessions ADD COLUMN marks TEXT NOT NULL DEFAULT '';
    "#,
    // 12: funnels saved per site, by name: the funnel as the API's query
    // string (`step=...&step=...&window_minutes=...`).
    r#"
    CREATE TABLE funnels (
        site_id    INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        query      TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        created_by TEXT,
        PRIMARY KEY (site_id, name)
    ) WITHOUT ROWID;
    "#,
    // 13: JavaScript errors (the error capture's `$error` events), once
    // per page view and error, for the errors report; and each session's
    // count of them, for its summary and search (`jserror:true`).
    // `view` is the page view's index in the session.
    r#"
    ALTER TABLE sessions ADD COLUMN js_errors INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE js_errors (
        site_id    INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        session_id INTEGER NOT NULL,
        view       INTEGER NOT NULL,
        ts_ms      INTEGER NOT NULL,
        page_id    INTEGER,
        kind       TEXT NOT NULL,
        message    TEXT NOT NULL,
        source     TEXT NOT NULL DEFAULT '',
        line       INTEGER NOT NULL DEFAULT 0,
        col        INTEGER NOT NULL DEFAULT 0,
        click      INTEGER NOT NULL,
        PRIMARY KEY (session_id, view, kind, message, source, line, col)
    ) WITHOUT ROWID;
    CREATE INDEX js_errors_by_site ON js_errors (site_id, ts_ms);
    "#,
    // 14: the errors report reads a site's error rows in session order
    // (merged with the sessions of its selection), not by time.
    r#"
    DROP INDEX js_errors_by_site;
    CREATE INDEX js_errors_by_session ON js_errors (site_id, session_id);
    "#,
    // 15: a page's layout replaced by one that reads or is built
    // differently (`changes`): when the new one was first stored, the two
    // layouts, the share that differs and the lines added and removed
    // (JSON arrays, a few short lines each).
    r#"
    CREATE TABLE layout_changes (
        id          INTEGER PRIMARY KEY,
        site_id     INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        path        TEXT NOT NULL,
        viewport    TEXT NOT NULL,
        at_ms       INTEGER NOT NULL,
        before_hash TEXT NOT NULL,
        after_hash  TEXT NOT NULL,
        share       REAL NOT NULL,
        added       TEXT NOT NULL,
        removed     TEXT NOT NULL
    );
    CREATE INDEX layout_changes_by_site ON layout_changes (site_id, at_ms);
    "#,
    // 16: which layout each page view showed (its `$layout` event), for
    // `why`'s new content: the exit view's layout held against the view
    // before it. And each layout's text and structure
    // ([`crate::replay::content::Content`] as JSON), read once when it is
    // stored (NULL: stored before; read from its HTML when needed).
    // Views recorded before get theirs from their chunks
    // ([`backfill_view_layouts`]).
    r#"
    ALTER TABLE layouts ADD COLUMN content TEXT;
    CREATE TABLE view_layouts (
        site_id    INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        session_id INTEGER NOT NULL,
        view       INTEGER NOT NULL,
        page_id    INTEGER,
        hash       TEXT NOT NULL,
        PRIMARY KEY (site_id, session_id, view)
    ) WITHOUT ROWID;
    "#,
    // 17: whether a layout change lasts. The page's sightings after a
    // change, until a verdict, each nearer the new layout, the old one or
    // neither; then `lasting` or `varies` (per-visitor content, an
    // experiment). Changes recorded before are judged from the sightings
    // after this version.
    r#"
    ALTER TABLE layout_changes ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
    ALTER TABLE layout_changes ADD COLUMN seen_new INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE layout_changes ADD COLUMN seen_old INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE layout_changes ADD COLUMN seen_other INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX layout_changes_pending ON layout_changes (site_id, path, viewport)
        WHERE status = 'pending';
    "#,
];

/// Work a migration needs beyond its SQL, by the version it brings the
/// database to, run in the same transaction.
fn after_migration(version: usize, tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    match version {
        11 => backfill_marks(tx),
        16 => backfill_view_layouts(tx),
        _ => Ok(()),
    }
}

/// Fills the new `marks` column of every session stored before it existed
/// from the session's event chunks, counting page views as the
/// sessionizer does ([`crate::event::SessionTotals::record`]). Only
/// sessions with a custom event in some chunk are read again.
fn backfill_marks(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    use crate::event::{pack_marks, Mark};
    let sessions: Vec<i64> = tx
        .prepare(
            "SELECT DISTINCT session_id FROM event_chunks
             WHERE instr(events, '\"type\":\"custom\"') > 0 ORDER BY session_id",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut session = tx.prepare("SELECT start_ms, chunks FROM sessions WHERE id = ?1")?;
    let mut chunk = tx.prepare("SELECT page_ids, events FROM event_chunks WHERE id = ?1")?;
    let mut update = tx.prepare("UPDATE sessions SET marks = ?2 WHERE id = ?1")?;
    for id in sessions {
        let Some((start, chunks)) = session
            .query_row([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .optional()?
        else {
            continue;
        };
        let (mut views, mut marks) = (0u32, Vec::new());
        each_chunk_event(&mut chunk, &chunks, |object, page| {
            match object.get("type").and_then(|t| t.as_str()) {
                Some("pageview") if page != 0 => views += 1,
                Some("custom") => {
                    let name = object.get("name").and_then(|n| n.as_str()).unwrap_or("");
                    if name.is_empty() || !Mark::is_shops(name) {
                        return Ok(());
                    }
                    marks.push(Mark {
                        after: views,
                        ts: object.get("ts").and_then(|t| t.as_i64()).unwrap_or(start),
                        name: name.to_owned(),
                        props: object.get("props").and_then(|p| p.as_object()).cloned(),
                    });
                }
                _ => {}
            }
            Ok(())
        })?;
        if !marks.is_empty() {
            update.execute(rusqlite::params![id, pack_marks(start, &marks)])?;
        }
    }
    Ok(())
}

/// Fills `view_layouts` for the sessions stored before it existed, from
/// the `$layout` events in their chunks, counting page views as the
/// sessionizer does (a view is the index of the last view of the event's
/// page). Only chunks with a `$layout` event are read.
fn backfill_view_layouts(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    let sessions: Vec<(i64, i64)> = tx
        .prepare(
            "SELECT DISTINCT c.session_id, s.site_id FROM event_chunks c
             JOIN sessions s ON s.id = c.session_id
             WHERE instr(c.events, '\"$layout\"') > 0 ORDER BY c.session_id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut session = tx.prepare("SELECT chunks FROM sessions WHERE id = ?1")?;
    let mut chunk = tx.prepare("SELECT page_ids, events FROM event_chunks WHERE id = ?1")?;
    let mut insert = tx.prepare(
        "INSERT OR REPLACE INTO view_layouts (site_id, session_id, view, page_id, hash)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (id, site_id) in sessions {
        let Some(chunks) = session
            .query_row([id], |r| r.get::<_, Vec<u8>>(0))
            .optional()?
        else {
            continue;
        };
        let mut views: Vec<u32> = Vec::new();
        let mut current: Option<u32> = None;
        each_chunk_event(&mut chunk, &chunks, |object, page| {
            let page = (page != 0).then_some(page).or(current);
            match object.get("type").and_then(|t| t.as_str()) {
                Some("pageview") => {
                    if let Some(p) = page {
                        views.push(p);
                        current = Some(p);
                    }
                }
                Some("custom")
                    if object.get("name").and_then(|n| n.as_str())
                        == Some(crate::event::LAYOUT_EVENT) =>
                {
                    let hash = object
                        .get("props")
                        .and_then(|p| p.get("hash"))
                        .and_then(|h| h.as_str())
                        .filter(|h| crate::event::is_layout_hash(h));
                    let view = match page {
                        Some(p) => views.iter().rposition(|v| *v == p),
                        None => views.len().checked_sub(1),
                    };
                    if let (Some(hash), Some(view)) = (hash, view) {
                        insert.execute(rusqlite::params![site_id, id, view as i64, page, hash])?;
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Calls `f` with each stored event of a session's chunks (`chunks`, its
/// packed chunk ids) in order, as a JSON object, with its page id (0:
/// none); `chunk` selects a chunk's page ids and events by id. A chunk
/// that is gone or does not parse is skipped, as the readers skip it.
fn each_chunk_event(
    chunk: &mut rusqlite::Statement<'_>,
    chunks: &[u8],
    mut f: impl FnMut(&serde_json::Map<String, serde_json::Value>, u32) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    use crate::event::{unpack_ids, unpack_pages};
    for chunk_id in unpack_ids(chunks) {
        let Some((page_ids, events)) = chunk
            .query_row([chunk_id], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?
        else {
            continue;
        };
        let objects: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_str(&events).unwrap_or_default();
        for (object, page) in objects.iter().zip(unpack_pages(&page_ids)) {
            f(object, page)?;
        }
    }
    Ok(())
}

/// The schema version this build writes.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings a database up to [`VERSION`]. A database from a newer build is
/// refused rather than written with an older idea of the schema.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_to(conn, MIGRATIONS.len())
}

fn migrate_to(conn: &mut Connection, target: usize) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > VERSION {
        return Err(StoreError::Invalid(format!(
            "the database has schema version {current}, newer than this build's {VERSION}; upgrade trailmap"
        )));
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target)
        .skip(current as usize)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        after_migration(i + 1, &tx)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_stored_before_marks_get_theirs_from_their_chunks() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 10).unwrap();
        let pages = |ids: &[u32]| crate::event::pack_pages(ids);
        conn.execute_batch(
            "INSERT INTO sites (id, name, created_ms) VALUES (1, 'shop', 0);
             INSERT INTO pages (id, site_id, path) VALUES (1, 1, '/'), (2, 1, '/cart');",
        )
        .unwrap();
        let chunk = |id: i64, session: i64, ids: &[u32], events: &str| {
            conn.execute(
                "INSERT INTO event_chunks (id, session_id, first_seq, page_ids, events)
                 VALUES (?1, ?2, 0, ?3, ?4)",
                rusqlite::params![id, session, pages(ids), events],
            )
            .unwrap();
        };
        chunk(
            1,
            7,
            &[1, 1],
            r#"[{"type":"pageview","ts":1000},{"type":"custom","ts":1500,"name":"$layout"}]"#,
        );
        chunk(
            2,
            7,
            &[2, 2],
            r#"[{"type":"pageview","ts":2000},{"type":"custom","ts":2500,"name":"purchase","props":{"revenue":12.5}}]"#,
        );
        chunk(3, 8, &[1], r#"[{"type":"pageview","ts":1000}]"#);
        for (id, chunks) in [(7i64, vec![1i64, 2]), (8, vec![3])] {
            conn.execute(
                "INSERT INTO sessions (id, site_id, source, sid, visitor, start_ms, end_ms,
                    page_count, event_count, channel, browser, os, device, is_bot,
                    rage_clicks, dead_clicks, error_pages, pages, chunks)
                 VALUES (?1, 1, 1, 's', 1, 1000, 2500, 2, 4, 'direct', 'b', 'o', 'desktop',
                    0, 0, 0, 0, x'', ?2)",
                rusqlite::params![id, crate::event::pack_ids(&chunks)],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let marks = |id: i64| -> String {
            conn.query_row("SELECT marks FROM sessions WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
        };
        let back = crate::event::unpack_marks(1000, &marks(7));
        assert_eq!(back.len(), 1, "trailmap's own $layout is not a mark");
        assert_eq!(
            (back[0].name.as_str(), back[0].after, back[0].ts),
            ("purchase", 2, 2500)
        );
        assert_eq!(back[0].revenue(), Some(12.5));
        assert_eq!(marks(8), "");
    }

    #[test]
    fn views_recorded_before_get_their_layouts_from_their_chunks() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 15).unwrap();
        conn.execute_batch(
            "INSERT INTO sites (id, name, created_ms) VALUES (1, 'shop', 0);
             INSERT INTO pages (id, site_id, path) VALUES (1, 1, '/'), (2, 1, '/cart');",
        )
        .unwrap();
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        let events = format!(
            r#"[{{"type":"pageview","ts":1000}},{{"type":"custom","ts":1100,"name":"$layout","props":{{"hash":"{a}"}}}},
               {{"type":"pageview","ts":2000}},{{"type":"custom","ts":2100,"name":"$layout","props":{{"hash":"{b}"}}}},
               {{"type":"custom","ts":2200,"name":"$layout","props":{{"hash":"not a hash"}}}}]"#
        );
        conn.execute(
            "INSERT INTO event_chunks (id, session_id, first_seq, page_ids, events)
             VALUES (1, 7, 0, ?1, ?2)",
            rusqlite::params![crate::event::pack_pages(&[1, 1, 2, 2, 2]), events],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sessions (id, site_id, source, sid, visitor, start_ms, end_ms,
                page_count, event_count, channel, browser, os, device, is_bot,
                rage_clicks, dead_clicks, error_pages, pages, chunks)
             VALUES (7, 1, 1, 's', 1, 1000, 2200, 2, 5, 'direct', 'b', 'o', 'desktop',
                0, 0, 0, 0, x'', ?1)",
            [crate::event::pack_ids(&[1])],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(i64, i64, i64, String)> = conn
            .prepare("SELECT session_id, view, page_id, hash FROM view_layouts ORDER BY view")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows, vec![(7, 0, 1, a), (7, 1, 2, b)]);
    }
}
