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

use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::RwLock;

use rustc_hash::FxHashMap as HashMap;
use siphasher::sip::SipHasher13;

use crate::event::{Millis, SessionTotals};

pub const DAY_MS: Millis = 24 * 3600 * 1000;

/// The UTC day number of a time, the unit salts rotate by.
pub fn day_of(ts: Millis) -> i64 {
    ts.div_euclid(DAY_MS)
}

/// The salts in force: today's and, for sessions that cross midnight,
/// yesterday's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salts {
    pub day: i64,
    pub current: [u8; 16],
    pub previous: Option<[u8; 16]>,
}

/// A visitor's id under today's salt and, if there is one, yesterday's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitorIds {
    pub current: u64,
    pub previous: Option<u64>,
}

/// Computes visitor ids; shared by every request handler, rotated daily.
#[derive(Debug)]
pub struct VisitorHasher {
    salts: RwLock<Salts>,
}

impl VisitorHasher {
    pub fn new(salts: Salts) -> VisitorHasher {
        VisitorHasher {
            salts: RwLock::new(salts),
        }
    }

    /// The day the installed salts belong to.
    pub fn day(&self) -> i64 {
        self.salts.read().unwrap_or_else(|e| e.into_inner()).day
    }

    /// Replaces the salts after a rotation.
    pub fn install(&self, salts: Salts) {
        *self.salts.write().unwrap_or_else(|e| e.into_inner()) = salts;
    }

    pub fn visitor_ids(&self, site_id: i64, ip: IpAddr, user_agent: &str) -> VisitorIds {
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
pub struct SessionKey {
    pub site_id: i64,
    pub visitor: u64,
    pub sid: Box<str>,
}

/// An open session: its id, its running totals, and the page the visitor
/// is on (where events without a URL happened).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenSession {
    pub id: i64,
    pub totals: SessionTotals,
    pub current_page: Option<u32>,
    /// Not yet written: the next flush inserts rather than updates it.
    pub is_new: bool,
    /// Changed since the last flush.
    dirty: bool,
}

impl OpenSession {
    pub fn new(id: i64, start: Millis) -> OpenSession {
        OpenSession {
            id,
            totals: SessionTotals::starting_at(start),
            current_page: None,
            is_new: true,
            dirty: false,
        }
    }

    /// A session read back from the store, to continue after a restart.
    pub fn stored(id: i64, totals: SessionTotals, current_page: Option<u32>) -> OpenSession {
        OpenSession {
            id,
            totals,
            current_page,
            is_new: false,
            dirty: false,
        }
    }
}

/// The open sessions and the inactivity rule.
///
/// Sessions change in memory as events are placed; [`Sessionizer::flush`]
/// hands every session changed since the last flush to a writer, including
/// sessions that an inactivity gap closed in the meantime.
#[derive(Debug)]
pub struct Sessionizer {
    timeout_ms: Millis,
    next_id: i64,
    open: HashMap<SessionKey, OpenSession>,
    /// Keys of open sessions changed since the last flush.
    dirty: Vec<SessionKey>,
    /// Changed sessions that a gap closed before they were flushed.
    retired: Vec<OpenSession>,
}

impl Sessionizer {
    /// `next_id` is one past the largest session id already stored.
    pub fn new(timeout_ms: Millis, next_id: i64) -> Sessionizer {
        Sessionizer {
            timeout_ms,
            next_id,
            open: HashMap::default(),
            dirty: Vec::new(),
            retired: Vec::new(),
        }
    }

    /// Restores a session that was open when the process stopped.
    pub fn restore(&mut self, key: SessionKey, session: OpenSession) {
        self.next_id = self.next_id.max(session.id + 1);
        self.open.insert(key, session);
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Makes new sessions take ids from `next_free` on (if it is past the
    /// counter). Another process (an import beside a server) may have stored
    /// sessions since this one loaded, so the writer passes one past the
    /// largest id stored, read under the write lock, before placing events.
    pub fn skip_ids_below(&mut self, next_free: i64) {
        self.next_id = self.next_id.max(next_free);
    }

    /// The session an event at `ts` of this visitor belongs to: the open one
    /// if the event falls within the inactivity window (before or after its
    /// events: logs arrive out of order), else a new one. A session found
    /// under yesterday's visitor id (the salt rotated mid-session) is
    /// re-keyed to today's and continues. The caller records the event in
    /// the returned session's totals.
    pub fn place(
        &mut self,
        site_id: i64,
        visitor: VisitorIds,
        sid: &str,
        ts: Millis,
    ) -> &mut OpenSession {
        let key = SessionKey {
            site_id,
            visitor: visitor.current,
            sid: sid.into(),
        };
        if let (false, Some(prev)) = (self.open.contains_key(&key), visitor.previous) {
            let old = SessionKey {
                visitor: prev,
                ..key.clone()
            };
            if let Some(s) = self.open.remove(&old) {
                if s.dirty {
                    // Its dirty entry names the old key, which now finds
                    // nothing; flush it under the new one.
                    self.dirty.push(key.clone());
                }
                self.open.insert(key.clone(), s);
            }
        }
        let continues = self.open.get(&key).is_some_and(|s| {
            ts - s.totals.end <= self.timeout_ms && s.totals.start - ts <= self.timeout_ms
        });
        if !continues {
            let id = self.next_id;
            self.next_id += 1;
            if let Some(old) = self.open.insert(key.clone(), OpenSession::new(id, ts)) {
                if old.dirty {
                    self.retired.push(old);
                }
            }
        }
        let session = self
            .open
            .get_mut(&key)
            .expect("present: continued or inserted");
        if !session.dirty {
            session.dirty = true;
            self.dirty.push(key);
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
    pub fn flush<E>(
        &mut self,
        mut write: impl FnMut(&mut OpenSession) -> Result<(), E>,
    ) -> Result<(), E> {
        for mut s in self.retired.drain(..) {
            write(&mut s)?;
        }
        // A key may be listed twice (its session was replaced by a new one
        // after a gap); the first visit cleans it, the second skips it.
        for key in self.dirty.drain(..) {
            if let Some(s) = self.open.get_mut(&key).filter(|s| s.dirty) {
                write(s)?;
                s.dirty = false;
                s.is_new = false;
            }
        }
        Ok(())
    }

    /// Forgets sessions idle for longer than the timeout as of `now`; they
    /// can no longer be continued, so keeping them only costs memory.
    /// Sessions not yet flushed are kept.
    pub fn close_idle(&mut self, now: Millis) -> usize {
        let before = self.open.len();
        let timeout = self.timeout_ms;
        self.open
            .retain(|_, s| s.dirty || now - s.totals.end <= timeout);
        before - self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    fn ids(current: u64, previous: Option<u64>) -> VisitorIds {
        VisitorIds { current, previous }
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
        s.place(site, v, sid, ts).id
    }

    #[test]
    fn inactivity_cuts_sessions() {
        let mut s = Sessionizer::new(30 * MIN, 10);
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
        let mut s = Sessionizer::new(30 * MIN, 1);
        let v = ids(7, None);
        s.place(1, v, "t", 0).totals.event_count += 1;
        s.place(1, v, "t", MIN).totals.event_count += 1;
        // A gap inside the same batch closes session 1 before it is flushed.
        s.place(1, v, "t", 60 * MIN).totals.event_count += 1;
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
        let cont = s.place(1, v, "t", 61 * MIN);
        assert_eq!((cont.id, cont.is_new), (2, false));
    }

    #[test]
    fn out_of_order_events_within_the_window_join_the_session() {
        let mut s = Sessionizer::new(30 * MIN, 1);
        let v = ids(7, None);
        s.place(1, v, "", 10 * MIN);
        let open = s.place(1, v, "", 5 * MIN);
        assert_eq!(open.id, 1);
        assert_eq!((open.totals.start, open.totals.end), (5 * MIN, 10 * MIN));
    }

    #[test]
    fn sessions_survive_salt_rotation() {
        let mut s = Sessionizer::new(30 * MIN, 1);
        s.place(1, ids(7, None), "t", 0);
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
        let mut s = Sessionizer::new(30 * MIN, 1);
        s.place(1, ids(1, None), "", 0);
        s.place(1, ids(2, None), "", 20 * MIN);
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
}
