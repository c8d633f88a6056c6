//! The commands that change what the store holds rather than ask it
//! something: importing access logs, and rebuilding the derived read models
//! (search index, read engine) from the rows. The CLI is their only door,
//! but their checks and errors are the service's, like every request's:
//! an unknown site, format or pattern is [`ServiceError::NotFound`] or
//! [`ServiceError::Invalid`] before a line is read.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{find_site, Result, Service, ServiceError};
use crate::import::{filter::Filter, input::Source, ImportOptions, ImportSummary, InputFormat};
use crate::ingest::accesslog::LogFormat;

/// `trailmap import`, typed.
#[derive(Debug, Clone)]
pub(crate) struct ImportRequest {
    pub site: String,
    /// `combined`, `common`, `vcombined`, `seq`, or a format string.
    pub format: String,
    /// Files (plain or gzip), or `-` for stdin.
    pub inputs: Vec<String>,
    pub enable_bots: bool,
    pub enable_static: bool,
    pub enable_redirects: bool,
    pub enable_all_methods: bool,
    /// Regexes over the logged path: only these / not these.
    pub include_paths: Vec<String>,
    pub exclude_paths: Vec<String>,
    /// Replaces the default list of static-asset extensions.
    pub static_ext: Option<Vec<String>>,
    pub strip_query: bool,
    /// Lines (or page views) per transaction and resumable step.
    pub commit_every: u64,
    pub geoip: Option<PathBuf>,
    pub session_timeout: Duration,
    /// Longest line read; longer ones are skipped as `line_too_long`.
    pub max_line_bytes: usize,
    /// Show a progress bar (on terminals).
    pub progress: bool,
}

/// What `trailmap reindex` rebuilt.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Reindexed {
    pub search_sessions: usize,
    pub search_dir: PathBuf,
    pub search_secs: f64,
    pub engine_sessions: usize,
    pub engine_dir: PathBuf,
    pub engine_secs: f64,
}

impl ImportRequest {
    /// The import room's options, every choice checked.
    fn options(self) -> Result<ImportOptions> {
        let format = match self.format.as_str() {
            "seq" => InputFormat::Seq,
            spec => InputFormat::Log(
                LogFormat::parse(spec)
                    .map_err(|e| ServiceError::invalid(format!("invalid --format: {e}")))?,
            ),
        };
        let regexes = |list: &[String], flag: &str| {
            list.iter()
                .map(|r| {
                    regex::Regex::new(r)
                        .map_err(|e| ServiceError::invalid(format!("invalid {flag} {r:?}: {e}")))
                })
                .collect::<Result<Vec<_>>>()
        };
        let mut filter = Filter {
            enable_bots: self.enable_bots,
            enable_static: self.enable_static,
            enable_redirects: self.enable_redirects,
            enable_all_methods: self.enable_all_methods,
            include: regexes(&self.include_paths, "--include-path")?,
            exclude: regexes(&self.exclude_paths, "--exclude-path")?,
            ..Filter::default()
        };
        if let Some(ext) = self.static_ext {
            filter.static_extensions = ext
                .into_iter()
                .map(|e| e.trim_start_matches('.').to_string())
                .collect();
        }
        if self.commit_every == 0 {
            return Err(ServiceError::invalid("--commit-every must be at least 1"));
        }
        Ok(ImportOptions {
            site: self.site,
            format,
            inputs: self.inputs.iter().map(|i| Source::parse(i)).collect(),
            filter,
            strip_query: self.strip_query,
            geoip: self.geoip,
            session_timeout: self.session_timeout,
            commit_every: self.commit_every,
            max_line_bytes: self.max_line_bytes,
            progress: self.progress,
        })
    }
}

impl Service {
    /// Imports access logs into a registered site, through the same
    /// sessionizing and enrichment as the collector.
    pub(crate) fn import(&self, req: ImportRequest) -> Result<ImportSummary> {
        match find_site(&*self.store.read()?, &req.site) {
            Ok(_) => {}
            Err(ServiceError::NotFound(_)) => {
                return Err(ServiceError::not_found(format!(
                    "unknown site {:?}: register it first with `trailmap site add {} --origin https://...`",
                    req.site, req.site
                )))
            }
            Err(e) => return Err(e),
        }
        let options = req.options()?;
        crate::import::run(&self.store, options).map_err(|e| ServiceError::Internal {
            context: "the import stopped",
            source: e.into(),
        })
    }

    /// Rebuilds the search index and the read engine's files from the
    /// store's rows.
    pub(crate) fn reindex(&self) -> Result<Reindexed> {
        let started = Instant::now();
        let search_dir = crate::search::indexer::index_dir(self.store.path());
        let index = crate::search::SearchIndex::open(&search_dir)?;
        let search_sessions =
            crate::search::indexer::rebuild(&self.store, &index).map_err(|e| {
                ServiceError::Internal {
                    context: "rebuilding the search index failed",
                    source: Box::new(e),
                }
            })?;
        let search_secs = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let (engine_sessions, engine_dir) = self.rebuild_engine()?;
        Ok(Reindexed {
            search_sessions,
            search_dir,
            search_secs,
            engine_sessions,
            engine_dir,
            engine_secs: started.elapsed().as_secs_f64(),
        })
    }
}
