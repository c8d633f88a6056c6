//! `trailmap import`: server access logs become sessions, equal to the
//! tracker's.
//!
//! Lines are parsed ([`crate::ingest::accesslog`]), filtered to page views
//! ([`filter`]), enriched with the collector's user-agent and GeoIP code,
//! keyed by the same kind of visitor hash, gathered per visitor
//! ([`gather`]) and cut into sessions by the pipeline's [`SessionWriter`],
//! the same 30-minute rule as the collector's. Every `commit_every` lines
//! the sessions and the input's offset are committed in one transaction (on
//! a second thread, while the next block is parsed), so an interrupted
//! import resumes exactly where its last commit stopped, and importing the
//! same input twice adds nothing.
//!
//! The visitor hash is keyed by a random salt that lives only as long as the
//! import: addresses are never stored, and the ids cannot be recomputed.

pub(crate) mod filter;
pub(crate) mod gather;
pub(crate) mod input;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::event::now_ms;
use crate::event::{Event, EventDetail, EventKind, Millis};
use crate::ingest::accesslog::{parse_seq_line, unescape, LogFormat};
use crate::ingest::enrich::{GeoIp, UaParser};
use crate::ingest::payload::{limits, path_keeping_query, truncate};
use crate::ingest::privacy::{mask_path_emails, UrlPolicy};
use crate::ingest::sessionize::{Salts, VisitorHasher};
use crate::pipeline::SessionWriter;
use crate::store::{read, sites, Store};
use filter::Filter;
use gather::Gatherer;
use input::{Input, Source};

/// What to read and how.
pub(crate) struct ImportOptions {
    pub site: String,
    pub format: InputFormat,
    pub inputs: Vec<Source>,
    pub filter: Filter,
    pub strip_query: bool,
    pub geoip: Option<std::path::PathBuf>,
    pub session_timeout: Duration,
    /// Lines (or gathered page views) per transaction.
    pub commit_every: u64,
    /// Longest line read; longer ones are skipped as `line_too_long`.
    pub max_line_bytes: usize,
    /// Show a progress bar (when stderr is a terminal).
    pub progress: bool,
}

pub(crate) enum InputFormat {
    Log(LogFormat),
    /// One session per line, page ids separated by spaces (UCI MSNBC .seq).
    Seq,
}

/// What an import did, for people and (as JSON) for scripts.
#[derive(Debug, Default, Serialize)]
pub(crate) struct ImportSummary {
    pub site: String,
    pub lines_read: u64,
    pub lines_imported: u64,
    pub lines_skipped: u64,
    /// Skipped lines by reason: malformed lines by what was wrong, filtered
    /// ones by rule, lines of inputs imported before.
    pub skipped: BTreeMap<&'static str, u64>,
    pub sessions_created: u64,
    pub pageviews_created: u64,
    pub elapsed_s: f64,
    pub lines_per_sec: f64,
    pub inputs: Vec<InputSummary>,
}

#[derive(Debug, Serialize)]
pub(crate) struct InputSummary {
    pub input: String,
    pub identity: String,
    /// "imported", "resumed" (from an earlier offset) or "already imported".
    pub status: &'static str,
    pub resumed_at_byte: u64,
    pub lines_read: u64,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for i in &self.inputs {
            writeln!(f, "{}: {} ({} lines read)", i.input, i.status, i.lines_read)?;
        }
        writeln!(
            f,
            "{} lines read, {} imported, {} skipped",
            self.lines_read, self.lines_imported, self.lines_skipped
        )?;
        for (reason, n) in &self.skipped {
            writeln!(f, "  skipped {reason}: {n}")?;
        }
        writeln!(
            f,
            "{} sessions and {} page views created for site {}",
            self.sessions_created, self.pageviews_created, self.site
        )?;
        write!(
            f,
            "{:.2} s, {:.0} lines/s",
            self.elapsed_s, self.lines_per_sec
        )
    }
}

/// Seq files have no times: sessions are laid out a second apart from
/// 2000-01-01 UTC, their page views ten seconds apart.
const SEQ_EPOCH_MS: Millis = 946_684_800_000;
const SEQ_SESSION_SPACING_MS: Millis = 1000;
const SEQ_PAGE_SPACING_MS: Millis = 10_000;

/// Runs an import into `store`.
pub(crate) fn run(store: &Store, opts: ImportOptions) -> Result<ImportSummary> {
    let started = Instant::now();
    let conn = store.read()?;
    let Some(site) = sites::get(&conn, &opts.site)? else {
        bail!(
            "unknown site {:?}: register it first with `trailmap site add {} --origin https://...`",
            opts.site,
            opts.site
        );
    };
    // Logged targets are paths; the site's first origin makes them URLs, so
    // landing pages' utm parameters and internal referrers read as the
    // tracker's do.
    let origin = site.origins.first().cloned().unwrap_or_default();
    let geo = opts.geoip.as_deref().map(GeoIp::open).transpose()?;
    let mut importer = Importer {
        site_id: site.id,
        origin,
        url_policy: UrlPolicy::new(&site.origins, &site.keep_query),
        keep_query: site.keep_query.clone(),
        ua: UaParser::new(),
        geo,
        hasher: VisitorHasher::new(Salts {
            day: 0,
            current: rand::random(),
            previous: None,
        }),
        committer: Committer::start(store, opts.session_timeout)?,
        gatherer: Gatherer::new(site.id),
        summary: ImportSummary {
            site: site.name.clone(),
            ..ImportSummary::default()
        },
        opts,
        watermark: Millis::MIN,
    };
    let inputs = importer.opts.inputs.clone();
    for source in &inputs {
        importer.import_input(&conn, source)?;
    }
    drop(conn);
    let sessions_created = importer.committer.finish()?;
    let s = &mut importer.summary;
    s.sessions_created = sessions_created;
    s.lines_skipped = s.skipped.values().sum();
    s.elapsed_s = started.elapsed().as_secs_f64();
    s.lines_per_sec = s.lines_read as f64 / s.elapsed_s.max(1e-9);
    Ok(importer.summary)
}

struct Importer {
    site_id: i64,
    origin: String,
    /// The collector's rule for visitors' URLs (referrers), for this site.
    url_policy: UrlPolicy,
    /// The query parameters the site keeps in page paths.
    keep_query: Vec<String>,
    ua: UaParser,
    geo: Option<GeoIp>,
    hasher: VisitorHasher,
    committer: Committer,
    gatherer: Gatherer,
    summary: ImportSummary,
    opts: ImportOptions,
    /// The latest time seen: the import's "now", for closing idle sessions.
    watermark: Millis,
}

impl Importer {
    fn import_input(&mut self, conn: &rusqlite::Connection, source: &Source) -> Result<()> {
        let mut input = Input::open(source)?;
        let progress = read::import_progress(conn, self.site_id, &input.identity)?;
        let (done_bytes, done_lines) = progress.unwrap_or((0, 0));
        let resumed = input.skip(done_bytes)?;
        let mut summary = InputSummary {
            input: source.name(),
            identity: input.identity.clone(),
            status: if done_bytes == 0 {
                "imported"
            } else {
                "resumed"
            },
            resumed_at_byte: resumed,
            lines_read: 0,
        };
        if done_lines > 0 {
            *self.summary.skipped.entry("imported_before").or_default() += done_lines;
            self.summary.lines_read += done_lines;
        }
        let bar = self.progress_bar(&input, resumed);
        let mut line = Vec::with_capacity(4096);
        let mut lines = done_lines;
        let mut since_commit = 0;
        loop {
            let read = input.next_line(&mut line, self.opts.max_line_bytes)?;
            if read == input::Line::End {
                break;
            }
            lines += 1;
            since_commit += 1;
            summary.lines_read += 1;
            self.summary.lines_read += 1;
            if read == input::Line::TooLong {
                self.skip("line_too_long");
            } else {
                self.line(&line, lines);
            }
            // A block ends after so many lines, or so many page views (a
            // sequence line holds many), which bounds memory either way.
            if since_commit >= self.opts.commit_every
                || self.gatherer.events() as u64 >= self.opts.commit_every
            {
                self.commit(&input, source, lines)?;
                since_commit = 0;
                if let Some(b) = &bar {
                    b.set_position(input.offset);
                }
            }
        }
        if summary.lines_read == 0 && done_bytes > 0 {
            summary.status = "already imported";
        }
        self.commit(&input, source, lines)?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        self.summary.inputs.push(summary);
        Ok(())
    }

    fn progress_bar(&self, input: &Input, at: u64) -> Option<indicatif::ProgressBar> {
        if !self.opts.progress || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = match input.size {
            Some(size) => indicatif::ProgressBar::new(size),
            None => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_position(at);
        Some(bar)
    }

    fn skip(&mut self, reason: &'static str) {
        *self.summary.skipped.entry(reason).or_default() += 1;
    }

    /// One line: parsed, filtered, gathered (or counted as skipped).
    fn line(&mut self, raw: &[u8], line_no: u64) {
        match &self.opts.format {
            InputFormat::Seq => self.seq_line(raw, line_no),
            InputFormat::Log(format) => match format.parse_line(raw) {
                Ok(l) => self.log_line(l),
                Err(bad) => self.skip(bad.as_str()),
            },
        }
    }

    fn log_line(&mut self, l: crate::ingest::accesslog::LogLine<'_>) {
        // Logged as escaped text (`\"`, `\xHH`): stored as it was sent.
        let target = String::from_utf8_lossy(&unescape(l.target)).into_owned();
        let path_end = target.find(['?', '#']).unwrap_or(target.len());
        let path = truncate(&mask_path_emails(&target[..path_end]), limits::PATH);
        if let Err(skip) = self.opts.filter.request(l.method, l.status, &path) {
            return self.skip(skip.as_str());
        }
        let user_agent = String::from_utf8_lossy(&unescape(l.user_agent)).into_owned();
        let client = self.ua.parse(&user_agent);
        if client.is_bot && !self.opts.filter.enable_bots {
            return self.skip(filter::Skip::Bot.as_str());
        }
        let visitor = self
            .hasher
            .visitor_ids(self.site_id, l.ip, &user_agent)
            .current;
        let shown = if self.opts.strip_query {
            path.clone()
        } else {
            // Targets are paths: a stand-in origin makes them parseable.
            const BASE: &str = "http://target.invalid";
            self.url_policy
                .page_url(&format!("{BASE}{target}"))
                .strip_prefix(BASE)
                .map(str::to_string)
                .unwrap_or_else(|| path.clone())
        };
        let event = Event {
            kind: EventKind::Pageview,
            ts: l.ts,
            path: Some(path_keeping_query(
                &path,
                target[path_end..]
                    .strip_prefix('?')
                    .and_then(|q| q.split('#').next()),
                &self.keep_query,
            )),
            detail: EventDetail {
                url: Some(truncate(&format!("{}{shown}", self.origin), limits::URL)),
                // The collector's one policy for visitors' URLs.
                referrer: l.referrer.and_then(|r| {
                    let r = truncate(&String::from_utf8_lossy(&unescape(r)), limits::URL);
                    self.url_policy.clean(&r, None)
                }),
                status: Some(l.status),
                ..EventDetail::default()
            },
        };
        self.watermark = self.watermark.max(l.ts);
        let geo = &self.geo;
        self.gatherer.add(
            visitor,
            || {
                (
                    client,
                    geo.as_ref().map(|g| g.lookup(l.ip)).unwrap_or_default(),
                )
            },
            event,
        );
        self.summary.lines_imported += 1;
        self.summary.pageviews_created += 1;
    }

    /// A seq line is a whole session: its own visitor, pages `/{id}`.
    fn seq_line(&mut self, raw: &[u8], line_no: u64) {
        let ids = match parse_seq_line(raw) {
            Ok(Some(ids)) => ids,
            Ok(None) => return self.skip("empty"),
            Err(bad) => return self.skip(bad.as_str()),
        };
        let start = SEQ_EPOCH_MS + line_no as Millis * SEQ_SESSION_SPACING_MS;
        self.watermark = self.watermark.max(start);
        for (k, id) in ids.iter().enumerate() {
            let event = Event {
                kind: EventKind::Pageview,
                ts: start + k as Millis * SEQ_PAGE_SPACING_MS,
                path: Some(format!("/{id}")),
                detail: EventDetail::default(),
            };
            self.gatherer.add(line_no, seq_client, event);
        }
        self.summary.lines_imported += 1;
        self.summary.pageviews_created += ids.len() as u64;
    }

    /// Hands what was gathered, with the input's offset, to the committer.
    fn commit(&mut self, input: &Input, source: &Source, lines: u64) -> Result<()> {
        self.committer.send(Block {
            batches: self.gatherer.drain(),
            site_id: self.site_id,
            identity: input.identity.clone(),
            path: source.name(),
            offset: input.offset,
            lines,
            watermark: self.watermark,
        })
    }
}

/// One block of an input: its sessions and how far it reaches.
struct Block {
    batches: Vec<crate::pipeline::IngestBatch>,
    site_id: i64,
    identity: String,
    path: String,
    offset: u64,
    lines: u64,
    /// The latest time seen so far: the import's "now".
    watermark: Millis,
}

/// Sessionizes and commits blocks on its own thread, so that reading and
/// parsing the next block overlaps writing this one. At most one block
/// waits, which bounds memory.
struct Committer {
    blocks: Option<std::sync::mpsc::SyncSender<Block>>,
    thread: Option<std::thread::JoinHandle<Result<u64>>>,
}

impl Committer {
    fn start(store: &Store, session_timeout: Duration) -> Result<Committer> {
        let mut writer = store.writer(true)?;
        let mut sessions = SessionWriter::load(&writer, session_timeout, now_ms())?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Block>(1);
        let thread = std::thread::Builder::new()
            .name("trailmap-import-writer".into())
            .spawn(move || {
                for block in rx {
                    let mut txn = writer.begin()?;
                    for batch in &block.batches {
                        sessions.apply(&mut txn, batch)?;
                    }
                    sessions.flush(&mut txn)?;
                    txn.record_import(
                        block.site_id,
                        &block.identity,
                        &block.path,
                        block.offset,
                        block.lines,
                        now_ms(),
                    )?;
                    txn.commit().context("cannot commit the import")?;
                    // Sessions idle at the log's own clock can no longer continue.
                    if block.watermark != Millis::MIN {
                        sessions.close_idle(block.watermark);
                    }
                }
                Ok(sessions.sessions_started())
            })?;
        Ok(Committer {
            blocks: Some(tx),
            thread: Some(thread),
        })
    }

    fn send(&mut self, block: Block) -> Result<()> {
        let sent = self.blocks.as_ref().map(|tx| tx.send(block).is_ok());
        if sent != Some(true) {
            // The thread stopped on an error: report it.
            self.finish()?;
            bail!("the import writer stopped");
        }
        Ok(())
    }

    /// Waits for every block to be committed; returns the sessions started.
    fn finish(&mut self) -> Result<u64> {
        drop(self.blocks.take());
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("the import writer panicked"))?,
            None => Ok(0),
        }
    }
}

/// Sequence files say nothing about their visitors.
fn seq_client() -> (crate::event::ClientInfo, crate::event::Geo) {
    (
        crate::event::ClientInfo {
            browser: "Other".into(),
            os: "Other".into(),
            device: crate::event::DeviceClass::Other,
            is_bot: false,
        },
        crate::event::Geo::default(),
    )
}
