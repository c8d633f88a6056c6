//! The engine against the store's rows: random sessions written through the
//! real pipeline into a real SQLite file, then every report asked with
//! random filters both through the engine and by reading and cleaning the
//! rows one by one (how reports worked before the engine). The answers must
//! be the same, also after more batches change sessions the engine already
//! holds (appends, superseded entries, compactions) and after the rules
//! change.

use crate::event::{ClientInfo, DeviceClass, Event, EventDetail, EventKind, Geo, Millis, Source};
use crate::ingest::sessionize::VisitorIds;
use crate::mine::testing::Rng;
use crate::mine::{graph, paths, patterns};
use crate::pipeline::{IngestBatch, SessionWriter};
use crate::service::analysis::Analysis;
use crate::service::request::FunnelRequest;
use crate::store::read::{self, JourneyFilter};
use crate::store::{sites, Store};
use std::time::Duration;

const PAGES: [&str; 9] = [
    "/",
    "/shoes",
    "/shoes/42",
    "/shoes/43",
    "/cart",
    "/checkout/address",
    "/checkout/pay",
    "/thank-you",
    "/missing",
];
const REFERRERS: [Option<&str>; 4] = [
    None,
    Some("https://www.google.com/search?q=x"),
    Some("https://news.example/a"),
    Some("https://m.facebook.com/"),
];
const COUNTRIES: [Option<&str>; 3] = [None, Some("SE"), Some("DE")];
const DAY: Millis = 86_400_000;
const T0: Millis = 1_767_225_600_000; // 2026-01-01

fn batch(rng: &mut Rng, site_id: i64, visitor: u64, ts: Millis) -> IngestBatch {
    let mut events = Vec::new();
    let mut t = ts;
    for i in 0..1 + rng.below(6) {
        let path = PAGES[rng.below(PAGES.len() as u64) as usize];
        let vw = [390, 820, 1280, 1440][rng.below(4) as usize];
        let mut detail = EventDetail {
            url: Some(format!("https://shop.example{path}")),
            status: (path == "/missing").then_some(404),
            vw: Some(vw),
            vh: Some(700),
            dw: Some(vw),
            dh: Some(1000 + 100 * rng.below(20) as u32),
            ..EventDetail::default()
        };
        if i == 0 {
            detail.referrer = REFERRERS[rng.below(4) as usize].map(str::to_string);
        }
        events.push(Event {
            kind: EventKind::Pageview,
            ts: t,
            path: Some(path.to_string()),
            detail,
        });
        for k in 0..rng.below(4) {
            let coordinate = |rng: &mut Rng| rng.below(20_000) as f64 / 10.0;
            events.push(Event {
                kind: EventKind::Click,
                ts: t + 1 + k as Millis,
                path: None,
                detail: EventDetail {
                    rage: rng.below(2) == 0,
                    dead: rng.below(2) == 0,
                    x: Some(coordinate(rng)),
                    y: Some(coordinate(rng)),
                    ox: Some(coordinate(rng) / 10.0),
                    oy: Some(coordinate(rng) / 10.0),
                    sel: (rng.below(4) > 0).then(|| format!("#b{}", rng.below(5))),
                    ..EventDetail::default()
                },
            });
        }
        if rng.below(3) == 0 {
            events.push(Event {
                kind: EventKind::Scroll,
                ts: t + 10,
                path: None,
                detail: EventDetail {
                    max_depth: Some(700 + 50 * rng.below(40) as u32),
                    dh: Some(1000 + 100 * rng.below(30) as u32),
                    ..EventDetail::default()
                },
            });
        }
        t += 1000 * (1 + rng.below(60)) as Millis;
    }
    let device = [
        DeviceClass::Desktop,
        DeviceClass::Mobile,
        DeviceClass::Tablet,
    ][(visitor % 3) as usize];
    IngestBatch {
        site_id,
        source: Source::Tracker,
        sid: String::new(),
        visitor: VisitorIds {
            current: visitor,
            previous: None,
        },
        client: ClientInfo {
            browser: "Chrome".into(),
            os: "Linux".into(),
            device,
            is_bot: visitor.is_multiple_of(11),
        },
        geo: Geo {
            country: COUNTRIES[(visitor % 3) as usize].map(str::to_string),
            ..Geo::default()
        },
        encoded: IngestBatch::encode(&events),
        events,
    }
}

/// Writes `n` batches of random visitors over ten days.
fn write(store: &Store, site_id: i64, rng: &mut Rng, n: usize) {
    let mut w = store.writer(false).unwrap();
    let mut s = SessionWriter::load(&w, Duration::from_secs(1800), T0).unwrap();
    for chunk in 0..n.div_ceil(200) {
        let mut txn = w.begin().unwrap();
        for _ in 0..200.min(n - chunk * 200) {
            let visitor = rng.below(3000);
            let ts = T0 + rng.below(10 * DAY as u64) as Millis;
            s.apply(&mut txn, &batch(rng, site_id, visitor, ts))
                .unwrap();
        }
        s.flush(&mut txn).unwrap();
        txn.commit().unwrap();
    }
}

fn filters(rng: &mut Rng) -> JourneyFilter {
    let pick = |rng: &mut Rng, options: &[&str]| -> Option<String> {
        let k = rng.below(options.len() as u64 + 2) as usize;
        options.get(k).map(|s| s.to_string())
    };
    let from = (rng.below(2) == 0).then(|| T0 + rng.below(5) as Millis * DAY);
    JourneyFilter {
        from,
        to: (rng.below(2) == 0).then(|| from.unwrap_or(T0) + (1 + rng.below(6) as Millis) * DAY),
        channel: pick(rng, &["direct", "search", "social", "referral", "nowhere"]),
        device: pick(rng, &["desktop", "mobile", "tablet"]),
        country: pick(rng, &["se", "DE", "FR"]),
        referrer_domain: pick(rng, &["WWW.GOOGLE.COM", "news.example"]),
        entry_page: pick(rng, &["/", "/shoes/42", "/cart", "/nope"]),
        include_bots: rng.below(2) == 0,
        keep_repeats: rng.below(3) == 0,
    }
}

/// Every report of both analyses, as JSON.
fn answers(a: &Analysis) -> Vec<String> {
    let json = |v: &dyn Erased| v.to_json();
    let mut out = vec![
        json(&a.paths(&paths::PathQuery::default())),
        json(&a.paths(&paths::PathQuery {
            steps: 3,
            top_k: 50,
            ..Default::default()
        })),
        json(&a.flows()),
        json(
            &a.graph(&graph::GraphQuery {
                steps: 4,
                nodes_per_step: 4,
                min_link: 1,
                root: None,
                expand: Vec::new(),
            })
            .unwrap(),
        ),
        json(&a.frustration(10)),
        json(&a.stages().unwrap()),
        json(&a.moments(5).unwrap()),
        json(
            &a.patterns(&patterns::PatternQuery {
                top_k: 30,
                min_len: 2,
                max_len: 4,
                min_support: 2,
            })
            .unwrap(),
        ),
        json(
            &a.funnel(&FunnelRequest::of(
                &["^/shoes", "^/cart$", "^/checkout"],
                60,
                false,
            ))
            .unwrap(),
        ),
        json(
            &a.funnel(&FunnelRequest::of(&["^/$", "^/cart$"], 10, true))
                .unwrap(),
        ),
    ];
    if let Ok(page) = a.page("/cart") {
        out.push(json(&a.transitions(page, 5)));
    }
    out
}

/// Serialises any report (the reports are `Serialize`, not object-safe).
trait Erased {
    fn to_json(&self) -> String;
}

impl<T: serde::Serialize> Erased for T {
    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap()
    }
}

/// Asks `rounds` random questions both ways; returns the clicks the
/// heatmap questions counted (so that a test can tell it compared some).
fn compare(store: &Store, engine: &super::Engine, rng: &mut Rng, rounds: usize) -> usize {
    let mut clicks = 0;
    for _ in 0..rounds {
        let f = filters(rng);
        // The overview, against the store's SQL.
        let conn = store.read().unwrap();
        let site_id = crate::service::find_site(&conn, "shop").unwrap().id;
        let pages = read::site_pages(&conn, site_id).unwrap();
        let top = 1 + rng.below(6) as usize;
        let bucket = [None, Some(3_600_000), Some(86_400_000)][rng.below(3) as usize];
        let wanted = super::site::Wanted::of(&f, &pages);
        let fast = engine
            .overview(store, site_id, &wanted, &pages, top, bucket)
            .unwrap();
        let sql = read::overview(&conn, site_id, &f, top, bucket).unwrap();
        assert_eq!(fast.as_ref(), Some(&sql), "overview, filter {f:?}");
        // The clicks and view depths heatmaps draw, against the store's
        // filtered read of the event chunks.
        let page = ["/cart", "/shoes/42", "/", "/nope"][rng.below(4) as usize];
        let mut raw: Vec<u32> = pages
            .iter()
            .filter(|(_, p)| p == page || (page == "/shoes/42" && p.starts_with("/shoes/")))
            .map(|(id, _)| *id)
            .collect();
        raw.sort_unstable();
        let every = JourneyFilter {
            include_bots: true,
            ..JourneyFilter::default()
        };
        for f in [f.clone(), every] {
            let wanted = super::site::Wanted::of(&f, &pages);
            let fast = engine
                .page_activity(store, &conn, site_id, &wanted, &raw)
                .unwrap();
            let slow =
                read::page_activity(&conn, site_id, &f, &raw.iter().copied().collect()).unwrap();
            assert_eq!(fast, slow, "page activity of {page}, filter {f:?}");
            clicks += slow.clicks.len();
        }
        let fast = Analysis::load(store, engine, "shop", &f).unwrap();
        let rows = Analysis::load_from_rows(store, "shop", &f).unwrap();
        let (fast, rows) = (answers(&fast), answers(&rows));
        for (a, b) in fast.iter().zip(&rows) {
            assert_eq!(a, b, "filter {f:?}");
        }
        assert_eq!(fast.len(), rows.len(), "filter {f:?}");
    }
    clicks
}

#[test]
fn the_engine_answers_every_report_as_the_rows_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let origins = ["https://shop.example".to_string()];
    let site = sites::add(&mut store.admin().unwrap(), "shop", &origins, 0).unwrap();
    let mut rng = Rng(0x5eed_cafe);
    let engine = super::Engine::new();
    write(&store, site.id, &mut rng, 6000);
    assert!(compare(&store, &engine, &mut rng, 30) > 1000);
    // More batches: new sessions and changes to ones the engine holds
    // (and to the pages' activity it holds).
    write(&store, site.id, &mut rng, 3000);
    assert!(compare(&store, &engine, &mut rng, 15) > 500);
    // With no memory for pages' activity, each question reads it again.
    engine.set_activity_budget(0);
    write(&store, site.id, &mut rng, 500);
    compare(&store, &engine, &mut rng, 5);
    // Rules clean pages at question time, so a rule change is seen at once.
    sites::set_page_rules(
        &mut store.admin().unwrap(),
        site.id,
        &[("^/shoes/\\d+$".to_string(), "/shoes/:id".to_string())],
    )
    .unwrap();
    compare(&store, &engine, &mut rng, 15);
}

#[test]
fn changes_after_a_removed_site_are_not_numbered_as_old() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let origins = ["https://shop.example".to_string()];
    let shop = sites::add(&mut store.admin().unwrap(), "shop", &origins, 0).unwrap();
    let other = sites::add(&mut store.admin().unwrap(), "other", &origins, 0).unwrap();
    let mut rng = Rng(0xdead_beef);
    let engine = super::Engine::new();
    write(&store, shop.id, &mut rng, 400);
    // The latest changes are the other site's; the engine takes them all.
    write(&store, other.id, &mut rng, 400);
    compare(&store, &engine, &mut rng, 2);
    assert!(sites::remove(&mut store.admin().unwrap(), "other").unwrap());
    // The shop's next changes must be numbered past everything the
    // engine saw, or it would never read them.
    write(&store, shop.id, &mut rng, 400);
    compare(&store, &engine, &mut rng, 5);
}

#[test]
fn a_removed_sites_page_activity_is_forgotten_at_the_next_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let origins = ["https://shop.example".to_string()];
    let shop = sites::add(&mut store.admin().unwrap(), "shop", &origins, 0).unwrap();
    let other = sites::add(&mut store.admin().unwrap(), "other", &origins, 0).unwrap();
    let mut rng = Rng(0x0b5e_55ed);
    let engine = super::Engine::new();
    write(&store, other.id, &mut rng, 200);
    write(&store, shop.id, &mut rng, 200);
    let conn = store.read().unwrap();
    let raw: Vec<u32> = read::site_pages(&conn, other.id)
        .unwrap()
        .iter()
        .filter(|(_, p)| p == "/cart")
        .map(|(id, _)| *id)
        .collect();
    let every = super::site::Wanted::of(&JourneyFilter::default(), &[]);
    engine
        .page_activity(&store, &conn, other.id, &every, &raw)
        .unwrap();
    let held = || engine.pages.lock().unwrap().held_pages();
    assert_eq!(held(), 1);
    drop(conn);
    assert!(sites::remove(&mut store.admin().unwrap(), "other").unwrap());
    // A report of the shop catches up: the removed site's page goes.
    let conn = store.read().unwrap();
    let pages = read::site_pages(&conn, shop.id).unwrap();
    engine
        .overview(
            &store,
            shop.id,
            &super::site::Wanted::of(&JourneyFilter::default(), &pages),
            &pages,
            3,
            None,
        )
        .unwrap();
    assert_eq!(held(), 0);
}

#[test]
fn a_new_process_starts_from_the_snapshot_and_the_changes_since() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let store = Store::open(&db).unwrap();
    let origins = ["https://shop.example".to_string()];
    let site = sites::add(&mut store.admin().unwrap(), "shop", &origins, 0).unwrap();
    let mut rng = Rng(0x0dd_ba11);
    write(&store, site.id, &mut rng, 1500);
    // The first process loads from the rows and leaves a snapshot, and a
    // file of each page it mapped.
    compare(&store, &super::Engine::beside(&db), &mut rng, 3);
    let columns = super::snapshot::dir(&db).join(format!("site-{}.columns", site.id));
    let activity_files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(super::snapshot::dir(&db))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "activity"))
            .collect()
    };
    assert!(!activity_files().is_empty(), "the pages mapped are kept");
    let written = |f: &std::path::Path| std::fs::metadata(f).unwrap().modified().unwrap();
    let kept: Vec<_> = activity_files()
        .into_iter()
        .map(|f| (written(&f), f))
        .collect();
    let first = std::fs::metadata(&columns)
        .expect("a snapshot")
        .modified()
        .unwrap();
    // More sessions and changes; the next process starts from the
    // snapshot (left as it was) and reads only what changed since.
    write(&store, site.id, &mut rng, 1500);
    compare(&store, &super::Engine::beside(&db), &mut rng, 8);
    assert_eq!(
        std::fs::metadata(&columns).unwrap().modified().unwrap(),
        first
    );
    // Its pages too: read from their files and the changes since (a page
    // read from the rows would have been written again).
    for (at, f) in &kept {
        assert_eq!(written(f), *at, "{}", f.display());
    }
    // A broken snapshot is passed over: the rows answer, and a new one is
    // written; so are broken page files.
    std::fs::write(&columns, b"trailmap-engine\nnot columns").unwrap();
    for f in activity_files() {
        let mut bytes = std::fs::read(&f).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&f, &bytes).unwrap();
    }
    compare(&store, &super::Engine::beside(&db), &mut rng, 6);
    assert!(std::fs::metadata(&columns).unwrap().len() > 100);
}

#[test]
fn a_store_whose_changes_went_back_is_read_again_at_once() {
    // Another database file in the old one's place: same site id and
    // creation time, fewer changes.
    let dir = tempfile::tempdir().unwrap();
    let origins = ["https://shop.example".to_string()];
    let (first, second) = (
        Store::open(&dir.path().join("a.db")).unwrap(),
        Store::open(&dir.path().join("b.db")).unwrap(),
    );
    let a = sites::add(&mut first.admin().unwrap(), "shop", &origins, 0).unwrap();
    let b = sites::add(&mut second.admin().unwrap(), "shop", &origins, 0).unwrap();
    assert_eq!(a.id, b.id);
    let mut rng = Rng(0xfeed);
    write(&first, a.id, &mut rng, 1200);
    write(&second, b.id, &mut rng, 300);
    let engine = super::Engine::new();
    compare(&first, &engine, &mut rng, 2);
    // The very first question after the switch already answers as the
    // new file's rows do.
    compare(&second, &engine, &mut rng, 4);
}

/// `unit=visitor` split where the engine holds the journeys (only the
/// visitors with several journeys copied) answers as joining every
/// journey does, with every filter.
#[test]
fn visitors_split_in_the_engine_join_as_a_full_copy_does() {
    use crate::mine::stitch::ByVisitor;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let origins = ["https://shop.example".to_string()];
    let site = sites::add(&mut store.admin().unwrap(), "shop", &origins, 0).unwrap();
    let mut rng = Rng(0x0715_1703);
    let engine = super::Engine::new();
    write(&store, site.id, &mut rng, 4000);
    let funnel = FunnelRequest::of(&["^/shoes", "^/cart$", "^/checkout"], 60 * 24 * 10, false);
    let (mut checked, mut joined) = (0, 0);
    for round in 0..12 {
        let filter = if round < 2 {
            JourneyFilter {
                include_bots: round == 1,
                ..JourneyFilter::default()
            }
        } else {
            filters(&mut rng)
        };
        let mut split = Analysis::load(&store, &engine, "shop", &filter).unwrap();
        let mut copied = Analysis::load(&store, &engine, "shop", &filter).unwrap();
        let sessions = split.journeys.len();
        split.join_visitors().unwrap();
        joined += sessions - split.journeys.len();
        let whole = std::mem::replace(
            &mut copied.journeys,
            Box::new(crate::mine::Journeys::default()),
        );
        copied.journeys = Box::new(ByVisitor::new(whole));
        assert_eq!(split.journeys.len(), copied.journeys.len());
        let a = serde_json::to_string(&split.funnel(&funnel).unwrap()).unwrap();
        let b = serde_json::to_string(&copied.funnel(&funnel).unwrap()).unwrap();
        assert_eq!(a, b, "{filter:?}");
        let a = serde_json::to_string(&split.goals(None, 10).unwrap()).unwrap();
        let b = serde_json::to_string(&copied.goals(None, 10).unwrap()).unwrap();
        assert_eq!(a, b, "{filter:?}");
        checked += split.journeys.len();
    }
    // Enough visitors, and many with several sessions that were joined.
    assert!(checked > 1000 && joined > 200, "{checked} {joined}");
}

#[test]
fn a_sites_first_load_holds_up_only_the_requests_for_that_site() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let origins = ["https://shop.example".to_string()];
    let shop = sites::add(&mut store.admin().unwrap(), "shop", &origins, 0).unwrap();
    let other = sites::add(&mut store.admin().unwrap(), "other", &origins, 0).unwrap();
    let mut rng = Rng(0x10ad_5175);
    write(&store, shop.id, &mut rng, 600);
    write(&store, other.id, &mut rng, 600);
    let engine = super::Engine::new();
    let stored = |id: i64| -> usize {
        store
            .read()
            .unwrap()
            .query_row(
                "SELECT count(*) FROM sessions WHERE site_id = ?1",
                [id],
                |r| r.get::<_, i64>(0),
            )
            .unwrap() as usize
    };
    let held = |id: i64| {
        let state = engine.state.read().unwrap();
        state.sites.get(&id).map(|f| f.journeys.sessions())
    };
    engine.catch_up(&store, Some(other.id)).unwrap();
    // The shop's first load is under way in another request.
    engine.loading.lock().unwrap().insert(shop.id);
    // The other site follows the store and answers meanwhile.
    write(&store, other.id, &mut rng, 300);
    engine.catch_up(&store, Some(other.id)).unwrap();
    assert_eq!(held(other.id), Some(stored(other.id)));
    std::thread::scope(|scope| {
        let (done, finished) = std::sync::mpsc::channel();
        let (engine, store) = (&engine, &store);
        scope.spawn(move || {
            engine.catch_up(store, Some(shop.id)).unwrap();
            done.send(()).unwrap();
        });
        // A request for the shop waits for the load under way...
        std::thread::sleep(Duration::from_millis(300));
        assert!(finished.try_recv().is_err(), "it waits for the load");
        // ... and when that one ends without it (a failed load), loads
        // the shop itself.
        engine.loading.lock().unwrap().remove(&shop.id);
        engine.loaded.notify_all();
        finished
            .recv_timeout(Duration::from_secs(30))
            .expect("it loads the shop");
    });
    assert_eq!(held(shop.id), Some(stored(shop.id)));
    assert!(engine.loading.lock().unwrap().is_empty());
    // Both answer as the rows do.
    compare(&store, &engine, &mut rng, 3);
}
