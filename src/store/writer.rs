//! The write side, as the pipeline drives it: one connection, one
//! transaction per group of batches, prepared statements reused across
//! groups. Nothing here decides anything; the pipeline says what to write.

use rusqlite::{params, Connection, Transaction};

use super::Result;
use crate::event::{pack_pages, Acquisition, ClientInfo, Event, Geo, SessionTotals, Source};

/// The pipeline's connection.
pub struct Writer {
    conn: Connection,
}

/// Who a new session belongs to and what is known about it at its start.
pub struct SessionOrigin<'a> {
    pub site_id: i64,
    pub source: Source,
    pub sid: &'a str,
    pub visitor: u64,
    pub acquisition: &'a Acquisition,
    pub client: &'a ClientInfo,
    pub geo: &'a Geo,
}

impl Writer {
    pub(super) fn new(conn: Connection) -> Writer {
        Writer { conn }
    }

    /// Starts a write transaction. SQLite's IMMEDIATE mode takes the write
    /// lock now, so an admin write cannot make the commit fail half-way.
    pub fn begin(&mut self) -> Result<WriteTxn<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Ok(WriteTxn { tx })
    }

    /// One past the largest session id stored.
    pub fn next_session_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT IFNULL(MAX(id), 0) + 1 FROM sessions", [], |r| {
                r.get(0)
            })?)
    }

    /// All interned pages: (site id, path, page id).
    pub fn pages(&self) -> Result<Vec<(i64, String, u32)>> {
        let mut stmt = self.conn.prepare("SELECT site_id, path, id FROM pages")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Sessions whose last event is at or after `since`: those a restarted
    /// pipeline may still continue.
    pub fn open_sessions(&self, since: i64) -> Result<Vec<StoredOpenSession>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, site_id, visitor, sid, start_ms, end_ms, event_count, pages,
                    rage_clicks, dead_clicks, error_pages, exit_page
             FROM sessions WHERE end_ms >= ?1",
        )?;
        let rows = stmt.query_map([since], |r| {
            let pages: Vec<u8> = r.get(7)?;
            Ok(StoredOpenSession {
                id: r.get(0)?,
                site_id: r.get(1)?,
                visitor: r.get::<_, i64>(2)? as u64,
                sid: r.get(3)?,
                totals: SessionTotals {
                    start: r.get(4)?,
                    end: r.get(5)?,
                    event_count: r.get(6)?,
                    pages: crate::event::unpack_pages(&pages),
                    rage_clicks: r.get(8)?,
                    dead_clicks: r.get(9)?,
                    error_pages: r.get(10)?,
                },
                current_page: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A session as stored, enough to continue it after a restart.
pub struct StoredOpenSession {
    pub id: i64,
    pub site_id: i64,
    pub visitor: u64,
    pub sid: String,
    pub totals: SessionTotals,
    pub current_page: Option<u32>,
}

/// One group commit.
pub struct WriteTxn<'c> {
    tx: Transaction<'c>,
}

impl WriteTxn<'_> {
    /// Adds a page path to the site's page table and returns its id.
    pub fn insert_page(&mut self, site_id: i64, path: &str) -> Result<u32> {
        let mut stmt = self
            .tx
            .prepare_cached("INSERT INTO pages (site_id, path) VALUES (?1, ?2)")?;
        stmt.execute(params![site_id, path])?;
        Ok(self.tx.last_insert_rowid() as u32)
    }

    /// Writes a new session with its first totals.
    pub fn insert_session(
        &mut self,
        id: i64,
        origin: &SessionOrigin<'_>,
        totals: &SessionTotals,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO sessions (
                id, site_id, source, sid, visitor, start_ms, end_ms, entry_page, exit_page,
                page_count, event_count, referrer, referrer_domain, channel,
                utm_source, utm_medium, utm_campaign, country, region, city,
                browser, os, device, is_bot, rage_clicks, dead_clicks, error_pages, pages)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
        )?;
        let (a, c, g) = (origin.acquisition, origin.client, origin.geo);
        stmt.execute(params![
            id,
            origin.site_id,
            origin.source.code(),
            origin.sid,
            origin.visitor as i64,
            totals.start,
            totals.end,
            totals.pages.first(),
            totals.pages.last(),
            totals.pages.len() as i64,
            totals.event_count,
            a.referrer,
            a.referrer_domain,
            a.channel.as_str(),
            a.utm_source,
            a.utm_medium,
            a.utm_campaign,
            g.country,
            g.region,
            g.city,
            c.browser,
            c.os,
            c.device.as_str(),
            c.is_bot,
            totals.rage_clicks,
            totals.dead_clicks,
            totals.error_pages,
            pack_pages(&totals.pages),
        ])?;
        Ok(())
    }

    /// Writes the new totals of a continued session.
    pub fn update_session(&mut self, id: i64, totals: &SessionTotals) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "UPDATE sessions SET start_ms = ?2, end_ms = ?3, entry_page = ?4, exit_page = ?5,
                page_count = ?6, event_count = ?7, rage_clicks = ?8, dead_clicks = ?9,
                error_pages = ?10, pages = ?11
             WHERE id = ?1",
        )?;
        stmt.execute(params![
            id,
            totals.start,
            totals.end,
            totals.pages.first(),
            totals.pages.last(),
            totals.pages.len() as i64,
            totals.event_count,
            totals.rage_clicks,
            totals.dead_clicks,
            totals.error_pages,
            pack_pages(&totals.pages),
        ])?;
        Ok(())
    }

    /// Appends one event to a session.
    pub fn insert_event(
        &mut self,
        session_id: i64,
        seq: u32,
        event: &Event,
        page_id: Option<u32>,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO events (session_id, seq, ts, kind, page_id, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let data = serde_json::to_string(&event.detail).expect("event detail serialises");
        stmt.execute(params![
            session_id,
            seq,
            event.ts,
            event.kind.code(),
            page_id,
            data
        ])?;
        Ok(())
    }

    /// Makes the group durable.
    pub fn commit(self) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }
}
