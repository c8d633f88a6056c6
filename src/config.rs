//! Settings: command-line flags, `TRAILMAP_*` environment variables and an
//! optional `trailmap.toml`, resolved in that order of precedence.
//!
//! clap reads flags and environment variables together (a flag wins over its
//! variable); whatever neither gives is taken from the file, then from the
//! defaults here. Every limit the collector enforces is a setting, so the
//! README can document one table of them.
//!
//! Every command resolves its settings here, by the same route:
//! [`resolve_serve`], [`resolve_import`] and [`resolve_demo`]. A setting
//! two commands share is one setting: one flag name, one variable, one key
//! and one default. The session rule (`session_timeout_minutes`) and the
//! GeoIP database (`geoip`) are top-level keys of trailmap.toml beside
//! `db`, because the collector, the demo and `trailmap import` promise the
//! same sessions and the same enrichment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Deserialize;

/// Where the database lives unless `--db` says otherwise.
pub(crate) const DEFAULT_DB: &str = "./data/trailmap.db";
/// The config file read when `--config` is not given and it exists.
pub(crate) const DEFAULT_CONFIG: &str = "./trailmap.toml";
/// Where `trailmap demo` keeps its database unless `--db` says otherwise.
pub(crate) const DEFAULT_DEMO_DB: &str = "./data/demo.db";
/// The address `serve` and `demo` listen on unless told otherwise.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Minutes of inactivity that end a session: one rule for the collector,
/// the demo and `trailmap import`.
pub(crate) const DEFAULT_SESSION_TIMEOUT_MINUTES: u64 = 30;
/// Visitors `trailmap demo` simulates unless `--visitors` says otherwise.
pub(crate) const DEFAULT_DEMO_VISITORS: usize = 400;

/// Flags shared by every command that touches the store.
#[derive(Debug, Clone, Args)]
pub(crate) struct StoreArgs {
    /// SQLite database file (created on first use).
    #[arg(long, env = "TRAILMAP_DB", global = true)]
    pub db: Option<PathBuf>,
    /// Settings file (TOML). Defaults to ./trailmap.toml when it exists.
    #[arg(long, env = "TRAILMAP_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// Flags of `trailmap serve`. Each is optional so that the file and the
/// defaults can fill what is not given.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TRAILMAP_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Bearer token for the read API. Generated and printed once when unset.
    #[arg(long, env = "TRAILMAP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// GeoIP2/GeoLite2 City or Country database (.mmdb).
    #[arg(long, env = "TRAILMAP_GEOIP")]
    pub geoip: Option<PathBuf>,
    /// Minutes of inactivity after which a session ends.
    #[arg(long, env = "TRAILMAP_SESSION_TIMEOUT_MINUTES")]
    pub session_timeout_minutes: Option<u64>,
    /// Largest accepted /api/collect body, in bytes.
    #[arg(long, env = "TRAILMAP_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Most events accepted in one batch.
    #[arg(long, env = "TRAILMAP_MAX_EVENTS_PER_BATCH")]
    pub max_events_per_batch: Option<usize>,
    /// Batches that may wait for the writer before collect answers 503.
    #[arg(long, env = "TRAILMAP_QUEUE_CAPACITY")]
    pub queue_capacity: Option<usize>,
    /// Take the client address from X-Forwarded-For (only behind a proxy you run).
    #[arg(long, env = "TRAILMAP_TRUST_PROXY")]
    pub trust_proxy: Option<bool>,
    /// SQLite durability: "full" (fsync every commit) or "normal".
    #[arg(long, env = "TRAILMAP_SYNCHRONOUS")]
    pub synchronous: Option<Synchronous>,
    /// Most compressed replay layout bytes stored per site (MiB).
    #[arg(long, env = "TRAILMAP_REPLAY_QUOTA_MB")]
    pub replay_quota_mb: Option<u64>,
    /// Replay layouts not used for this many days are deleted.
    #[arg(long, env = "TRAILMAP_REPLAY_RETENTION_DAYS")]
    pub replay_retention_days: Option<u64>,
    /// Longest a report or chart may compute before it answers 503 (seconds, fractions allowed).
    #[arg(long, env = "TRAILMAP_ANALYSIS_TIMEOUT_SECONDS")]
    pub analysis_timeout_seconds: Option<f64>,
    /// Most reports and charts computed at once; more wait their turn (within their timeout). Default: the number of CPUs.
    #[arg(long, env = "TRAILMAP_MAX_CONCURRENT_REPORTS")]
    pub max_concurrent_reports: Option<usize>,
    /// Most memory (MiB) the clicks and view depths of the pages mapped lately take; 0 keeps none.
    #[arg(long, env = "TRAILMAP_HEATMAP_MEMORY_MB")]
    pub heatmap_memory_mb: Option<usize>,
    /// Sessions `contrast` and `why` (with replay layouts) count in full; past it a deterministic sample of about as many, its rate in the answer.
    #[arg(long, env = "TRAILMAP_INSIGHTS_SAMPLE_SESSIONS")]
    pub insights_sample_sessions: Option<usize>,
    /// Most sessions held in memory; past it the least recently active close.
    #[arg(long, env = "TRAILMAP_MAX_OPEN_SESSIONS")]
    pub max_open_sessions: Option<usize>,
    /// Most memory (MiB) open sessions take; past it the least recently active close.
    #[arg(long, env = "TRAILMAP_MAX_SESSION_MEMORY_MB")]
    pub max_session_memory_mb: Option<usize>,
    /// Most page paths the writer keeps interned in memory (a cache of the store).
    #[arg(long, env = "TRAILMAP_MAX_CACHED_PAGES")]
    pub max_cached_pages: Option<usize>,
    /// Most bytes of events queued or being committed before collect answers 503.
    #[arg(long, env = "TRAILMAP_QUEUE_MAX_BYTES")]
    pub queue_max_bytes: Option<usize>,
    /// Longest wait (ms) of committed batches past which collect answers 503.
    #[arg(long, env = "TRAILMAP_QUEUE_MAX_WAIT_MS")]
    pub queue_max_wait_ms: Option<u64>,
    /// Collect batches per second one client address may send (0 = no limit).
    #[arg(long, env = "TRAILMAP_RATE_PER_CLIENT")]
    pub rate_per_client: Option<u32>,
    /// Batches one client address may send at once above its rate.
    #[arg(long, env = "TRAILMAP_RATE_BURST_PER_CLIENT")]
    pub rate_burst_per_client: Option<u32>,
    /// Client addresses the rate limiter tracks (least recently seen forgotten).
    #[arg(long, env = "TRAILMAP_RATE_TRACKED_CLIENTS")]
    pub rate_tracked_clients: Option<usize>,
    /// Replay layout uploads per minute from one client address (0 = no limit).
    #[arg(long, env = "TRAILMAP_REPLAY_UPLOADS_PER_CLIENT_MINUTE")]
    pub replay_uploads_per_client_minute: Option<u32>,
    /// Replay layout uploads per minute to one site (0 = no limit).
    #[arg(long, env = "TRAILMAP_REPLAY_UPLOADS_PER_SITE_MINUTE")]
    pub replay_uploads_per_site_minute: Option<u32>,
    /// Compressed replay layout MiB one client address may upload an hour (0 = no limit).
    #[arg(long, env = "TRAILMAP_REPLAY_UPLOAD_MB_PER_CLIENT_HOUR")]
    pub replay_upload_mb_per_client_hour: Option<u32>,
    /// Sign-in attempts a minute from one client address (0 = no limit).
    #[arg(long, env = "TRAILMAP_SIGN_INS_PER_CLIENT_MINUTE")]
    pub sign_ins_per_client_minute: Option<u32>,
    /// Hours a dashboard sign-in lasts (1 to 8760).
    #[arg(long, env = "TRAILMAP_SIGN_IN_HOURS")]
    pub sign_in_hours: Option<u32>,
    /// Seconds a write waits for another writer on the database (an import) before failing.
    #[arg(long, env = "TRAILMAP_BUSY_TIMEOUT_SECS")]
    pub busy_timeout_secs: Option<u64>,
    /// Retry-After (seconds) sent with the 503 while the disk is full.
    #[arg(long, env = "TRAILMAP_DISK_FULL_RETRY_AFTER_SECS")]
    pub disk_full_retry_after_secs: Option<u32>,
    /// Seconds a client gets to send a request's headers.
    #[arg(long, env = "TRAILMAP_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a client gets to send a whole request body (collect, replay uploads).
    #[arg(long, env = "TRAILMAP_BODY_TIMEOUT_SECS")]
    pub body_timeout_secs: Option<u64>,
    /// Seconds a keep-alive connection may wait for its next request.
    #[arg(long, env = "TRAILMAP_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Most open client connections (default: from the open-files limit).
    #[arg(long, env = "TRAILMAP_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Largest request head (request line and headers), in bytes.
    #[arg(long, env = "TRAILMAP_MAX_HEADER_BYTES")]
    pub max_header_bytes: Option<usize>,
    /// Most headers in one request.
    #[arg(long, env = "TRAILMAP_MAX_HEADERS")]
    pub max_headers: Option<usize>,
    /// Request body bytes all unfinished requests together may hold (MiB).
    #[arg(long, env = "TRAILMAP_BODY_BUDGET_MB")]
    pub body_budget_mb: Option<u64>,
    /// Extra address serving only /metrics, without a token (a private scrape network).
    #[arg(long, env = "TRAILMAP_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Serve the dashboards from this folder instead of the copy built in (for editing them).
    #[arg(long, env = "TRAILMAP_DASHBOARDS_DIR")]
    pub dashboards_dir: Option<PathBuf>,
}

/// The settings flags of `trailmap import` (its switches and inputs are
/// the command's own; these are settings, so the file can give them too).
#[derive(Debug, Clone, Default, Args)]
pub struct ImportSettingsArgs {
    /// GeoIP2/GeoLite2 database (.mmdb).
    #[arg(long, env = "TRAILMAP_GEOIP")]
    pub geoip: Option<PathBuf>,
    /// Minutes of inactivity that end a session (the collector's rule). Default 30.
    #[arg(long, env = "TRAILMAP_SESSION_TIMEOUT_MINUTES")]
    pub session_timeout_minutes: Option<u64>,
    /// Longest line read (bytes); longer lines are skipped as line_too_long. Default 65536.
    #[arg(long, env = "TRAILMAP_IMPORT_MAX_LINE_BYTES")]
    pub max_line_bytes: Option<usize>,
}

/// Flags of `trailmap demo`. Each is optional so that the file and the
/// defaults can fill what is not given.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct DemoArgs {
    /// Collector address; the shop gets the next port. Default 127.0.0.1:8080.
    #[arg(long, env = "TRAILMAP_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Shop address (default: the collector's port plus one).
    #[arg(long, env = "TRAILMAP_DEMO_SHOP_LISTEN")]
    pub shop_listen: Option<SocketAddr>,
    /// Read API token (generated and printed when unset).
    #[arg(long, env = "TRAILMAP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// GeoIP2/GeoLite2 database (.mmdb).
    #[arg(long, env = "TRAILMAP_GEOIP")]
    pub geoip: Option<PathBuf>,
    /// Minutes of inactivity that end a session (the collector's rule). Default 30.
    #[arg(long, env = "TRAILMAP_SESSION_TIMEOUT_MINUTES")]
    pub session_timeout_minutes: Option<u64>,
    /// Visitors to simulate (0: none). Default 400.
    #[arg(long, env = "TRAILMAP_DEMO_VISITORS")]
    pub visitors: Option<usize>,
    /// Serve the dashboards from this folder instead of the copy built in.
    #[arg(long, env = "TRAILMAP_DASHBOARDS_DIR")]
    pub dashboards_dir: Option<PathBuf>,
}

/// SQLite's `synchronous` setting for the writer, as a user chooses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Synchronous {
    /// fsync at every commit: a 202 survives power loss.
    Full,
    /// fsync at checkpoints only: a 202 survives a crash of trailmap, not of the OS.
    Normal,
}

impl Synchronous {}

/// The shape of trailmap.toml: the settings every command shares at the
/// top (`db`, `session_timeout_minutes`, `geoip`), and a table per command
/// (`[serve]`, `[import]`, `[demo]`) with the same names as its flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub db: Option<PathBuf>,
    /// The session rule of serve, demo and import.
    pub session_timeout_minutes: Option<u64>,
    /// The GeoIP database of serve, demo and import.
    pub geoip: Option<PathBuf>,
    #[serde(default)]
    pub serve: FileServe,
    #[serde(default)]
    pub import: FileImport,
    #[serde(default)]
    pub demo: FileDemo,
    /// The `[budgets]` table: the budgets of user-written patterns (rules,
    /// funnel steps, stages, goals), the same for every command. Kept as
    /// written: what its keys mean belongs to the patterns' owner, which
    /// reads it through [`crate::service::install_budgets`].
    #[serde(default)]
    pub budgets: toml::Table,
}

impl FileConfig {
    /// The shared session timeout: the top-level key, or its older name in
    /// `[serve]` (both at once is refused by [`load_file`]).
    fn session_timeout_minutes(&self) -> Option<u64> {
        self.session_timeout_minutes
            .or(self.serve.session_timeout_minutes)
    }

    /// The shared GeoIP database: the top-level key, or its older name in `[serve]`.
    fn geoip(&self) -> Option<PathBuf> {
        self.geoip.clone().or_else(|| self.serve.geoip.clone())
    }

    /// Refuses a setting given twice, at the top and under its older name.
    fn check_shared(&self) -> Result<()> {
        if self.session_timeout_minutes.is_some() && self.serve.session_timeout_minutes.is_some() {
            bail!(
                "session_timeout_minutes is set twice: keep the top-level key \
                 ([serve] session_timeout_minutes is its older name)"
            );
        }
        if self.geoip.is_some() && self.serve.geoip.is_some() {
            bail!("geoip is set twice: keep the top-level key ([serve] geoip is its older name)");
        }
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileServe {
    pub listen: Option<SocketAddr>,
    pub token: Option<String>,
    /// Older name of the top-level `geoip`.
    pub geoip: Option<PathBuf>,
    /// Older name of the top-level `session_timeout_minutes`.
    pub session_timeout_minutes: Option<u64>,
    pub max_body_bytes: Option<usize>,
    pub max_events_per_batch: Option<usize>,
    pub queue_capacity: Option<usize>,
    pub trust_proxy: Option<bool>,
    pub synchronous: Option<Synchronous>,
    pub replay_quota_mb: Option<u64>,
    pub replay_retention_days: Option<u64>,
    pub analysis_timeout_seconds: Option<f64>,
    pub max_concurrent_reports: Option<usize>,
    pub heatmap_memory_mb: Option<usize>,
    pub insights_sample_sessions: Option<usize>,
    pub max_open_sessions: Option<usize>,
    pub max_session_memory_mb: Option<usize>,
    pub max_cached_pages: Option<usize>,
    pub queue_max_bytes: Option<usize>,
    pub queue_max_wait_ms: Option<u64>,
    pub rate_per_client: Option<u32>,
    pub rate_burst_per_client: Option<u32>,
    pub rate_tracked_clients: Option<usize>,
    pub replay_uploads_per_client_minute: Option<u32>,
    pub replay_uploads_per_site_minute: Option<u32>,
    pub replay_upload_mb_per_client_hour: Option<u32>,
    pub sign_ins_per_client_minute: Option<u32>,
    pub sign_in_hours: Option<u32>,
    pub busy_timeout_secs: Option<u64>,
    pub disk_full_retry_after_secs: Option<u32>,
    pub header_timeout_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub max_headers: Option<usize>,
    pub body_budget_mb: Option<u64>,
    pub metrics_listen: Option<SocketAddr>,
    pub dashboards_dir: Option<PathBuf>,
}

/// The collector's resolved settings.
#[derive(Debug, Clone)]
pub(crate) struct ServeSettings {
    pub listen: SocketAddr,
    pub db: PathBuf,
    pub token: Option<String>,
    pub geoip: Option<PathBuf>,
    pub session_timeout: Duration,
    pub limits: Limits,
    pub queue_capacity: usize,
    pub trust_proxy: bool,
    pub synchronous: Synchronous,
    pub replay: ReplayLimits,
    pub pipeline: PipelineLimits,
    pub rates: RateLimits,
    pub store: StoreLimits,
    pub conn: ConnLimits,
    /// Where /metrics is also served without a token.
    pub metrics_listen: Option<SocketAddr>,
    /// The folder the dashboards are served from; `None`: the embedded copy.
    pub dashboards_dir: Option<PathBuf>,
    /// How long a dashboard sign-in (its cookie) lasts, in hours.
    pub sign_in_hours: u32,
}

/// Hours a dashboard sign-in lasts unless `--sign-in-hours` says otherwise:
/// a week.
pub(crate) const DEFAULT_SIGN_IN_HOURS: u32 = 168;

/// What the writer may hold in memory and how long a batch may wait: the
/// collector's memory budget (README, "Memory budget").
#[derive(Debug, Clone, Copy)]
pub(crate) struct PipelineLimits {
    /// Sessions held open in memory (~0.5 KiB each, more for long ones).
    pub max_open_sessions: usize,
    /// Bytes the open sessions may take (long sessions take more).
    pub max_session_memory: usize,
    /// Interned page paths cached in memory.
    pub max_cached_pages: usize,
    /// Encoded event bytes queued or being committed.
    pub queue_max_bytes: usize,
    /// Past this wait of the batches being committed, new ones are refused.
    pub queue_max_wait: Duration,
}

impl Default for PipelineLimits {
    fn default() -> Self {
        PipelineLimits {
            max_open_sessions: 100_000,
            max_session_memory: 128 << 20,
            max_cached_pages: 100_000,
            queue_max_bytes: 32 * 1024 * 1024,
            queue_max_wait: Duration::from_secs(2),
        }
    }
}

/// Per-client (hashed address) and per-site rate limits; 0 turns one off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateLimits {
    /// Collect batches per second per client address.
    pub per_client: u32,
    /// Batches a client may send at once above its rate.
    pub burst_per_client: u32,
    /// Client addresses tracked; the least recently seen are forgotten.
    pub tracked_clients: usize,
    /// Replay uploads per minute per client address (also their burst).
    pub replay_per_client_minute: u32,
    /// Replay uploads per minute per site (also their burst).
    pub replay_per_site_minute: u32,
    /// Compressed replay bytes an hour per client address, in MiB (also
    /// their burst): what one client can push through the site's quota.
    pub replay_mb_per_client_hour: u32,
    /// Sign-in attempts a minute per client address (also their burst):
    /// with argon2's cost, what keeps password guessing slow.
    pub sign_ins_per_client_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_client: 50,
            burst_per_client: 500,
            tracked_clients: 100_000,
            replay_per_client_minute: 60,
            replay_per_site_minute: 1200,
            // A visitor's layouts are tens of KiB each, shared by content
            // hash across pages seen twice: 16 MiB is hundreds of pages.
            replay_mb_per_client_hour: 16,
            sign_ins_per_client_minute: 10,
        }
    }
}

/// How the server's writes live with other writers and a full disk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreLimits {
    /// How long a write waits for another writer's lock (SQLite's busy timeout).
    pub busy_timeout: Duration,
    /// Retry-After with the 503 that collect answers while the disk is full.
    pub disk_full_retry_after_secs: u32,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            busy_timeout: Duration::from_secs(10),
            disk_full_retry_after_secs: 10,
        }
    }
}

/// What one client connection may cost: time, header size, body memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    /// From accepting a connection (or the first byte of a later request)
    /// to the end of the request's headers.
    pub header_timeout: Duration,
    /// From the end of the headers to the end of the body.
    pub body_timeout: Duration,
    /// A keep-alive connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Open client connections; `None` derives it from RLIMIT_NOFILE at start.
    pub max_connections: Option<usize>,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// Body bytes held by all unfinished requests together.
    pub body_budget_bytes: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(10),
            max_connections: None,
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            body_budget_bytes: 64 * 1024 * 1024,
        }
    }
}

/// How much session replay may store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReplayLimits {
    /// Compressed layout bytes per site.
    pub quota_bytes: u64,
    /// Layouts unused for longer are deleted.
    pub retention: Duration,
}

impl Default for ReplayLimits {
    fn default() -> Self {
        ReplayLimits {
            quota_bytes: 100 * 1024 * 1024,
            retention: Duration::from_secs(30 * 86_400),
        }
    }
}

/// What the collector accepts in one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_body_bytes: usize,
    pub max_events_per_batch: usize,
    /// Longest a report or chart of the read API may compute.
    pub analysis_timeout: Duration,
    /// Most reports and charts computed at once.
    pub max_concurrent_reports: usize,
    /// Bytes the clicks and view depths of the pages mapped lately take.
    pub heatmap_memory_bytes: usize,
    /// Sessions `contrast` and `why` count before they sample.
    pub insights_sample_sessions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024,
            max_events_per_batch: 200,
            analysis_timeout: Duration::from_secs(10),
            // Reports are CPU-bound: more at once than cores only shares
            // them out slower, and adds each one's working memory.
            max_concurrent_reports: std::thread::available_parallelism().map_or(2, |n| n.get()),
            heatmap_memory_bytes: crate::engine::activity::DEFAULT_BUDGET_BYTES,
            insights_sample_sessions: crate::service::insights::SAMPLE_LIMIT,
        }
    }
}

impl ServeSettings {
    /// Settings for tests and the demo: everything default but the paths.
    pub(crate) fn new(listen: SocketAddr, db: PathBuf) -> ServeSettings {
        ServeSettings {
            listen,
            db,
            token: None,
            geoip: None,
            session_timeout: Duration::from_secs(DEFAULT_SESSION_TIMEOUT_MINUTES * 60),
            limits: Limits::default(),
            queue_capacity: 2048,
            trust_proxy: false,
            synchronous: Synchronous::Full,
            replay: ReplayLimits::default(),
            pipeline: PipelineLimits::default(),
            rates: RateLimits::default(),
            store: StoreLimits::default(),
            conn: ConnLimits::default(),
            metrics_listen: None,
            dashboards_dir: None,
            sign_in_hours: DEFAULT_SIGN_IN_HOURS,
        }
    }
}

/// The longest access-log line `trailmap import` reads, unless
/// `--max-line-bytes` or `[import] max_line_bytes` says otherwise. Real
/// lines are well under 8 KiB; a longer one is junk or an attack, and is
/// skipped without being held in memory.
pub(crate) const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;

/// The `[import]` table of trailmap.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileImport {
    pub max_line_bytes: Option<usize>,
}

/// The `[demo]` table of trailmap.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileDemo {
    pub listen: Option<SocketAddr>,
    pub shop_listen: Option<SocketAddr>,
    pub token: Option<String>,
    pub visitors: Option<usize>,
    pub dashboards_dir: Option<PathBuf>,
}

/// `trailmap import`'s resolved settings.
#[derive(Debug, Clone)]
pub(crate) struct ImportSettings {
    pub db: PathBuf,
    pub geoip: Option<PathBuf>,
    /// The same rule as the collector's (`session_timeout_minutes`).
    pub session_timeout: Duration,
    /// Longest line read; longer ones are skipped as `line_too_long`.
    pub max_line_bytes: usize,
}

/// `trailmap demo`'s resolved settings.
#[derive(Debug, Clone)]
pub(crate) struct DemoSettings {
    pub listen: SocketAddr,
    /// The shop's address; `None`: the collector's port plus one.
    pub shop_listen: Option<SocketAddr>,
    pub db: PathBuf,
    pub token: Option<String>,
    pub geoip: Option<PathBuf>,
    pub session_timeout: Duration,
    /// Visitors to simulate; 0 sends no traffic (for browser tests).
    pub visitors: usize,
    pub dashboards_dir: Option<PathBuf>,
}

/// `trailmap import`'s settings: flags (and their env vars) over the file
/// over the defaults, checked like the collector's.
pub(crate) fn resolve_import(
    store: &StoreArgs,
    args: &ImportSettingsArgs,
    file: FileConfig,
) -> Result<ImportSettings> {
    Ok(ImportSettings {
        db: db_path(store, &file),
        geoip: args.geoip.clone().or_else(|| file.geoip()),
        session_timeout: session_timeout(args.session_timeout_minutes, &file)?,
        max_line_bytes: resolve_max_line_bytes(args.max_line_bytes, &file)?,
    })
}

/// `trailmap demo`'s settings: flags (and their env vars) over the file's
/// shared keys and `[demo]` table over the defaults. The database is the
/// demo's own unless `--db` or the file's `db` names one (the demo refuses
/// to replace a database that is not a demo's).
pub(crate) fn resolve_demo(
    store: &StoreArgs,
    args: &DemoArgs,
    file: FileConfig,
) -> Result<DemoSettings> {
    let db = store
        .db
        .clone()
        .or_else(|| file.db.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DEMO_DB));
    let session_timeout = session_timeout(args.session_timeout_minutes, &file)?;
    let geoip = args.geoip.clone().or_else(|| file.geoip());
    let d = file.demo;
    let token = args.token.clone().or(d.token).filter(|t| !t.is_empty());
    check_token(token.as_deref())?;
    Ok(DemoSettings {
        listen: args.listen.or(d.listen).unwrap_or_else(default_listen),
        shop_listen: args.shop_listen.or(d.shop_listen),
        db,
        token,
        geoip,
        session_timeout,
        visitors: args
            .visitors
            .or(d.visitors)
            .unwrap_or(DEFAULT_DEMO_VISITORS),
        dashboards_dir: dashboards_dir(args.dashboards_dir.clone().or(d.dashboards_dir))?,
    })
}

/// The session rule every command that cuts sessions follows: flag (or
/// `TRAILMAP_SESSION_TIMEOUT_MINUTES`) over the file over the default.
fn session_timeout(flag: Option<u64>, file: &FileConfig) -> Result<Duration> {
    let m = flag
        .or(file.session_timeout_minutes())
        .unwrap_or(DEFAULT_SESSION_TIMEOUT_MINUTES);
    if m == 0 || m > 24 * 60 {
        bail!("session timeout must be 1..=1440 minutes, got {m}");
    }
    Ok(Duration::from_secs(m * 60))
}

/// A read API token must not be guessable by brute force.
fn check_token(token: Option<&str>) -> Result<()> {
    if token.is_some_and(|t| t.len() < 16) {
        bail!("the API token must be at least 16 characters");
    }
    Ok(())
}

/// A dashboards folder must exist, else every page would be a 404.
fn dashboards_dir(dir: Option<PathBuf>) -> Result<Option<PathBuf>> {
    if let Some(d) = &dir {
        if !d.is_dir() {
            bail!("the dashboards folder {} is not a directory", d.display());
        }
    }
    Ok(dir)
}

/// `trailmap import`'s line limit: flag (or env) over file over default.
fn resolve_max_line_bytes(flag: Option<usize>, file: &FileConfig) -> Result<usize> {
    let n = flag
        .or(file.import.max_line_bytes)
        .unwrap_or(DEFAULT_MAX_LINE_BYTES);
    if !(256..=64 * 1024 * 1024).contains(&n) {
        bail!("max line bytes must be 256..=67108864, got {n}");
    }
    Ok(n)
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN.parse().expect("valid literal")
}

/// Reads the config file named by `--config`, or ./trailmap.toml if present.
pub(crate) fn load_file(store: &StoreArgs) -> Result<FileConfig> {
    let (path, required) = match &store.config {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    if !required && !path.exists() {
        return Ok(FileConfig::default());
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let file: FileConfig =
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))?;
    file.check_shared()
        .with_context(|| format!("invalid config file {}", path.display()))?;
    Ok(file)
}

/// The database path: flag or env, then file, then the default.
pub(crate) fn db_path(store: &StoreArgs, file: &FileConfig) -> PathBuf {
    store
        .db
        .clone()
        .or_else(|| file.db.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DB))
}

/// Merges flags (and their env vars) over the file over the defaults, and
/// checks that the result makes sense.
pub(crate) fn resolve_serve(
    store: &StoreArgs,
    args: &ServeArgs,
    file: FileConfig,
) -> Result<ServeSettings> {
    let db = db_path(store, &file);
    let session_timeout = session_timeout(args.session_timeout_minutes, &file)?;
    let geoip = args.geoip.clone().or_else(|| file.geoip());
    let f = file.serve;
    let mut s = ServeSettings::new(args.listen.or(f.listen).unwrap_or_else(default_listen), db);
    resolve_load(args, &f, &mut s)?;
    resolve_conn(&mut s.conn, args, &f)?;
    s.metrics_listen = args.metrics_listen.or(f.metrics_listen);
    s.token = args.token.clone().or(f.token).filter(|t| !t.is_empty());
    s.geoip = geoip;
    s.session_timeout = session_timeout;
    s.dashboards_dir = dashboards_dir(args.dashboards_dir.clone().or(f.dashboards_dir))?;
    if let Some(b) = args.max_body_bytes.or(f.max_body_bytes) {
        if !(1024..=16 * 1024 * 1024).contains(&b) {
            bail!("max body bytes must be 1024..=16777216, got {b}");
        }
        s.limits.max_body_bytes = b;
    }
    if let Some(n) = args.max_events_per_batch.or(f.max_events_per_batch) {
        if !(1..=10_000).contains(&n) {
            bail!("max events per batch must be 1..=10000, got {n}");
        }
        s.limits.max_events_per_batch = n;
    }
    if let Some(q) = args.queue_capacity.or(f.queue_capacity) {
        if q == 0 {
            bail!("queue capacity must be at least 1");
        }
        s.queue_capacity = q;
    }
    s.trust_proxy = args.trust_proxy.or(f.trust_proxy).unwrap_or(false);
    s.synchronous = args
        .synchronous
        .or(f.synchronous)
        .unwrap_or(Synchronous::Full);
    if let Some(mb) = args.replay_quota_mb.or(f.replay_quota_mb) {
        if mb > 1024 * 1024 {
            bail!("replay quota must be at most 1048576 MiB, got {mb}");
        }
        s.replay.quota_bytes = mb * 1024 * 1024;
    }
    if let Some(days) = args.replay_retention_days.or(f.replay_retention_days) {
        if !(1..=3650).contains(&days) {
            bail!("replay retention must be 1..=3650 days, got {days}");
        }
        s.replay.retention = Duration::from_secs(days * 86_400);
    }
    if let Some(secs) = args.analysis_timeout_seconds.or(f.analysis_timeout_seconds) {
        if !(0.01..=3600.0).contains(&secs) {
            bail!("analysis timeout must be 0.01..=3600 seconds, got {secs}");
        }
        s.limits.analysis_timeout = Duration::from_secs_f64(secs);
    }
    if let Some(n) = args.max_concurrent_reports.or(f.max_concurrent_reports) {
        if !(1..=256).contains(&n) {
            bail!("max concurrent reports must be 1..=256, got {n}");
        }
        s.limits.max_concurrent_reports = n;
    }
    if let Some(mb) = args.heatmap_memory_mb.or(f.heatmap_memory_mb) {
        if mb > 1024 * 1024 {
            bail!("heatmap memory must be 0..=1048576 MiB, got {mb}");
        }
        s.limits.heatmap_memory_bytes = mb << 20;
    }
    if let Some(n) = args.insights_sample_sessions.or(f.insights_sample_sessions) {
        if !(1_000..=1_000_000_000).contains(&n) {
            bail!("insights sample sessions must be 1000..=1000000000, got {n}");
        }
        s.limits.insights_sample_sessions = n;
    }
    if let Some(secs) = args.busy_timeout_secs.or(f.busy_timeout_secs) {
        if !(1..=600).contains(&secs) {
            bail!("busy timeout must be 1..=600 seconds, got {secs}");
        }
        s.store.busy_timeout = Duration::from_secs(secs);
    }
    if let Some(secs) = args
        .disk_full_retry_after_secs
        .or(f.disk_full_retry_after_secs)
    {
        if !(1..=3600).contains(&secs) {
            bail!("disk-full Retry-After must be 1..=3600 seconds, got {secs}");
        }
        s.store.disk_full_retry_after_secs = secs;
    }
    // Two of the largest bodies must fit the body budget at once, else a
    // body within its size limit could never be read (503 forever).
    let largest_body = s.limits.max_body_bytes.max(crate::replay::MAX_UPLOAD_BYTES);
    if s.conn.body_budget_bytes < 2 * largest_body {
        bail!(
            "the body budget ({} MiB) must hold two of the largest bodies ({} bytes each): \
             raise --body-budget-mb or lower --max-body-bytes",
            s.conn.body_budget_bytes >> 20,
            largest_body
        );
    }
    check_token(s.token.as_deref())?;
    Ok(s)
}

/// The memory, queue and rate bounds (see [`PipelineLimits`], [`RateLimits`]).
fn resolve_load(args: &ServeArgs, f: &FileServe, s: &mut ServeSettings) -> Result<()> {
    let p = &mut s.pipeline;
    if let Some(n) = args.max_open_sessions.or(f.max_open_sessions) {
        if !(1..=100_000_000).contains(&n) {
            bail!("max open sessions must be 1..=100000000, got {n}");
        }
        p.max_open_sessions = n;
    }
    if let Some(mb) = args.max_session_memory_mb.or(f.max_session_memory_mb) {
        if !(1..=1024 * 1024).contains(&mb) {
            bail!("max session memory must be 1..=1048576 MiB, got {mb}");
        }
        p.max_session_memory = mb << 20;
    }
    if let Some(n) = args.max_cached_pages.or(f.max_cached_pages) {
        if !(1..=100_000_000).contains(&n) {
            bail!("max cached pages must be 1..=100000000, got {n}");
        }
        p.max_cached_pages = n;
    }
    if let Some(b) = args.queue_max_bytes.or(f.queue_max_bytes) {
        if !(1024..=(16usize << 30)).contains(&b) {
            bail!("queue max bytes must be 1024..=17179869184, got {b}");
        }
        p.queue_max_bytes = b;
    }
    if let Some(ms) = args.queue_max_wait_ms.or(f.queue_max_wait_ms) {
        if !(1..=600_000).contains(&ms) {
            bail!("queue max wait must be 1..=600000 ms, got {ms}");
        }
        p.queue_max_wait = Duration::from_millis(ms);
    }
    let r = &mut s.rates;
    if let Some(n) = args.rate_per_client.or(f.rate_per_client) {
        if n > 1_000_000 {
            bail!("rate per client must be 0 (off) ..=1000000 batches/s, got {n}");
        }
        r.per_client = n;
    }
    if let Some(n) = args.rate_burst_per_client.or(f.rate_burst_per_client) {
        if !(1..=10_000_000).contains(&n) {
            bail!("rate burst per client must be 1..=10000000 batches, got {n}");
        }
        r.burst_per_client = n;
    }
    if let Some(n) = args.rate_tracked_clients.or(f.rate_tracked_clients) {
        if !(16..=100_000_000).contains(&n) {
            bail!("rate tracked clients must be 16..=100000000, got {n}");
        }
        r.tracked_clients = n;
    }
    if let Some(n) = args
        .replay_uploads_per_client_minute
        .or(f.replay_uploads_per_client_minute)
    {
        if n > 1_000_000 {
            bail!("replay uploads per client must be 0 (off) ..=1000000 a minute, got {n}");
        }
        r.replay_per_client_minute = n;
    }
    if let Some(n) = args
        .replay_uploads_per_site_minute
        .or(f.replay_uploads_per_site_minute)
    {
        if n > 10_000_000 {
            bail!("replay uploads per site must be 0 (off) ..=10000000 a minute, got {n}");
        }
        r.replay_per_site_minute = n;
    }
    if let Some(n) = args
        .replay_upload_mb_per_client_hour
        .or(f.replay_upload_mb_per_client_hour)
    {
        // Below one largest upload, no upload would ever fit.
        let fits = (crate::replay::MAX_UPLOAD_BYTES / (1024 * 1024)) as u32;
        if n != 0 && !(fits..=1_000_000).contains(&n) {
            bail!("replay upload MiB per client hour must be 0 (off) or {fits}..=1000000, got {n}");
        }
        r.replay_mb_per_client_hour = n;
    }
    if let Some(n) = args
        .sign_ins_per_client_minute
        .or(f.sign_ins_per_client_minute)
    {
        if n > 100_000 {
            bail!("sign-ins per client must be 0 (off) ..=100000 a minute, got {n}");
        }
        r.sign_ins_per_client_minute = n;
    }
    if let Some(n) = args.sign_in_hours.or(f.sign_in_hours) {
        if !(1..=8760).contains(&n) {
            bail!("sign-in hours must be 1..=8760, got {n}");
        }
        s.sign_in_hours = n;
    }
    Ok(())
}

/// The connection limits: flags over the file over the defaults, range-checked.
fn resolve_conn(c: &mut ConnLimits, args: &ServeArgs, f: &FileServe) -> Result<()> {
    let secs = |v: Option<u64>, what: &str, max: u64| -> Result<Option<Duration>> {
        match v {
            Some(n) if !(1..=max).contains(&n) => {
                bail!("{what} must be 1..={max} seconds, got {n}")
            }
            v => Ok(v.map(Duration::from_secs)),
        }
    };
    let header = args.header_timeout_secs.or(f.header_timeout_secs);
    if let Some(d) = secs(header, "header timeout", 300)? {
        c.header_timeout = d;
    }
    let body = args.body_timeout_secs.or(f.body_timeout_secs);
    if let Some(d) = secs(body, "body timeout", 600)? {
        c.body_timeout = d;
    }
    let idle = args.idle_timeout_secs.or(f.idle_timeout_secs);
    if let Some(d) = secs(idle, "idle timeout", 3600)? {
        c.idle_timeout = d;
    }
    if let Some(n) = args.max_connections.or(f.max_connections) {
        if !(8..=1_000_000).contains(&n) {
            bail!("max connections must be 8..=1000000, got {n}");
        }
        c.max_connections = Some(n);
    }
    if let Some(b) = args.max_header_bytes.or(f.max_header_bytes) {
        if !(4096..=1024 * 1024).contains(&b) {
            bail!("max header bytes must be 4096..=1048576, got {b}");
        }
        c.max_header_bytes = b;
    }
    if let Some(n) = args.max_headers.or(f.max_headers) {
        if !(8..=1000).contains(&n) {
            bail!("max headers must be 8..=1000, got {n}");
        }
        c.max_headers = n;
    }
    if let Some(mb) = args.body_budget_mb.or(f.body_budget_mb) {
        // At least two of the largest bodies (a 2 MiB replay upload) must fit.
        if !(4..=16 * 1024).contains(&mb) {
            bail!("body budget must be 4..=16384 MiB, got {mb}");
        }
        c.body_budget_bytes = mb as usize * 1024 * 1024;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let file: FileConfig = toml::from_str(
            "db = \"/tmp/f.db\"\n[serve]\nlisten = \"127.0.0.1:9000\"\nsession_timeout_minutes = 10\nmax_body_bytes = 2048\n",
        )
        .unwrap();
        let store = StoreArgs {
            db: None,
            config: None,
        };
        let args = ServeArgs {
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..ServeArgs::default()
        };
        let s = resolve_serve(&store, &args, file).unwrap();
        assert_eq!(s.listen.port(), 9100);
        assert_eq!(s.db, PathBuf::from("/tmp/f.db"));
        assert_eq!(s.session_timeout, Duration::from_secs(600));
        assert_eq!(s.limits.max_body_bytes, 2048);
        assert_eq!(s.limits.max_events_per_batch, 200);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(toml::from_str::<FileConfig>("[serve]\nlisen = \"x\"\n").is_err());
        let store = StoreArgs {
            db: None,
            config: None,
        };
        let args = ServeArgs {
            session_timeout_minutes: Some(0),
            ..ServeArgs::default()
        };
        let err = resolve_serve(&store, &args, FileConfig::default()).unwrap_err();
        assert!(err.to_string().contains("session timeout"));
        let short = ServeArgs {
            token: Some("short".into()),
            ..ServeArgs::default()
        };
        assert!(resolve_serve(&store, &short, FileConfig::default()).is_err());
        let slow = ServeArgs {
            analysis_timeout_seconds: Some(0.0),
            ..ServeArgs::default()
        };
        let err = resolve_serve(&store, &slow, FileConfig::default()).unwrap_err();
        assert!(err.to_string().contains("analysis timeout"), "{err}");
        let file: FileConfig = toml::from_str("[serve]\nanalysis_timeout_seconds = 2.5\n").unwrap();
        let s = resolve_serve(&store, &ServeArgs::default(), file).unwrap();
        assert_eq!(s.limits.analysis_timeout, Duration::from_millis(2500));
        let none = ServeArgs {
            max_concurrent_reports: Some(0),
            ..ServeArgs::default()
        };
        let err = resolve_serve(&store, &none, FileConfig::default()).unwrap_err();
        assert!(err.to_string().contains("max concurrent reports"), "{err}");
        let file: FileConfig = toml::from_str("[serve]\nmax_concurrent_reports = 3\n").unwrap();
        let s = resolve_serve(&store, &ServeArgs::default(), file).unwrap();
        assert_eq!(s.limits.max_concurrent_reports, 3);
    }

    #[test]
    fn store_limits_resolve_and_are_range_checked() {
        let store = StoreArgs {
            db: None,
            config: None,
        };
        let file: FileConfig =
            toml::from_str("[serve]\nbusy_timeout_secs = 30\ndisk_full_retry_after_secs = 60\n")
                .unwrap();
        let s = resolve_serve(&store, &ServeArgs::default(), file).unwrap();
        assert_eq!(s.store.busy_timeout, Duration::from_secs(30));
        assert_eq!(s.store.disk_full_retry_after_secs, 60);
        let d = resolve_serve(&store, &ServeArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(d.store.busy_timeout, Duration::from_secs(10));
        assert_eq!(d.store.disk_full_retry_after_secs, 10);
        for args in [
            ServeArgs {
                busy_timeout_secs: Some(0),
                ..ServeArgs::default()
            },
            ServeArgs {
                disk_full_retry_after_secs: Some(0),
                ..ServeArgs::default()
            },
        ] {
            let err = resolve_serve(&store, &args, FileConfig::default()).unwrap_err();
            assert!(err.to_string().contains("must be 1..="), "{err}");
        }
    }

    #[test]
    fn connection_limits_come_from_flags_and_file_and_are_range_checked() {
        let store = StoreArgs {
            db: None,
            config: None,
        };
        let file: FileConfig = toml::from_str(
            "[serve]\nheader_timeout_secs = 3\nbody_budget_mb = 8\nmetrics_listen = \"127.0.0.1:9200\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            idle_timeout_secs: Some(2),
            max_connections: Some(500),
            ..ServeArgs::default()
        };
        let s = resolve_serve(&store, &args, file).unwrap();
        assert_eq!(s.conn.header_timeout, Duration::from_secs(3));
        assert_eq!(s.conn.idle_timeout, Duration::from_secs(2));
        assert_eq!(s.conn.body_timeout, Duration::from_secs(15));
        assert_eq!(s.conn.max_connections, Some(500));
        assert_eq!(s.conn.max_header_bytes, 16 * 1024);
        assert_eq!(s.conn.body_budget_bytes, 8 * 1024 * 1024);
        assert_eq!(s.metrics_listen.map(|a| a.port()), Some(9200));
        for (bad, what) in [
            (
                ServeArgs {
                    header_timeout_secs: Some(0),
                    ..ServeArgs::default()
                },
                "header timeout",
            ),
            (
                ServeArgs {
                    max_header_bytes: Some(100),
                    ..ServeArgs::default()
                },
                "max header bytes",
            ),
            (
                ServeArgs {
                    body_budget_mb: Some(1),
                    ..ServeArgs::default()
                },
                "body budget",
            ),
        ] {
            let err = resolve_serve(&store, &bad, FileConfig::default()).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        }
    }

    #[test]
    fn the_insights_sample_limit_comes_from_flag_or_file_and_is_range_checked() {
        let store = no_store();
        let d = resolve_serve(&store, &ServeArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(
            d.limits.insights_sample_sessions,
            crate::service::insights::SAMPLE_LIMIT
        );
        let file = || -> FileConfig {
            toml::from_str("[serve]\ninsights_sample_sessions = 250000\n").unwrap()
        };
        let s = resolve_serve(&store, &ServeArgs::default(), file()).unwrap();
        assert_eq!(s.limits.insights_sample_sessions, 250_000);
        let flag = ServeArgs {
            insights_sample_sessions: Some(5_000),
            ..ServeArgs::default()
        };
        let s = resolve_serve(&store, &flag, file()).unwrap();
        assert_eq!(s.limits.insights_sample_sessions, 5_000);
        for n in [999, 1_000_000_001] {
            let bad = ServeArgs {
                insights_sample_sessions: Some(n),
                ..ServeArgs::default()
            };
            let err = resolve_serve(&store, &bad, FileConfig::default()).unwrap_err();
            assert!(
                err.to_string().contains("insights sample sessions"),
                "{err}"
            );
        }
    }

    fn no_store() -> StoreArgs {
        StoreArgs {
            db: None,
            config: None,
        }
    }

    #[test]
    fn the_session_timeout_is_one_setting_for_serve_import_and_demo() {
        let store = no_store();
        let defaults = || FileConfig::default();
        let thirty = Duration::from_secs(30 * 60);
        let serve = resolve_serve(&store, &ServeArgs::default(), defaults()).unwrap();
        let import = resolve_import(&store, &ImportSettingsArgs::default(), defaults()).unwrap();
        let demo = resolve_demo(&store, &DemoArgs::default(), defaults()).unwrap();
        assert_eq!(serve.session_timeout, thirty);
        assert_eq!(import.session_timeout, thirty);
        assert_eq!(demo.session_timeout, thirty);

        // The top-level key, and its older name in [serve], reach all three.
        for text in [
            "session_timeout_minutes = 10\n",
            "[serve]\nsession_timeout_minutes = 10\n",
        ] {
            let file = || toml::from_str::<FileConfig>(text).unwrap();
            let ten = Duration::from_secs(600);
            let s = resolve_serve(&store, &ServeArgs::default(), file()).unwrap();
            assert_eq!(s.session_timeout, ten, "{text}");
            let i = resolve_import(&store, &ImportSettingsArgs::default(), file()).unwrap();
            assert_eq!(i.session_timeout, ten, "{text}");
            let d = resolve_demo(&store, &DemoArgs::default(), file()).unwrap();
            assert_eq!(d.session_timeout, ten, "{text}");
            // The flag wins over the file.
            let flag = ImportSettingsArgs {
                session_timeout_minutes: Some(45),
                ..ImportSettingsArgs::default()
            };
            let i = resolve_import(&store, &flag, file()).unwrap();
            assert_eq!(i.session_timeout, Duration::from_secs(45 * 60));
        }
        // The same bounds everywhere.
        let zero = ImportSettingsArgs {
            session_timeout_minutes: Some(0),
            ..ImportSettingsArgs::default()
        };
        let err = resolve_import(&store, &zero, defaults()).unwrap_err();
        assert!(err.to_string().contains("1..=1440"), "{err}");
        let long: FileConfig = toml::from_str("session_timeout_minutes = 1441\n").unwrap();
        let err = resolve_demo(&store, &DemoArgs::default(), long).unwrap_err();
        assert!(err.to_string().contains("1..=1440"), "{err}");
    }

    #[test]
    fn a_shared_setting_given_twice_in_the_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "session_timeout_minutes = 10\n[serve]\nsession_timeout_minutes = 10\n",
            "geoip = \"/a.mmdb\"\n[serve]\ngeoip = \"/b.mmdb\"\n",
        ] {
            let path = dir.path().join("trailmap.toml");
            std::fs::write(&path, text).unwrap();
            let store = StoreArgs {
                db: None,
                config: Some(path),
            };
            let err = load_file(&store).unwrap_err();
            assert!(format!("{err:#}").contains("set twice"), "{err:#}");
        }
    }

    #[test]
    fn import_and_demo_settings_come_from_flags_file_and_defaults() {
        let store = no_store();
        let file = || {
            toml::from_str::<FileConfig>(
                "geoip = \"/geo.mmdb\"\n[import]\nmax_line_bytes = 1024\n\
                 [demo]\nlisten = \"127.0.0.1:9300\"\ntoken = \"demo-token-0123456789\"\nvisitors = 5\n",
            )
            .unwrap()
        };
        let i = resolve_import(&store, &ImportSettingsArgs::default(), file()).unwrap();
        assert_eq!(i.geoip, Some(PathBuf::from("/geo.mmdb")));
        assert_eq!(i.max_line_bytes, 1024);
        assert_eq!(i.db, PathBuf::from(DEFAULT_DB));
        let d = resolve_demo(&store, &DemoArgs::default(), file()).unwrap();
        assert_eq!(d.listen.port(), 9300);
        assert_eq!(d.token.as_deref(), Some("demo-token-0123456789"));
        assert_eq!(d.visitors, 5);
        assert_eq!(d.geoip, Some(PathBuf::from("/geo.mmdb")));
        assert_eq!(d.db, PathBuf::from(DEFAULT_DEMO_DB));
        let s = resolve_serve(&store, &ServeArgs::default(), file()).unwrap();
        assert_eq!(s.geoip, Some(PathBuf::from("/geo.mmdb")));
        assert_eq!(s.listen.port(), 8080, "[demo] listen is the demo's alone");

        let flags = DemoArgs {
            listen: Some("127.0.0.1:9400".parse().unwrap()),
            visitors: Some(0),
            geoip: Some("/flag.mmdb".into()),
            ..DemoArgs::default()
        };
        let d = resolve_demo(&store, &flags, file()).unwrap();
        assert_eq!(d.listen.port(), 9400);
        assert_eq!(d.visitors, 0);
        assert_eq!(d.geoip, Some(PathBuf::from("/flag.mmdb")));
        let d = resolve_demo(&store, &DemoArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(
            (d.listen.port(), d.visitors, d.token),
            (8080, DEFAULT_DEMO_VISITORS, None)
        );
        let short = DemoArgs {
            token: Some("short".into()),
            ..DemoArgs::default()
        };
        assert!(resolve_demo(&store, &short, FileConfig::default()).is_err());
    }

    #[test]
    fn the_dashboards_folder_is_a_setting_that_must_exist() {
        let store = no_store();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let file: FileConfig =
            toml::from_str(&format!("[serve]\ndashboards_dir = {d:?}\n")).unwrap();
        let s = resolve_serve(&store, &ServeArgs::default(), file).unwrap();
        assert_eq!(s.dashboards_dir.as_deref(), Some(dir.path()));
        let d = resolve_serve(&store, &ServeArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(d.dashboards_dir, None);
        let missing = ServeArgs {
            dashboards_dir: Some(dir.path().join("nope")),
            ..ServeArgs::default()
        };
        let err = resolve_serve(&store, &missing, FileConfig::default()).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
        let demo = DemoArgs {
            dashboards_dir: Some(dir.path().to_path_buf()),
            ..DemoArgs::default()
        };
        let d = resolve_demo(&store, &demo, FileConfig::default()).unwrap();
        assert_eq!(d.dashboards_dir.as_deref(), Some(dir.path()));
    }
}
