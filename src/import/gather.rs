//! Gathers imported page views by visitor between commits, so that each
//! visitor's lines become one batch in time order: lines that arrive out of
//! order are placed correctly, and the store writes one chunk per visitor
//! run instead of one per line.

use rustc_hash::FxHashMap;

use crate::event::{ClientInfo, Event, Geo, Source};
use crate::ingest::sessionize::VisitorIds;
use crate::pipeline::IngestBatch;

struct Pending {
    client: ClientInfo,
    geo: Geo,
    events: Vec<Event>,
}

/// Page views waiting for the next commit, by visitor.
pub(crate) struct Gatherer {
    site_id: i64,
    pending: FxHashMap<u64, Pending>,
    events: usize,
}

impl Gatherer {
    pub(crate) fn new(site_id: i64) -> Gatherer {
        Gatherer {
            site_id,
            pending: FxHashMap::default(),
            events: 0,
        }
    }

    /// Adds a visitor's event; `describe` is called only for a visitor not
    /// seen since the last drain (user agent and GeoIP lookups are not free).
    pub(crate) fn add(
        &mut self,
        visitor: u64,
        describe: impl FnOnce() -> (ClientInfo, Geo),
        event: Event,
    ) {
        self.events += 1;
        self.pending
            .entry(visitor)
            .or_insert_with(|| {
                let (client, geo) = describe();
                Pending {
                    client,
                    geo,
                    events: Vec::new(),
                }
            })
            .events
            .push(event);
    }

    pub(crate) fn events(&self) -> usize {
        self.events
    }

    /// Everything gathered, one batch per visitor, events in time order
    /// (the sort is stable: equal times keep the log's order).
    pub(crate) fn drain(&mut self) -> Vec<IngestBatch> {
        self.events = 0;
        let site_id = self.site_id;
        let mut batches: Vec<IngestBatch> = self
            .pending
            .drain()
            .map(|(visitor, mut p)| {
                p.events.sort_by_key(|e| e.ts);
                IngestBatch {
                    site_id,
                    source: Source::Log,
                    sid: String::new(),
                    visitor: VisitorIds {
                        current: visitor,
                        previous: None,
                    },
                    client: p.client,
                    geo: p.geo,
                    encoded: IngestBatch::encode(&p.events),
                    events: p.events,
                }
            })
            .collect();
        // Deterministic session ids: visitors in order of their first view.
        batches.sort_by_key(|b| (b.events[0].ts, b.visitor.current));
        batches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DeviceClass, EventDetail, EventKind};

    fn view(ts: i64, path: &str) -> Event {
        Event {
            kind: EventKind::Pageview,
            ts,
            path: Some(path.into()),
            detail: EventDetail::default(),
        }
    }

    fn client() -> (ClientInfo, Geo) {
        let c = ClientInfo {
            browser: "Chrome".into(),
            os: "Linux".into(),
            device: DeviceClass::Desktop,
            is_bot: false,
        };
        (c, Geo::default())
    }

    #[test]
    fn lines_out_of_order_come_out_in_time_order_per_visitor() {
        let mut g = Gatherer::new(1);
        g.add(7, client, view(3000, "/c"));
        g.add(8, client, view(500, "/x"));
        g.add(7, client, view(1000, "/a"));
        g.add(7, client, view(2000, "/b"));
        assert_eq!(g.events(), 4);
        let batches = g.drain();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].visitor.current, 8, "first seen first");
        let paths: Vec<_> = batches[1]
            .events
            .iter()
            .map(|e| e.path.clone().unwrap())
            .collect();
        assert_eq!(paths, ["/a", "/b", "/c"]);
        assert_eq!(batches[1].encoded.len(), 3);
        assert!(g.drain().is_empty());
    }
}
