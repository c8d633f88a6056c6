//! Who is the visitor, and which session does an event belong to.
//!
//! Visitor ids are cookieless, as Plausible does it: a keyed hash (SipHash)
//! of the site, the client address and the user agent, keyed by a secret salt
//! that rotates every UTC day. The store keeps only today's and yesterday's
//! salts, so once a salt is deleted nobody, us included, can link a stored
//! visitor id back to an address. The address itself is never stored.
//!
//! A session is the 30-minute-inactivity unit: events of the same site,
//! visitor and tracker session id (`sid`; empty for access logs) belong to
//! the same session until a gap longer than the timeout. [`Sessionizer`]
//! holds the open sessions in memory and decides, event by event, whether to
//! continue one or start a new one. It does no I/O; the pipeline that owns
//! it writes what it decides.
//!
//! Memory is bounded whatever the traffic: past `max_open` sessions the least
//! recently active ones are closed ([`Sessionizer::close_over_cap`], once
//! they are written). A closed session leaves a compact trace (its id and
//! last event time, a few dozen bytes, itself capped) so that a visitor who
//! comes back within the inactivity window continues the same session: the
//! pipeline reads its state back from the store.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::RwLock;

use lru::LruCache;
use siphasher::sip::SipHasher13;

use crate::event::{Millis, SessionTotals};

pub(crate) const DAY_MS: Millis = 24 * 3600 * 1000;

/// The UTC day number of a time, the unit salts rotate by.
pub(crate) fn day_of(ts: Millis) -> i64 {
    ts.div_euclid(DAY_MS)
}

/// The salts in force: today's and, for sessions that cross midnight,
/// yesterday's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Salts {
    pub day: i64,
    pub current: [u8; 16],
    pub previous: Option<[u8; 16]>,
}

/// A visitor's id under today's salt and, if there is one, yesterday's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VisitorIds {
    pub current: u64,
    pub previous: Option<u64>,
}

/// Computes visitor ids; shared by every request handler, rotated daily.
#[derive(Debug)]
pub(crate) struct VisitorHasher {
    salts: RwLock<Salts>,
}

impl VisitorHasher {
    pub(crate) fn new(salts: Salts) -> VisitorHasher {
        VisitorHasher {
            salts: RwLock::new(salts),
        }
    }

    /// The day the installed salts belong to.
    pub(crate) fn day(&self) -> i64 {
        self.salts.read().unwrap_or_else(|e| e.into_inner()).day
    }

    /// Replaces the salts after a rotation.
    pub(crate) fn install(&self, salts: Salts) {
        *self.salts.write().unwrap_or_else(|e| e.into_inner()) = salts;
    }

    pub(crate) fn visitor_ids(&self, site_id: i64, ip: IpAddr, user_agent: &str) -> VisitorIds {
        let salts = self.salts.read().unwrap_or_else(|e| e.into_inner());
        VisitorIds {
            current: keyed_hash(&salts.current, site_id, ip, user_agent),
            previous: salts
                .previous
                .map(|salt| keyed_hash(&salt, site_id, ip, user_agent)),
        }
    }
}

fn keyed_hash(salt: &[u8; 16], site_id: i64, ip: IpAddr, user_agent: &str) -> u64 {
    let mut h = SipHasher13::new_with_key(salt);
    h.write(&site_id.to_le_bytes());
    match ip {
        // Map v4 into v6 so a dual-stack client hashes the same either way.
        IpAddr::V4(v4) => h.write(&v4.to_ipv6_mapped().octets()),
        IpAddr::V6(v6) => h.write(&v6.octets()),
    }
    h.write(user_agent.as_bytes());
    h.finish()
}

/// Identifies an open session. `sid` is empty for sources without one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SessionKey {
    pub site_id: i64,
    pub visitor: u64,
    pub sid: Box<str>,
}

/// An open session: its id, its running totals, and the page the visitor
/// is on (where events without a URL happened).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpenSession {
    pub id: i64,
    pub totals: SessionTotals,
    pub current_page: Option<u32>,
    /// Not yet written: the next flush inserts rather than updates it.
    pub is_new: bool,
    /// Changed since the last flush.
    dirty: bool,
    /// The memory this session was counted for at its last flush.
    counted: usize,
}

/// About what an open session takes in memory: its entry in the map and
/// the heap behind its key and totals (they grow with its page views).
fn memory_of(key: &SessionKey, s: &OpenSession) -> usize {
    /// The LRU map's node and hash slot, beyond key and value.
    const MAP_OVERHEAD: usize = 64;
    let t = &s.totals;
    std::mem::size_of::<SessionKey>()
        + std::mem::size_of::<OpenSession>()
        + MAP_OVERHEAD
        + key.sid.len()
        + t.pages.capacity() * std::mem::size_of::<u32>()
        + t.page_times.capacity() * std::mem::size_of::<Millis>()
        + t.page_signals.capacity() * std::mem::size_of::<crate::event::PageSignals>()
        + t.chunk_ids.capacity() * std::mem::size_of::<i64>()
}

impl OpenSession {
    pub(crate) fn new(id: i64, start: Millis) -> OpenSession {
        OpenSession {
            id,
            totals: SessionTotals::starting_at(start),
            current_page: None,
            is_new: true,
            dirty: false,
            counted: 0,
        }
    }

    /// A session read back from the store, to continue after a restart.
    pub(crate) fn stored(id: i64, totals: SessionTotals, current_page: Option<u32>) -> OpenSession {
        OpenSession {
            id,
            totals,
            current_page,
            is_new: false,
            dirty: false,
            counted: 0,
        }
    }
}

/// The open sessions and the inactivity rule.
///
/// Sessions change in memory as events are placed; [`Sessionizer::flush`]
/// hands every session changed since the last flush to a writer, including
/// sessions that an inactivity gap closed in the meantime.
pub(crate) struct Sessionizer {
    timeout_ms: Millis,
    next_id: i64,
    /// Open sessions, least recently active first. Unbounded as a cache:
    /// [`Sessionizer::close_over_cap`] enforces `max_open` between groups,
    /// when every session is written (a dirty one cannot be dropped).
    /// Looked up for every event: a fast hasher, keyed per process
    /// (session ids are the client's to choose).
    open: LruCache<SessionKey, OpenSession, foldhash::fast::RandomState>,
    max_open: usize,
    /// What the open sessions take (see [`memory_of`]), as of their last
    /// flush, and the most they may take between groups.
    memory: usize,
    max_memory: usize,
    /// Sessions closed to make room, by a keyed hash of their key: enough to
    /// continue them if their visitor comes back in time.
    closed: LruCache<u64, ClosedSession, rustc_hash::FxBuildHasher>,
    /// Keys the `closed` map by; random per process, so that nobody can
    /// choose session ids that collide with another visitor's.
    key_hasher: std::collections::hash_map::RandomState,
    /// Keys of open sessions changed since the last flush.
    dirty: Vec<SessionKey>,
    /// Changed sessions that a gap closed before they were flushed.
    retired: Vec<OpenSession>,
}

/// What is kept of a session closed to make room: 24 bytes.
#[derive(Debug, Clone, Copy)]
struct ClosedSession {
    id: i64,
    start: Millis,
    end: Millis,
}

/// Compact traces of closed sessions kept per open session allowed: they
/// are ~40 times smaller, so this costs a tenth of the open sessions' memory.
const CLOSED_PER_OPEN: usize = 4;

impl std::fmt::Debug for Sessionizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessionizer")
            .field("open", &self.open.len())
            .field("max_open", &self.max_open)
            .field("closed", &self.closed.len())
            .finish_non_exhaustive()
    }
}

impl Sessionizer {
    /// `next_id` is one past the largest session id already stored;
    /// `max_open` is how many sessions stay in memory between groups.
    #[cfg(test)]
    pub(crate) fn new(timeout_ms: Millis, next_id: i64, max_open: usize) -> Sessionizer {
        Self::with_memory(timeout_ms, next_id, max_open, usize::MAX)
    }

    /// Like [`Sessionizer::new`], also closing sessions while they take more
    /// than `max_memory` bytes (long sessions are larger).
    pub(crate) fn with_memory(
        timeout_ms: Millis,
        next_id: i64,
        max_open: usize,
        max_memory: usize,
    ) -> Sessionizer {
        let max_open = max_open.max(1);
        let closed_cap = NonZeroUsize::new(max_open.saturating_mul(CLOSED_PER_OPEN))
            .expect("max_open is at least 1");
        Sessionizer {
            timeout_ms,
            next_id,
            open: LruCache::unbounded_with_hasher(foldhash::fast::RandomState::default()),
            max_open,
            memory: 0,
            max_memory,
            // Its keys are keyed hashes already.
            closed: LruCache::with_hasher(closed_cap, rustc_hash::FxBuildHasher),
            key_hasher: std::collections::hash_map::RandomState::new(),
            dirty: Vec::new(),
            retired: Vec::new(),
        }
    }

    /// Restores a session that was open when the process stopped, or one
    /// closed to make room whose visitor came back.
    pub(crate) fn restore(&mut self, key: SessionKey, mut session: OpenSession) {
        self.next_id = self.next_id.max(session.id + 1);
        session.counted = memory_of(&key, &session);
        self.memory += session.counted;
        if let Some(old) = self.open.put(key, session) {
            self.memory -= old.counted;
        }
    }

    fn closed_key(&self, key: &SessionKey) -> u64 {
        self.key_hasher.hash_one(key)
    }

    /// The id of a session closed to make room that an event at `ts` of
    /// this key would continue, if any; it is forgotten here, and the caller
    /// reads its state from the store and [`Sessionizer::restore`]s it.
    pub(crate) fn reopen(&mut self, key: &SessionKey, ts: Millis) -> Option<i64> {
        if self.open.contains(key) || self.closed.is_empty() {
            return None;
        }
        let hashed = self.closed_key(key);
        let c = self.closed.peek(&hashed)?;
        let continues = ts - c.end <= self.timeout_ms && c.start - ts <= self.timeout_ms;
        let id = c.id;
        self.closed.pop(&hashed);
        continues.then_some(id)
    }

    /// Closes the least recently active sessions past `max_open`. Call it
    /// after a flush: only written sessions are closed (nothing is lost, they
    /// are in the store). Returns how many were closed.
    pub(crate) fn close_over_cap(&mut self) -> usize {
        let mut n = 0;
        while self.open.len() > self.max_open || self.memory > self.max_memory {
            match self.open.peek_lru() {
                Some((_, s)) if !s.dirty => {}
                _ => break,
            }
            let Some((key, s)) = self.open.pop_lru() else {
                break;
            };
            self.memory -= s.counted;
            let hashed = self.closed_key(&key);
            self.closed.put(
                hashed,
                ClosedSession {
                    id: s.id,
                    start: s.totals.start,
                    end: s.totals.end,
                },
            );
            n += 1;
        }
        n
    }

    pub(crate) fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Makes new sessions take ids from `next_free` on (if it is past the
    /// counter). Another process (an import beside a server) may have stored
    /// sessions since this one loaded, so the writer passes one past the
    /// largest id stored, read under the write lock, before placing events.
    pub(crate) fn skip_ids_below(&mut self, next_free: i64) {
        self.next_id = self.next_id.max(next_free);
    }

    /// The session an event at `ts` of this visitor belongs to: the open one
    /// if the event falls within the inactivity window (before or after its
    /// events: logs arrive out of order), else a new one. A session found
    /// under yesterday's visitor id (the salt rotated mid-session) is
    /// re-keyed to today's and continues. The caller records the event in
    /// the returned session's totals.
    pub(crate) fn place(
        &mut self,
        key: &SessionKey,
        previous: Option<u64>,
        ts: Millis,
    ) -> &mut OpenSession {
        if let Some(prev) = previous.filter(|_| !self.open.contains(key)) {
            let old = SessionKey {
                visitor: prev,
                ..key.clone()
            };
            if let Some(s) = self.open.pop(&old) {
                if s.dirty {
                    // Its dirty entry names the old key, which now finds
                    // nothing; flush it under the new one.
                    self.dirty.push(key.clone());
                }
                self.open.put(key.clone(), s);
            }
        }
        let timeout = self.timeout_ms;
        // `get_mut` marks the session recently used when it continues.
        let continues = self
            .open
            .get_mut(key)
            .is_some_and(|s| ts - s.totals.end <= timeout && s.totals.start - ts <= timeout);
        if !continues {
            let id = self.next_id;
            self.next_id += 1;
            if let Some(old) = self.open.put(key.clone(), OpenSession::new(id, ts)) {
                self.memory -= old.counted;
                if old.dirty {
                    self.retired.push(old);
                }
            }
        }
        let session = self
            .open
            .peek_mut(key)
            .expect("present: continued or inserted");
        if !session.dirty {
            session.dirty = true;
            self.dirty.push(key.clone());
        }
        // Widen now so the next event of this batch sees the window.
        session.totals.end = session.totals.end.max(ts);
        session.totals.start = session.totals.start.min(ts);
        session
    }

    /// Hands every session changed since the last flush to `write` (which
    /// may complete its totals before writing them), then marks them clean
    /// (and no longer new). If writing fails, the caller
    /// must rebuild the sessionizer from the store, which is the truth.
    pub(crate) fn flush<E>(
        &mut self,
        mut write: impl FnMut(&mut OpenSession) -> Result<(), E>,
    ) -> Result<(), E> {
        for mut s in self.retired.drain(..) {
            write(&mut s)?;
        }
        // A key may be listed twice (its session was replaced by a new one
        // after a gap); the first visit cleans it, the second skips it.
        for key in self.dirty.drain(..) {
            if let Some(s) = self.open.peek_mut(&key).filter(|s| s.dirty) {
                write(s)?;
                s.dirty = false;
                s.is_new = false;
                let now = memory_of(&key, s);
                self.memory = self.memory + now - s.counted;
                s.counted = now;
            }
        }
        Ok(())
    }

    /// Forgets sessions idle for longer than the timeout as of `now`; they
    /// can no longer be continued, so keeping them only costs memory.
    /// Sessions not yet flushed are kept.
    pub(crate) fn close_idle(&mut self, now: Millis) -> usize {
        let timeout = self.timeout_ms;
        let idle: Vec<SessionKey> = self
            .open
            .iter()
            .filter(|(_, s)| !s.dirty && now - s.totals.end > timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &idle {
            if let Some(s) = self.open.pop(key) {
                self.memory -= s.counted;
            }
        }
        let gone: Vec<u64> = self
            .closed
            .iter()
            .filter(|(_, c)| now - c.end > timeout)
            .map(|(k, _)| *k)
            .collect();
        for key in gone {
            self.closed.pop(&key);
        }
        idle.len()
    }

    /// What the open sessions take in memory, as of their last flush.
    #[cfg(test)]
    pub(crate) fn memory(&self) -> usize {
        self.memory
    }

    /// Compact traces of closed sessions held (see [`Sessionizer::reopen`]).
    #[cfg(test)]
    pub(crate) fn closed_count(&self) -> usize {
        self.closed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    fn ids(current: u64, previous: Option<u64>) -> VisitorIds {
        VisitorIds { current, previous }
    }

    fn place<'a>(
        s: &'a mut Sessionizer,
        site_id: i64,
        visitor: VisitorIds,
        sid: &str,
        ts: Millis,
    ) -> &'a mut OpenSession {
        let key = SessionKey {
            site_id,
            visitor: visitor.current,
            sid: sid.into(),
        };
        s.place(&key, visitor.previous, ts)
    }

    #[test]
    fn visitor_ids_depend_on_salt_site_ip_and_agent() {
        let salts = Salts {
            day: 1,
            current: [1; 16],
            previous: Some([2; 16]),
        };
        let h = VisitorHasher::new(salts.clone());
        let ip: IpAddr = "81.2.69.142".parse().unwrap();
        let a = h.visitor_ids(1, ip, "UA");
        assert_eq!(a, h.visitor_ids(1, ip, "UA"), "stable within a day");
        assert_ne!(a.current, h.visitor_ids(2, ip, "UA").current, "per site");
        assert_ne!(a.current, h.visitor_ids(1, ip, "UA2").current, "per agent");
        let other: IpAddr = "81.2.69.143".parse().unwrap();
        assert_ne!(
            a.current,
            h.visitor_ids(1, other, "UA").current,
            "per address"
        );
        // After rotation yesterday's id is today's "previous".
        h.install(Salts {
            day: 2,
            current: [3; 16],
            previous: Some([1; 16]),
        });
        let b = h.visitor_ids(1, ip, "UA");
        assert_eq!(b.previous, Some(a.current));
        assert_ne!(b.current, a.current);
        let mapped: IpAddr = "::ffff:81.2.69.142".parse().unwrap();
        assert_eq!(b, h.visitor_ids(1, mapped, "UA"), "v4 and mapped v6 agree");
    }

    fn placed(s: &mut Sessionizer, site: i64, v: VisitorIds, sid: &str, ts: Millis) -> i64 {
        place(s, site, v, sid, ts).id
    }

    #[test]
    fn inactivity_cuts_sessions() {
        let mut s = Sessionizer::new(30 * MIN, 10, 1000);
        let v = ids(7, None);
        assert_eq!(placed(&mut s, 1, v, "t", 0), 10);
        assert_eq!(placed(&mut s, 1, v, "t", 29 * MIN), 10);
        assert_eq!(
            placed(&mut s, 1, v, "t", 59 * MIN),
            10,
            "gap measured from the last event"
        );
        assert_eq!(placed(&mut s, 1, v, "t", 90 * MIN), 11);
        assert_eq!(placed(&mut s, 1, v, "other-tab", 90 * MIN), 12);
        assert_eq!(
            placed(&mut s, 2, v, "t", 90 * MIN),
            13,
            "sites are separate"
        );
    }

    #[test]
    fn flush_writes_each_changed_session_once_including_retired_ones() {
        let mut s = Sessionizer::new(30 * MIN, 1, 1000);
        let v = ids(7, None);
        place(&mut s, 1, v, "t", 0).totals.event_count += 1;
        place(&mut s, 1, v, "t", MIN).totals.event_count += 1;
        // A gap inside the same batch closes session 1 before it is flushed.
        place(&mut s, 1, v, "t", 60 * MIN).totals.event_count += 1;
        let mut written = vec![];
        s.flush(|o| {
            written.push((o.id, o.is_new, o.totals.event_count));
            Ok::<_, ()>(())
        })
        .unwrap();
        written.sort();
        assert_eq!(written, vec![(1, true, 2), (2, true, 1)]);
        let mut again = vec![];
        s.flush(|o| {
            again.push(o.id);
            Ok::<_, ()>(())
        })
        .unwrap();
        assert!(again.is_empty(), "nothing changed since");
        let cont = place(&mut s, 1, v, "t", 61 * MIN);
        assert_eq!((cont.id, cont.is_new), (2, false));
    }

    #[test]
    fn out_of_order_events_within_the_window_join_the_session() {
        let mut s = Sessionizer::new(30 * MIN, 1, 1000);
        let v = ids(7, None);
        place(&mut s, 1, v, "", 10 * MIN);
        let open = place(&mut s, 1, v, "", 5 * MIN);
        assert_eq!(open.id, 1);
        assert_eq!((open.totals.start, open.totals.end), (5 * MIN, 10 * MIN));
    }

    #[test]
    fn sessions_survive_salt_rotation() {
        let mut s = Sessionizer::new(30 * MIN, 1, 1000);
        place(&mut s, 1, ids(7, None), "t", 0);
        assert_eq!(placed(&mut s, 1, ids(8, Some(7)), "t", MIN), 1);
        assert_eq!(
            placed(&mut s, 1, ids(8, None), "t", 2 * MIN),
            1,
            "now keyed by today's id"
        );
        assert_eq!(s.open_count(), 1);
    }

    #[test]
    fn idle_sessions_are_closed_and_restore_advances_ids() {
        let mut s = Sessionizer::new(30 * MIN, 1, 1000);
        place(&mut s, 1, ids(1, None), "", 0);
        place(&mut s, 1, ids(2, None), "", 20 * MIN);
        assert_eq!(s.close_idle(40 * MIN), 0, "unflushed sessions are kept");
        s.flush(|_| Ok::<_, ()>(())).unwrap();
        assert_eq!(s.close_idle(40 * MIN), 1);
        assert_eq!(s.open_count(), 1);
        let key = SessionKey {
            site_id: 1,
            visitor: 3,
            sid: "".into(),
        };
        s.restore(
            key,
            OpenSession::stored(99, SessionTotals::starting_at(0), None),
        );
        assert_eq!(placed(&mut s, 1, ids(4, None), "", 0), 100);
    }

    #[test]
    fn past_the_cap_the_least_recently_active_close_and_can_reopen() {
        let mut s = Sessionizer::new(30 * MIN, 1, 2);
        for v in 1..=3 {
            place(&mut s, 1, ids(v, None), "t", v as Millis * MIN);
        }
        // Touch visitor 1 again: visitor 2 is now the least recently active.
        place(&mut s, 1, ids(1, None), "t", 4 * MIN);
        assert_eq!(s.close_over_cap(), 0, "dirty sessions are never closed");
        s.flush(|_| Ok::<_, ()>(())).unwrap();
        assert_eq!(s.close_over_cap(), 1);
        assert_eq!((s.open_count(), s.closed_count()), (2, 1));
        let key = |v| SessionKey {
            site_id: 1,
            visitor: v,
            sid: "t".into(),
        };
        assert_eq!(s.reopen(&key(1), 5 * MIN), None, "still open");
        assert_eq!(s.reopen(&key(2), 5 * MIN), Some(2), "closed: reopened");
        assert_eq!(s.reopen(&key(2), 5 * MIN), None, "handed out once");
        // Out of its window, a closed session is not reopened.
        place(&mut s, 1, ids(9, None), "t", 10 * MIN);
        s.flush(|_| Ok::<_, ()>(())).unwrap();
        s.close_over_cap();
        assert_eq!(s.closed.peek_lru().map(|(_, c)| c.id), Some(3));
        assert_eq!(s.closed_count(), 1);
        assert_eq!(s.close_idle(120 * MIN), 2, "idle open sessions go");
        assert_eq!(s.closed_count(), 0, "and so do stale traces");
        // A trace out of its window is not reopened.
        place(&mut s, 1, ids(5, None), "t", 0);
        place(&mut s, 1, ids(6, None), "t", 0);
        place(&mut s, 1, ids(7, None), "t", 0);
        s.flush(|_| Ok::<_, ()>(())).unwrap();
        s.close_over_cap();
        assert_eq!(s.reopen(&key(5), 60 * MIN), None);
    }

    #[test]
    fn past_the_memory_budget_sessions_close_too() {
        let mut s = Sessionizer::with_memory(30 * MIN, 1, 1000, 4096);
        for v in 1..=100 {
            let open = place(&mut s, 1, ids(v, None), "t", 0);
            open.totals.pages.extend([1; 16]);
        }
        s.flush(|_| Ok::<_, ()>(())).unwrap();
        assert!(s.memory() > 4096);
        let closed = s.close_over_cap();
        assert!(closed > 50, "{closed}");
        assert!(s.memory() <= 4096, "{}", s.memory());
        assert_eq!(s.open_count() + closed, 100);
    }
}
