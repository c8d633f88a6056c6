//! The read engine: every site's journeys held in memory as flat columns
//! ([`site::SiteJourneys`]), shared by all requests, so that a report
//! selects and cleans its sessions from memory instead of reading (and
//! decoding, and allocating) every SQLite row of the site again.
//!
//! SQLite stays the truth. The engine is a derived read model that follows
//! the store's change sequence, as the search index does: it loads every
//! session once (the first report after a start), then before each answer
//! takes what changed since its watermark, so an event committed before a
//! request is in its answer. Nothing here is written to disk yet: a
//! restarted server (or each CLI command) loads again.
//!
//! Reports reach the engine through [`Engine::journeys`]; they never read
//! session rows themselves. A second backend (ClickHouse) will sit behind
//! the same call.

pub(crate) mod site;
#[cfg(test)]
mod tests;

use crate::mine::{Journeys, PageId};
use crate::store::{self, journeys as rows, Store};
use rustc_hash::FxHashMap;
use site::{SiteJourneys, Wanted};
use std::sync::{Mutex, RwLock};

/// Every site's journeys and the change they are current as of.
#[derive(Debug, Default)]
pub(crate) struct Engine {
    state: RwLock<State>,
    /// Held by the one request catching up, so that two do not read the
    /// same changes twice.
    catching_up: Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    /// The last change applied.
    watermark: i64,
    /// By site id: the site's creation time (a removed site's id can be
    /// given to a new one) and its journeys.
    sites: FxHashMap<i64, (i64, SiteJourneys)>,
}

impl Engine {
    pub(crate) fn new() -> Engine {
        Engine::default()
    }

    /// Applies what the store committed since the last call.
    fn catch_up(&self, store: &Store) -> store::Result<()> {
        let _one = self.catching_up.lock().unwrap_or_else(|e| e.into_inner());
        let conn = store.read()?;
        let upto = rows::watermark(&conn)?;
        // Sessions of a removed site are deleted with it, without a change
        // to follow: drop what is held for sites that are gone.
        let live = rows::sites(&conn)?;
        let is_live = |id: &i64, created: i64| live.binary_search(&(*id, created)).is_ok();
        let (after, stale) = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            let stale = state.sites.iter().any(|(id, (c, _))| !is_live(id, *c));
            (state.watermark, stale)
        };
        if upto <= after && !stale {
            return Ok(());
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.sites.retain(|id, (c, _)| is_live(id, *c));
        let sites = &mut state.sites;
        rows::each_changed(&conn, after, upto, |row| {
            let created = live
                .binary_search_by_key(&row.site_id, |(id, _)| *id)
                .map_or(0, |k| live[k].1);
            sites
                .entry(row.site_id)
                .or_insert_with(|| (created, SiteJourneys::default()))
                .1
                .apply(&row);
        })?;
        state.watermark = upto;
        Ok(())
    }

    /// The journeys of `site_id` that `wanted` admits, cleaned through
    /// `clean` (indexed by raw page id) and, with `collapse`, with repeats
    /// merged; current as of this call.
    pub(crate) fn journeys(
        &self,
        store: &Store,
        site_id: i64,
        wanted: &Wanted<'_>,
        clean: &[PageId],
        collapse: bool,
    ) -> store::Result<Journeys> {
        self.catch_up(store)?;
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        Ok(match state.sites.get(&site_id) {
            Some((_, site)) => site.journeys(&site.selector(wanted), clean, collapse),
            None => Journeys::default(),
        })
    }
}
