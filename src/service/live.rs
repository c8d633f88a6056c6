//! Now: who is on a site in the last minutes, on which pages, and the page
//! views and conversions as they come (the dashboards' realtime view); and
//! the install check (does the site receive anything, since when).
//!
//! Pages are cleaned by the site's rules like in every report; a page view
//! is a conversion when its cleaned path matches one of the site's goal
//! patterns (the stage settings' goals), as in the stages report.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::analysis::stored_cleaner;
use super::error::{Result, ServiceError};
use super::{find_site, Service};
use crate::event::Millis;
use crate::store::{live, read, sites};

/// The window of the realtime view, in minutes.
pub(crate) const MINUTES: std::ops::RangeInclusive<u32> = 1..=60;
/// Page views the realtime feed lists.
const FEED: usize = 50;

/// Whether and since when a site receives events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct InstallView {
    pub site: String,
    pub origins: Vec<String>,
    #[serde(serialize_with = "super::request::serialize_iso_opt")]
    pub first_event: Option<Millis>,
    #[serde(serialize_with = "super::request::serialize_iso_opt")]
    pub last_event: Option<Millis>,
    /// Counted up to 10,000 (then `more`).
    pub sessions: u64,
    pub tracker_sessions: u64,
    pub more: bool,
    /// Each origin with when the collector first took an event from it.
    pub origin_events: Vec<OriginEvent>,
}

/// An origin of a site and its first event through the collector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct OriginEvent {
    pub origin: String,
    #[serde(serialize_with = "super::request::serialize_iso_opt")]
    pub first_event: Option<Millis>,
}

/// One page view of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FeedItem {
    #[serde(serialize_with = "super::request::serialize_iso")]
    pub ts: Millis,
    /// `pageview`, or `goal` for a conversion.
    pub kind: &'static str,
    pub page: String,
    pub session: i64,
    pub device: String,
    pub country: Option<String>,
    pub channel: String,
}

/// Sessions per current page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CurrentPage {
    pub page: String,
    pub sessions: usize,
}

/// The last minutes of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RealtimeView {
    pub minutes: u32,
    #[serde(serialize_with = "super::request::serialize_iso")]
    pub now: Millis,
    pub visitors: usize,
    pub sessions: usize,
    pub pages: Vec<CurrentPage>,
    pub feed: Vec<FeedItem>,
}

impl Service {
    /// The install check of `site`.
    pub(crate) fn install(&self, site: &str) -> Result<InstallView> {
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        let f = live::install_facts(&conn, s.id)?;
        Ok(InstallView {
            site: s.name,
            origins: s.origins,
            first_event: f.first_ms,
            last_event: f.last_ms,
            sessions: f.sessions,
            tracker_sessions: f.tracker_sessions,
            more: f.more,
            origin_events: sites::origin_first_events(&conn, s.id)?
                .into_iter()
                .map(|(origin, first_event)| OriginEvent {
                    origin,
                    first_event,
                })
                .collect(),
        })
    }

    /// The last `minutes` of `site` as of `now`.
    pub(crate) fn realtime(
        &self,
        site: &str,
        minutes: u32,
        include_bots: bool,
        now: Millis,
    ) -> Result<RealtimeView> {
        if !MINUTES.contains(&minutes) {
            return Err(ServiceError::invalid(format!(
                "minutes: {minutes} is out of range (1 to 60)"
            )));
        }
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        let cleaner = stored_cleaner(&s.name, &sites::page_rules(&conn, s.id)?)?;
        let goals: Vec<regex::Regex> = sites::journey_settings(&conn, s.id)?
            .goals
            .iter()
            .filter_map(|g| match super::conversions::TargetSpec::parse(g) {
                Ok(super::conversions::TargetSpec::Page(p)) => regex::Regex::new(&p).ok(),
                _ => None,
            })
            .collect();
        let since = now - i64::from(minutes) * 60_000;
        let active = live::live_sessions(&conn, s.id, since, include_bots)?;

        let mut paths: HashMap<u32, String> = HashMap::new();
        let mut page = |id: u32| -> Result<String> {
            if let Some(p) = paths.get(&id) {
                return Ok(p.clone());
            }
            let p = cleaner.clean(&read::page_path(&conn, id)?);
            paths.insert(id, p.clone());
            Ok(p)
        };
        let mut current: HashMap<String, usize> = HashMap::new();
        let mut feed = Vec::new();
        for session in &active {
            if let Some(&(last, _)) = session.views.last() {
                *current.entry(page(last)?).or_default() += 1;
            }
            for &(id, ts) in session.views.iter().filter(|(_, ts)| *ts >= since) {
                let path = page(id)?;
                feed.push(FeedItem {
                    ts,
                    kind: if goals.iter().any(|g| g.is_match(&path)) {
                        "goal"
                    } else {
                        "pageview"
                    },
                    page: path,
                    session: session.id,
                    device: session.device.clone(),
                    country: session.country.clone(),
                    channel: session.channel.clone(),
                });
            }
        }
        feed.sort_by(|a, b| b.ts.cmp(&a.ts).then(b.session.cmp(&a.session)));
        feed.truncate(FEED);
        let mut pages: Vec<CurrentPage> = current
            .into_iter()
            .map(|(page, sessions)| CurrentPage { page, sessions })
            .collect();
        pages.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(a.page.cmp(&b.page)));
        Ok(RealtimeView {
            minutes,
            now,
            visitors: active
                .iter()
                .map(|s| s.visitor)
                .collect::<HashSet<_>>()
                .len(),
            sessions: active.len(),
            pages,
            feed,
        })
    }
}
