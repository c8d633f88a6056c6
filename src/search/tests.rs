//! End-to-end tests of [`SearchIndex`] over a handful of hand-made sessions,
//! with exact hit sets, so a change in field semantics shows up as a
//! changed set rather than a changed count.

use std::collections::BTreeSet;

use tempfile::TempDir;

use super::index::Opened;
use super::{SearchError, SearchIndex, SessionDoc, Sort};

/// 2026-11-01T00:00:00Z.
const T0: i64 = 1_793_491_200_000;
const HOUR: i64 = 3_600_000;

fn session(id: i64, pages: &[&str]) -> SessionDoc {
    SessionDoc {
        session_id: id,
        site_id: 1,
        start_ms: T0 + id * HOUR,
        duration_s: 30,
        page_count: pages.len() as u32,
        pages: pages.iter().map(|p| p.to_string()).collect(),
        entry_page: pages.first().map(|p| p.to_string()),
        exit_page: pages.last().map(|p| p.to_string()),
        referrer: None,
        referrer_domain: None,
        channel: "direct".into(),
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
        country: None,
        city: None,
        browser: "Firefox".into(),
        os: "Linux".into(),
        device: "desktop".into(),
        rage: false,
        dead: false,
        error: false,
        jserror: false,
        converted: false,
        events: Vec::new(),
        props: Vec::new(),
        source: "tracker".into(),
    }
}

fn from(mut d: SessionDoc, url: &str, domain: &str, channel: &str) -> SessionDoc {
    d.referrer = Some(url.into());
    d.referrer_domain = Some(domain.into());
    d.channel = channel.into();
    d
}

/// Site 1: sessions 1..=6; site 2: session 7, a copy of 1.
fn fixture() -> Vec<SessionDoc> {
    let google = "https://www.google.com/search?q=shoes";
    let mut s1 = from(
        session(1, &["/", "/product/42", "/checkout", "/checkout/payment"]),
        google,
        "www.google.com",
        "organic_search",
    );
    s1.duration_s = 120;
    s1.country = Some("SE".into());
    s1.city = Some("Stockholm".into());
    s1.browser = "Chrome".into();

    let mut s2 = from(
        session(2, &["/", "/checkout", "/thank-you"]),
        "https://google.com/",
        "google.com",
        "organic_search",
    );
    s2.duration_s = 300;
    s2.country = Some("SE".into());
    s2.device = "mobile".into();
    s2.rage = true;
    s2.converted = true;
    s2.events = vec!["add_to_cart".into(), "purchase".into()];
    s2.props = vec!["currency=USD".into(), "plan=pro".into()];

    let mut s3 = from(
        session(3, &["/product/7", "/checkout"]),
        "https://www.bing.com/search?q=boots",
        "www.bing.com",
        "organic_search",
    );
    s3.duration_s = 60;
    s3.country = Some("DE".into());
    s3.device = "tablet".into();
    s3.rage = true;

    let mut s4 = from(
        session(4, &["/checkout/payment"]),
        google,
        "www.google.com",
        "organic_search",
    );
    s4.duration_s = 60;
    s4.country = Some("SE".into());

    let mut s5 = session(5, &["/blog/hello-world"]);
    s5.start_ms = T0 - 2 * HOUR; // 2026-10-31
    s5.duration_s = 10;
    s5.country = Some("SE".into());
    s5.device = "mobile".into();
    s5.rage = true;
    s5.source = "log".into();

    let mut s6 = from(
        session(6, &["/", "/checkout"]),
        "https://news.ycombinator.com/item?id=1",
        "news.ycombinator.com",
        "referral",
    );
    s6.duration_s = 61;
    s6.country = Some("NO".into());
    s6.utm_campaign = Some("Spring".into());

    let mut s7 = s1.clone();
    s7.session_id = 7;
    s7.site_id = 2;
    vec![s1, s2, s3, s4, s5, s6, s7]
}

fn indexed() -> (TempDir, SearchIndex) {
    let dir = TempDir::new().expect("temp dir");
    let index = SearchIndex::open(dir.path()).expect("open");
    index.upsert(&fixture()).expect("upsert");
    index.commit(1).expect("commit");
    (dir, index)
}

fn hits(index: &SearchIndex, q: &str) -> BTreeSet<i64> {
    let r = index
        .search(1, q, Sort::Newest, 0, 100)
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    assert_eq!(r.total, r.session_ids.len(), "{q}: total");
    r.session_ids.into_iter().collect()
}

fn set(ids: &[i64]) -> BTreeSet<i64> {
    ids.iter().copied().collect()
}

fn query_error(index: &SearchIndex, q: &str) -> String {
    match index.search(1, q, Sort::Newest, 0, 10) {
        Err(SearchError::Query(m)) => {
            assert!(!m.contains('\n'), "{q}: one line: {m}");
            m
        }
        other => panic!("{q}: expected a query error, got {other:?}"),
    }
}

#[test]
fn the_brief_examples() {
    let (_dir, index) = indexed();
    let cases: &[(&str, &[i64])] = &[
        (
            "page:/checkout AND referrer:google.com AND -page:/thank-you",
            &[1],
        ),
        ("rage:true AND country:SE", &[2, 5]),
        ("duration:>60", &[1, 2, 6]),
        ("device:mobile OR device:tablet", &[2, 3, 5]),
    ];
    for (q, want) in cases {
        assert_eq!(hits(&index, q), set(want), "{q}");
    }
}

#[test]
fn field_semantics() {
    let (_dir, index) = indexed();
    let cases: &[(&str, &[i64])] = &[
        ("", &[1, 2, 3, 4, 5, 6]),
        ("   ", &[1, 2, 3, 4, 5, 6]),
        // Exact path vs a word of any path.
        ("page:/checkout", &[1, 2, 3, 6]),
        ("page:/CHECKOUT", &[1, 2, 3, 6]),
        // One page with or without its trailing slash, as the reports
        // name it (merging the two).
        ("page:/checkout/", &[1, 2, 3, 6]),
        ("page:/blog/hello-world/", &[5]),
        ("entry:/product/7//", &[3]),
        ("page:checkout", &[1, 2, 3, 4, 6]),
        ("checkout", &[1, 2, 3, 4, 6]),
        ("/checkout", &[1, 2, 3, 4, 6]),
        ("page:/", &[1, 2, 6]),
        ("page:/product/*", &[1, 3]),
        ("page:prod*", &[1, 3]),
        ("page:hello-world", &[5]),
        ("\"hello world\"", &[5]),
        ("page:\"/blog/hello-world\"", &[5]),
        ("-page:/thank-you", &[1, 3, 4, 5, 6]),
        ("NOT page:/thank-you", &[1, 3, 4, 5, 6]),
        ("entry:/product/7", &[3]),
        ("exit:/thank-you", &[2]),
        ("exit:thank", &[2]),
        // Referrer: domain with or without www, or a word of the URL.
        ("referrer:google.com", &[1, 2, 4]),
        ("referrer:www.google.com", &[1, 2, 4]),
        ("referrer:bing", &[3]),
        ("referrer:ycombinator", &[6]),
        ("referrer:shoes", &[1, 4]),
        ("referrer:*", &[1, 2, 3, 4, 6]),
        // Keywords, case-insensitive.
        ("country:se", &[1, 2, 4, 5]),
        ("country:SE", &[1, 2, 4, 5]),
        ("Country:Se", &[1, 2, 4, 5]),
        ("city:stockholm", &[1]),
        ("browser:chrome", &[1]),
        ("channel:organic_search", &[1, 2, 3, 4]),
        ("utm_campaign:spring", &[6]),
        ("utm_campaign:*", &[6]),
        ("source:log", &[5]),
        ("os:linux", &[1, 2, 3, 4, 5, 6]),
        ("country: IN [de no]", &[3, 6]),
        ("stockholm", &[1]),
        ("tablet", &[3]),
        // Booleans.
        ("converted:true", &[2]),
        // Custom events and their properties.
        ("event:add_to_cart", &[2]),
        ("event:Purchase", &[2]),
        ("add_to_cart", &[2]),
        ("event:signup", &[]),
        ("event:purchase AND prop.plan:pro", &[2]),
        ("prop.currency:usd", &[2]),
        ("prop.plan:free", &[]),
        ("converted:false", &[1, 3, 4, 5, 6]),
        ("dead:true", &[]),
        // Ranges.
        ("duration:[10 TO 60]", &[3, 4, 5]),
        ("duration:{10 TO 60}", &[]),
        ("duration:>=1m", &[1, 2, 3, 4, 6]),
        ("duration:60", &[3, 4]),
        ("duration:<=10", &[5]),
        ("duration:[* TO *]", &[1, 2, 3, 4, 5, 6]),
        ("pages:>=3", &[1, 2]),
        ("pages:1", &[4, 5]),
        ("start:>=2026-11-01", &[1, 2, 3, 4, 6]),
        ("start:>2026-10-31", &[1, 2, 3, 4, 6]),
        ("start:<2026-11-01", &[5]),
        ("start:2026-10-31", &[5]),
        ("start:[2026-10-31 TO 2026-10-31]", &[5]),
        ("start:>=2026-11-01T03:00:00Z", &[3, 4, 6]),
        ("start:>=2026-11-01T05:00:00+02:00", &[3, 4, 6]),
        ("start:<1793494800000", &[5]),
        ("session:4", &[4]),
        // Boolean structure.
        (
            "(page:/checkout OR page:/blog/hello-world) AND -rage:true",
            &[1, 6],
        ),
        ("rage:true and country:se", &[2, 5]),
        ("rage:true country:se", &[2, 5]),
        ("+rage:true -country:se", &[3]),
        ("rage:true AND NOT (country:se OR country:no)", &[3]),
        ("(-rage:true -country:se)", &[6]),
        (
            "country:se AND (device:mobile OR -rage:true)",
            &[1, 2, 4, 5],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(hits(&index, q), set(want), "{q}");
    }
}

#[test]
fn searches_are_restricted_to_the_site() {
    let (_dir, index) = indexed();
    let r = index.search(2, "", Sort::Newest, 0, 10).expect("search");
    assert_eq!(r.session_ids, vec![7]);
    let r = index
        .search(2, "page:/checkout OR rage:true", Sort::Newest, 0, 10)
        .expect("search");
    assert_eq!(r.session_ids, vec![7]);
    let r = index.search(3, "", Sort::Newest, 0, 10).expect("search");
    assert_eq!((r.total, r.session_ids.len()), (0, 0));
}

#[test]
fn sort_orders() {
    let (_dir, index) = indexed();
    let newest = index.search(1, "", Sort::Newest, 0, 10).expect("search");
    assert_eq!(newest.session_ids, vec![6, 4, 3, 2, 1, 5]);
    // 3 and 4 both last 60 s: the newer (4) first, although 3 was indexed
    // first (tantivy alone breaks ties by document order).
    let longest = index.search(1, "", Sort::Longest, 0, 10).expect("search");
    assert_eq!(longest.session_ids, vec![2, 1, 6, 4, 3, 5]);
}

#[test]
fn pagination() {
    let (_dir, index) = indexed();
    let page = |offset, limit| {
        index
            .search(1, "", Sort::Newest, offset, limit)
            .expect("search")
    };
    let p = page(2, 2);
    assert_eq!((p.total, p.session_ids), (6, vec![3, 2]));
    let p = page(5, 10);
    assert_eq!((p.total, p.session_ids), (6, vec![5]));
    let p = page(100, 10);
    assert_eq!((p.total, p.session_ids), (6, vec![]));
    let p = page(0, 0);
    assert_eq!((p.total, p.session_ids), (6, vec![]));
    let p = page(usize::MAX, usize::MAX);
    assert_eq!((p.total, p.session_ids), (6, vec![]));
    let p = index
        .search(1, "rage:true", Sort::Longest, 1, 1)
        .expect("search");
    assert_eq!((p.total, p.session_ids), (3, vec![3]));
}

#[test]
fn upsert_replaces_and_delete_removes() {
    let (_dir, index) = indexed();
    let mut s1 = fixture().remove(0);
    s1.pages = vec!["/about".into()];
    s1.duration_s = 5;
    index.upsert(&[s1.clone()]).expect("upsert");
    // Not visible before the commit.
    assert_eq!(hits(&index, "page:/about"), set(&[]));
    index.commit(2).expect("commit");
    assert_eq!(hits(&index, "page:/about"), set(&[1]));
    assert_eq!(hits(&index, "page:/checkout"), set(&[2, 3, 6]));
    assert_eq!(index.num_docs(), 7);

    // The same id twice in one batch: the last one wins.
    let mut again = s1.clone();
    again.pages = vec!["/contact".into()];
    index.upsert(&[s1, again]).expect("upsert");
    index.commit(3).expect("commit");
    assert_eq!(hits(&index, "page:/about OR page:/contact"), set(&[1]));
    assert_eq!(hits(&index, "page:/contact"), set(&[1]));
    assert_eq!(index.num_docs(), 7);

    index.delete(&[2, 999]).expect("delete");
    index.commit(4).expect("commit");
    assert_eq!(hits(&index, "rage:true"), set(&[3, 5]));
    assert_eq!(index.num_docs(), 6);
}

#[test]
fn clear_drops_committed_and_pending_sessions() {
    let (_dir, index) = indexed();
    let mut pending = session(8, &["/pending"]);
    pending.site_id = 1;
    index.upsert(&[pending]).expect("upsert");
    index.clear().expect("clear");
    // Searches still see the old index until the reindex commits.
    assert_eq!(index.num_docs(), 7);
    index.upsert(&[session(9, &["/new"])]).expect("upsert");
    index.commit(10).expect("commit");
    assert_eq!(hits(&index, ""), set(&[9]));
    assert_eq!(index.num_docs(), 1);
}

#[test]
fn watermark_survives_reopen() {
    let dir = TempDir::new().expect("temp dir");
    {
        let index = SearchIndex::open(dir.path()).expect("open");
        assert_eq!(index.opened(), Opened::Created);
        assert_eq!(index.watermark(), None);
        index.upsert(&fixture()).expect("upsert");
        index.commit(41).expect("commit");
        index
            .commit(42)
            .expect("an empty commit still records the watermark");
        assert_eq!(index.watermark(), Some(42));
        // Uncommitted work is lost on close; the watermark says from where
        // to catch up.
        index.upsert(&[session(8, &["/lost"])]).expect("upsert");
    }
    let index = SearchIndex::open(dir.path()).expect("reopen");
    assert_eq!(index.opened(), Opened::Existing);
    assert_eq!(index.watermark(), Some(42));
    assert_eq!(index.num_docs(), 7);
    assert_eq!(hits(&index, "page:/lost"), set(&[]));
    assert_eq!(hits(&index, "rage:true AND country:SE"), set(&[2, 5]));
}

#[test]
fn open_creates_a_missing_directory() {
    let dir = TempDir::new().expect("temp dir");
    let path = dir.path().join("data").join("search");
    let index = SearchIndex::open(&path).expect("open");
    assert!(path.join("meta.json").exists());
    assert_eq!(index.opened(), Opened::Created);
    assert_eq!(index.num_docs(), 0);
    assert_eq!(
        index
            .search(1, "", Sort::Newest, 0, 10)
            .expect("search")
            .total,
        0
    );
}

#[test]
fn a_second_open_of_the_same_directory_is_an_index_error() {
    let (dir, _index) = indexed();
    match SearchIndex::open(dir.path()) {
        Err(SearchError::Index(m)) => assert!(m.contains("in use"), "{m}"),
        other => panic!("expected a lock error, got {:?}", other.map(|i| i.opened())),
    }
}

#[test]
fn another_schema_is_wiped_and_recreated() {
    use tantivy::schema::{Schema, TEXT};
    let dir = TempDir::new().expect("temp dir");
    {
        let mut b = Schema::builder();
        let title = b.add_text_field("title", TEXT);
        let old = tantivy::Index::create_in_dir(dir.path(), b.build()).expect("old index");
        let mut w: tantivy::IndexWriter = old.writer(15_000_000).expect("writer");
        w.add_document(tantivy::doc!(title => "old")).expect("add");
        w.commit().expect("commit");
    }
    std::fs::write(dir.path().join("keep.txt"), "").expect("write");
    std::fs::create_dir(dir.path().join("keep")).expect("mkdir");
    let index = SearchIndex::open(dir.path()).expect("open");
    assert_eq!(index.opened(), Opened::Recreated);
    assert_eq!(index.num_docs(), 0);
    assert_eq!(index.watermark(), None);
    assert!(
        dir.path().join("keep").is_dir(),
        "subdirectories are left alone"
    );
    index.upsert(&fixture()).expect("upsert");
    index.commit(1).expect("commit");
    assert_eq!(hits(&index, "duration:>60"), set(&[1, 2, 6]));
}

#[test]
fn an_index_another_process_writes_is_never_wiped() {
    use tantivy::schema::{Schema, TEXT};
    let dir = TempDir::new().expect("temp dir");
    let mut b = Schema::builder();
    b.add_text_field("title", TEXT);
    let other = tantivy::Index::create_in_dir(dir.path(), b.build()).expect("other index");
    let _held: tantivy::IndexWriter = other.writer(15_000_000).expect("writer");
    match SearchIndex::open(dir.path()) {
        Err(SearchError::Index(m)) => assert!(m.contains("in use"), "{m}"),
        other => panic!("expected a lock error, got {:?}", other.map(|i| i.opened())),
    }
    assert!(dir.path().join("meta.json").exists());
}

#[test]
fn another_index_version_is_wiped_and_recreated() {
    let (dir, index) = indexed();
    drop(index);
    {
        let raw = tantivy::Index::open_in_dir(dir.path()).expect("raw open");
        let mut w: tantivy::IndexWriter = raw.writer(15_000_000).expect("writer");
        let mut c = w.prepare_commit().expect("prepare");
        c.set_payload("trailmap-search v0 watermark=5");
        c.commit().expect("commit");
    }
    let index = SearchIndex::open(dir.path()).expect("open");
    assert_eq!(index.opened(), Opened::Recreated);
    assert_eq!(index.num_docs(), 0);
}

#[test]
fn a_corrupt_meta_json_is_recreated() {
    let (dir, index) = indexed();
    drop(index);
    std::fs::write(dir.path().join("meta.json"), "{ not json").expect("write");
    let index = SearchIndex::open(dir.path()).expect("open");
    assert_eq!(index.opened(), Opened::Recreated);
    assert_eq!(index.num_docs(), 0);
}

#[test]
fn bad_queries_explain_themselves() {
    let (_dir, index) = indexed();
    let cases: &[(&str, &str)] = &[
        (
            "(rage:true OR dead:true",
            "the ( at column 1 is never closed",
        ),
        ("rage:true)", "the ) at column 10 has no matching ("),
        (
            "city:\"New York",
            "the quote \" at column 6 is never closed",
        ),
        ("foo:bar", "unknown field `foo`"),
        ("https://example.com", "unknown field `https`"),
        ("duration:>abc", "duration: `abc` is not a duration"),
        ("duration:[10 TO abc]", "duration: `abc` is not a duration"),
        ("pages:/checkout", "pages: `/checkout` is not a page count"),
        ("start:>tomorrow", "start: `tomorrow` is not a date"),
        ("rage:maybe", "rage: expected true or false, got `maybe`"),
        ("country:[a TO b]", "country: ranges work on"),
        ("page:\"--\"", "page: `--` has no words"),
        ("/", "`/` has no words to search for"),
        ("rage:true AND", "syntax error"),
        ("AND rage:true", "syntax error"),
        ("page:", "syntax error"),
        ("duration:[10 TO", "syntax error"),
    ];
    for (q, want) in cases {
        let m = query_error(&index, q);
        assert!(m.contains(want), "{q}: {m:?} should contain {want:?}");
    }
}

#[test]
fn odd_input_never_panics() {
    let (_dir, index) = indexed();
    let odd = [
        ":",
        "::",
        "\"",
        "\"\"",
        "'",
        "(",
        ")",
        "()",
        "*",
        "-",
        "+",
        "--a",
        "AND",
        "OR",
        "NOT",
        "a OR",
        "NOT",
        "page:\"\"",
        "page:*",
        "//",
        "\\",
        "a\\",
        "[1 TO",
        "duration:>*",
        "duration:[* TO 5]",
        "start:>2026-11-01T",
        "~",
        "^2",
        "a^",
        "a~2",
        "\"a b\"~2",
        "\"a b\"*",
        "page:\"/a\"~1",
        "*:*",
        "page:/a/ OR exit:/",
        "page://",
        "page:/\\)",
        "referrer:",
        "referrer:\"\"",
        "referrer:www.",
        "é",
        "日本",
        "page:/日本",
        "a:b:c",
        "session:-1",
        "session:abc",
        "pages:99999999999999999999999",
        "start:-5",
        "page:/a*",
        "page:*a",
        "a* b*",
        "{1 TO 2}",
        "IN [a b]",
        "country: IN []",
        "city:O'Fallon",
        "'single quoted'",
        "-(-(-a))",
        "((((a))))",
        "a AND (b OR",
        "duration:[5 TO 1]",
        "start:[2026-11-02 TO 2026-11-01]",
        "page:/\u{0}",
    ];
    let deep_not = format!("{}rage:true", "NOT ".repeat(1000));
    let deep_minus = format!("{}rage:true", "-(".repeat(30) + &")".repeat(0));
    let many_terms = "a ".repeat(1500);
    // The deepest accepted nesting, on a test thread's 2 MiB stack (like a
    // tokio worker's).
    let deepest = format!("{}{}a{}", "(".repeat(32), "NOT ".repeat(32), ")".repeat(32));
    let odd = odd
        .iter()
        .copied()
        .chain([&deep_not, &deep_minus, &many_terms, &deepest].map(String::as_str));
    for q in odd {
        for sort in [Sort::Newest, Sort::Longest] {
            match index.search(1, q, sort, 0, 10) {
                Ok(_) | Err(SearchError::Query(_)) => {}
                Err(e) => panic!("{q}: {e}"),
            }
        }
    }
}

#[test]
fn searches_run_while_another_thread_indexes() {
    let (_dir, index) = indexed();
    let index = std::sync::Arc::new(index);
    let writer = {
        let index = std::sync::Arc::clone(&index);
        std::thread::spawn(move || {
            for round in 0..20 {
                let docs: Vec<SessionDoc> = (0..50)
                    .map(|i| session(1000 + round * 50 + i, &["/live"]))
                    .collect();
                index.upsert(&docs).expect("upsert");
                index.commit(100 + round).expect("commit");
            }
        })
    };
    let mut last = 0;
    while !writer.is_finished() {
        let r = index
            .search(1, "page:/live", Sort::Newest, 0, 10)
            .expect("search");
        // Commits are atomic: whole batches, never going backwards.
        assert_eq!(r.total % 50, 0);
        assert!(r.total >= last);
        last = r.total;
    }
    writer.join().expect("writer thread");
    let all = index
        .search(1, "page:/live", Sort::Newest, 0, 10)
        .expect("search");
    assert_eq!(all.total, 1000);
    assert_eq!(index.watermark(), Some(119));
}

/// The windowed top-k (see `topk`) against a brute-force sort of the
/// generated sessions, for broad queries (windows succeed) and for queries
/// whose hits are all old or short (windows fail and fall back).
#[test]
fn windowed_pages_equal_a_full_sort() {
    let n = 5000;
    let mut gen = super::synthetic::Generator::new(7);
    let docs: Vec<SessionDoc> = (0..n).map(|id| gen.session(id as i64, n)).collect();
    let dir = TempDir::new().expect("temp dir");
    let mut index = SearchIndex::open(dir.path()).expect("open");
    index.set_plain_below(100);
    index.upsert(&docs).expect("upsert");
    index.commit(1).expect("commit");

    let early = super::synthetic::START + 5 * 86_400_000;
    type Filter = fn(&SessionDoc, i64) -> bool;
    let cases: &[(&str, Filter)] = &[
        ("", |_, _| true),
        ("-rage:true", |d, _| !d.rage),
        ("duration:>60", |d, _| d.duration_s > 60),
        ("device:mobile OR device:tablet", |d, _| {
            d.device == "mobile" || d.device == "tablet"
        }),
        ("start:<2026-10-06", |d, early| d.start_ms < early),
        ("duration:<=10", |d, _| d.duration_s <= 10),
        // Fewer hits than `plain_below`: ranked by the first pass alone.
        ("rage:true AND device:tablet", |d, _| {
            d.rage && d.device == "tablet"
        }),
    ];
    for (q, keep) in cases {
        let hits: Vec<&SessionDoc> = docs
            .iter()
            .filter(|d| d.site_id == 1 && keep(d, early))
            .collect();
        for sort in [Sort::Newest, Sort::Longest] {
            let mut want = hits.clone();
            // Ties last: document order, which is session id order here.
            match sort {
                Sort::Newest => want.sort_by_key(|d| (std::cmp::Reverse(d.start_ms), d.session_id)),
                Sort::Longest => want.sort_by_key(|d| {
                    (
                        std::cmp::Reverse(d.duration_s),
                        std::cmp::Reverse(d.start_ms),
                        d.session_id,
                    )
                }),
            }
            let want: Vec<i64> = want.iter().map(|d| d.session_id).collect();
            for (offset, limit) in [
                (0, 50),
                (37, 20),
                (400, 50),
                (want.len().saturating_sub(3), 10),
            ] {
                let got = index.search(1, q, sort, offset, limit).expect("search");
                assert_eq!(got.total, want.len(), "{q} {sort:?}");
                let end = (offset + limit).min(want.len());
                assert_eq!(
                    got.session_ids,
                    want[offset.min(end)..end],
                    "{q} {sort:?} {offset}+{limit}"
                );
            }
        }
    }
    use super::topk::counters::{FELL_BACK, WINDOWED};
    use std::sync::atomic::Ordering::Relaxed;
    let (windowed, fell_back) = (WINDOWED.load(Relaxed), FELL_BACK.load(Relaxed));
    assert!(
        windowed > 10 && fell_back > 2,
        "both paths ran: {windowed} windowed, {fell_back} fell back"
    );
}
