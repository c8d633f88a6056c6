//! An in-memory copy of the registered sites and origins, so that collect
//! checks them without touching SQLite. `trailmap site add` may run in
//! another process while the server runs: a miss reloads the copy (at most
//! once a second, so unknown names cannot hammer the database), and a
//! background task reloads it every few seconds to notice removals.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::ingest::privacy::UrlPolicy;
use crate::store::sites::{self, Site};
use crate::store::Store;

const MISS_RELOAD_INTERVAL: Duration = Duration::from_secs(1);
pub(crate) const RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// A registered site with what collect derives from it, derived once per
/// reload instead of once per batch.
pub(crate) struct RegisteredSite {
    pub site: Site,
    /// The site's rule for visitors' URLs (its origins' hosts, parsed).
    pub url_policy: UrlPolicy,
}

impl std::ops::Deref for RegisteredSite {
    type Target = Site;

    fn deref(&self) -> &Site {
        &self.site
    }
}

struct Snapshot {
    by_name: HashMap<String, Arc<RegisteredSite>>,
    origins: HashSet<String>,
    loaded: Instant,
}

pub(crate) struct SiteRegistry {
    store: Arc<Store>,
    snapshot: RwLock<Snapshot>,
}

impl SiteRegistry {
    pub(crate) fn load(store: Arc<Store>) -> crate::store::Result<SiteRegistry> {
        let snapshot = read_snapshot(&store)?;
        Ok(SiteRegistry {
            store,
            snapshot: RwLock::new(snapshot),
        })
    }

    /// Re-reads the sites from the store.
    pub(crate) fn reload(&self) {
        match read_snapshot(&self.store) {
            Ok(s) => *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = s,
            Err(e) => tracing::warn!("cannot reload sites: {e}"),
        }
    }

    fn reload_after_miss(&self) -> bool {
        let stale = self
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .loaded
            .elapsed()
            >= MISS_RELOAD_INTERVAL;
        if stale {
            // A miss comes from a request on the runtime's threads: let the
            // runtime move its other tasks off this one while SQLite reads.
            match tokio::runtime::Handle::try_current() {
                Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(|| self.reload())
                }
                _ => self.reload(),
            }
        }
        stale
    }

    /// The site of that name, if registered.
    pub(crate) fn site(&self, name: &str) -> Option<Arc<RegisteredSite>> {
        let find = || {
            self.snapshot
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .by_name
                .get(name)
                .cloned()
        };
        find().or_else(|| self.reload_after_miss().then(find).flatten())
    }

    /// Whether any site allows this origin (for CORS preflights, which do
    /// not say which site they are for).
    pub(crate) fn origin_known(&self, origin: &str) -> bool {
        let known = || {
            self.snapshot
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .origins
                .contains(origin)
        };
        known() || (self.reload_after_miss() && known())
    }
}

fn read_snapshot(store: &Store) -> crate::store::Result<Snapshot> {
    let conn = store.read()?;
    let list = sites::list(&conn)?;
    let origins = list
        .iter()
        .flat_map(|s| s.origins.iter().cloned())
        .collect();
    Ok(Snapshot {
        by_name: list
            .into_iter()
            .map(|site| {
                let url_policy = UrlPolicy::new(&site.origins, &site.keep_query);
                (
                    site.name.clone(),
                    Arc::new(RegisteredSite { site, url_policy }),
                )
            })
            .collect(),
        origins,
        loaded: Instant::now(),
    })
}
