//! The `trailmap` command line: parses flags and calls the library.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use trailmap::config::{self, DemoArgs, ImportSettingsArgs, ServeArgs, StoreArgs};
use trailmap::pipeline::now_ms;
use trailmap::store::{secrets, sites, Store};

#[derive(Parser)]
#[command(
    name = "trailmap",
    version,
    about = "Self-hosted journey analytics for online shops"
)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the collector and the read API.
    Serve(ServeArgs),
    /// Fresh database, the demo shop on a second port, realistic traffic.
    Demo(DemoArgs),
    /// Import access logs (or a sequence file) as sessions.
    Import(ImportArgs),
    /// The most common paths (of up to --steps pages), optionally anchored.
    Paths {
        #[command(flatten)]
        filter: MineFilter,
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=20))]
        steps: u16,
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Start every path at this page.
        #[arg(long)]
        start: Option<String>,
        /// End every path at this page.
        #[arg(long)]
        end: Option<String>,
    },
    /// Conversion through ordered steps (each a regex over cleaned paths).
    Funnel {
        #[command(flatten)]
        filter: MineFilter,
        /// A step, as a regex over page paths (repeat, in order; at least two).
        #[arg(long = "step", required = true)]
        steps: Vec<String>,
        /// The whole funnel must complete within this many minutes.
        #[arg(long, default_value_t = 60)]
        window_minutes: i64,
        /// Each step must be the very next page.
        #[arg(long)]
        strict: bool,
    },
    /// Entries, exits, exit rate and bounce rate per page.
    Exits {
        #[command(flatten)]
        filter: MineFilter,
    },
    /// Where visitors of one page came from and went next.
    Transitions {
        #[command(flatten)]
        filter: MineFilter,
        #[arg(long)]
        page: String,
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
    /// Frequent navigation patterns, with gaps (sequential pattern mining).
    Patterns {
        #[command(flatten)]
        filter: MineFilter,
        #[arg(long, default_value_t = 20)]
        top: usize,
        #[arg(long, default_value_t = 2)]
        min_len: usize,
        #[arg(long, default_value_t = 10)]
        max_len: usize,
        /// Only patterns in at least this many sessions.
        #[arg(long, default_value_t = 1)]
        min_support: u32,
        /// Every pattern at or above --min-support (at least 2), not only the top.
        #[arg(long)]
        all: bool,
    },
    /// Journey stages: how far sessions got, drop-off and skipped stages.
    Stages {
        #[command(flatten)]
        filter: MineFilter,
        /// First save the site's stages and goals from this JSON file
        /// (`{"stages": [{"name", "pages": [REGEX]}], "goals": [REGEX]}`).
        #[arg(long)]
        set: Option<std::path::PathBuf>,
    },
    /// Frustration per page (rage and dead clicks, errors, quick backs,
    /// loops) and the most frustrated sessions.
    Frustration {
        #[command(flatten)]
        filter: MineFilter,
        /// How many of the most frustrated sessions to list.
        #[arg(long, default_value_t = 20)]
        worst: usize,
    },
    /// The moments that matter: pages ranked by excess exits and frustration.
    Moments {
        #[command(flatten)]
        filter: MineFilter,
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
    /// Find sessions by what happened in them (see README: Search).
    Search {
        #[arg(long)]
        site: String,
        /// e.g. 'page:/checkout AND referrer:google.com AND -page:/thank-you'
        query: String,
        /// newest or longest.
        #[arg(long, default_value = "newest", value_parser = ["newest", "longest"])]
        sort: String,
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[command(flatten)]
        filters: SearchFilterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the session search index from the database.
    Reindex,
    /// Draw a chart to a file (SVG or PNG, by the file's extension).
    Render(RenderArgs),
    /// Register, list and remove sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Replace the read API's token with a new one, printed once.
    RotateToken,
    /// Benchmark helpers; figures go to BENCHMARKS.md (built with `--features dev`).
    #[cfg(feature = "dev")]
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// The dashboards' filters, as `GET .../sessions?q=` takes them.
#[derive(clap::Args)]
struct SearchFilterArgs {
    /// Sessions that started at or after this: YYYY-MM-DD, RFC 3339 or ms.
    #[arg(long)]
    from: Option<String>,
    /// Sessions that started before this: YYYY-MM-DD, RFC 3339 or ms.
    #[arg(long)]
    to: Option<String>,
    /// direct, organic_search, paid, social, email or referral.
    #[arg(long)]
    channel: Option<String>,
    /// desktop, mobile, tablet, bot or other.
    #[arg(long)]
    device: Option<String>,
    /// ISO 3166-1 alpha-2 code, e.g. SE.
    #[arg(long)]
    country: Option<String>,
    /// A referrer domain, or words of the referrer URL.
    #[arg(long)]
    referrer: Option<String>,
}

impl SearchFilterArgs {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "from" => self.from.as_deref(),
            "to" => self.to.as_deref(),
            "channel" => self.channel.as_deref(),
            "device" => self.device.as_deref(),
            "country" => self.country.as_deref(),
            "referrer" => self.referrer.as_deref(),
            _ => None,
        }
    }
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The site the sessions belong to (registered with `site add`).
    #[arg(long)]
    site: String,
    /// combined, common, vcombined, seq, or a format string (GoAccess
    /// --log-format or nginx log_format style).
    #[arg(long, default_value = "combined")]
    format: String,
    /// Log files (plain or gzip); `-` reads stdin.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Import bots too (skipped by default).
    #[arg(long)]
    enable_bots: bool,
    /// Import static assets too (skipped by default).
    #[arg(long)]
    enable_static: bool,
    /// Import redirects (3xx other than 304) too (skipped by default).
    #[arg(long)]
    enable_redirects: bool,
    /// Import every method, not only GET (others skipped by default).
    #[arg(long)]
    enable_all_methods: bool,
    /// Import only paths matching this regex (repeatable).
    #[arg(long = "include-path")]
    include_paths: Vec<String>,
    /// Skip paths matching this regex (repeatable).
    #[arg(long = "exclude-path")]
    exclude_paths: Vec<String>,
    /// Drop query strings from the stored URLs.
    #[arg(long)]
    strip_query_string: bool,
    /// Static-asset extensions to skip, comma-separated (replaces the default list).
    #[arg(long, value_delimiter = ',')]
    static_ext: Option<Vec<String>>,
    /// Settings shared with the file and the environment (see config).
    #[command(flatten)]
    settings: ImportSettingsArgs,
    /// Lines (or page views, whichever comes first) per transaction and resumable step.
    #[arg(long, default_value_t = 50_000)]
    commit_every: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// `trailmap render KIND -o FILE`.
#[derive(clap::Args)]
struct RenderArgs {
    /// sankey, funnel, heatmap or scrollmap.
    #[arg(value_parser = ["sankey", "funnel", "heatmap", "scrollmap"])]
    kind: String,
    #[command(flatten)]
    filter: MineFilter,
    /// Where to write the chart: FILE.svg or FILE.png.
    #[arg(short, long)]
    output: std::path::PathBuf,
    /// Picture size (Sankey and funnel).
    #[arg(long, default_value_t = 1200, value_parser = clap::value_parser!(u32).range(200..=4000))]
    width: u32,
    #[arg(long, default_value_t = 640, value_parser = clap::value_parser!(u32).range(150..=4000))]
    height: u32,
    /// Sankey: steps (columns), nodes per step, minimum link weight.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=20))]
    steps: u16,
    #[arg(long, default_value_t = 8)]
    nodes: usize,
    #[arg(long, default_value_t = 1)]
    min_link: u32,
    /// Sankey: start every journey at this page.
    #[arg(long)]
    root: Option<String>,
    /// Funnel: a step, as a regex over page paths (repeat, in order).
    #[arg(long = "step")]
    funnel_steps: Vec<String>,
    #[arg(long, default_value_t = 60)]
    window_minutes: i64,
    #[arg(long)]
    strict: bool,
    /// Heatmap and scroll map: the page.
    #[arg(long)]
    page: Option<String>,
    /// mobile (< 768 px), tablet (< 1024 px) or desktop.
    #[arg(long, default_value = "desktop", value_parser = ["mobile", "tablet", "desktop"])]
    viewport: String,
    /// Heatmap: weigh clicks, or unique sessions.
    #[arg(long, default_value = "clicks", value_parser = ["clicks", "sessions"])]
    count: String,
    /// Heatmap: all clicks with rage/dead marks, clicks only, or rage/dead only.
    #[arg(long, default_value = "both", value_parser = ["both", "clicks", "frustration"])]
    layer: String,
    /// Heatmap: a standalone picture, or a transparent overlay at page size.
    #[arg(long)]
    overlay: bool,
}

/// The site and the filters every mining command takes.
#[derive(clap::Args)]
struct MineFilter {
    #[arg(long)]
    site: String,
    /// Sessions started at or after (ms, YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Sessions started before.
    #[arg(long)]
    to: Option<String>,
    #[arg(long)]
    channel: Option<String>,
    #[arg(long)]
    device: Option<String>,
    #[arg(long)]
    country: Option<String>,
    /// Referrer domain, e.g. google.com.
    #[arg(long)]
    referrer: Option<String>,
    /// Entry page path.
    #[arg(long)]
    entry_page: Option<String>,
    #[arg(long)]
    include_bots: bool,
    /// Keep consecutive repeats of a page instead of collapsing them.
    #[arg(long)]
    keep_repeats: bool,
    #[arg(long)]
    json: bool,
}

impl MineFilter {
    fn journey_filter(&self) -> Result<trailmap::store::read::JourneyFilter> {
        let time = |v: &Option<String>, name: &str| {
            v.as_deref()
                .map(|t| trailmap::http::api::parse_time(t, name))
                .transpose()
                .map_err(|e| anyhow::anyhow!(e))
        };
        Ok(trailmap::store::read::JourneyFilter {
            from: time(&self.from, "--from")?,
            to: time(&self.to, "--to")?,
            channel: self.channel.clone(),
            device: self.device.clone(),
            country: self.country.clone(),
            referrer_domain: self.referrer.clone(),
            entry_page: self.entry_page.clone(),
            include_bots: self.include_bots,
            keep_repeats: self.keep_repeats,
        })
    }
}

#[derive(Subcommand)]
enum SiteCommand {
    /// Register a site (or add origins to it).
    Add {
        name: String,
        /// Allowed origin, e.g. https://shop.example (repeatable).
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        /// A query parameter to keep in page paths (repeatable; every other
        /// parameter is dropped at ingest). Replaces the site's list.
        #[arg(long = "keep-query")]
        keep_query: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the sites and their origins.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a site with all its sessions and events.
    Remove { name: String },
}

#[cfg(feature = "dev")]
#[derive(Subcommand)]
enum BenchCommand {
    /// Parse an access log in memory and report lines/s (parsing alone).
    Parse {
        #[arg(long, default_value = "combined")]
        format: String,
        /// Rounds; the fastest is reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        file: std::path::PathBuf,
    },
    /// Mine the top patterns of a site's sessions and report time and peak memory.
    Patterns {
        #[arg(long)]
        site: String,
        #[arg(long, default_value_t = 15)]
        top: usize,
        #[arg(long, default_value_t = 2)]
        min_len: usize,
        /// Rounds; the first and the median are reported.
        #[arg(long, default_value_t = 7)]
        rounds: usize,
    },
    /// Post batches to a running collector and report durable events/s and latency.
    Collect {
        /// The collector's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "bench")]
        site: String,
        /// The Origin header to send (registered for the site).
        #[arg(long, default_value = "http://bench.localhost")]
        origin: String,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Batches per second in total; omit for as fast as possible.
        #[arg(long)]
        rate: Option<f64>,
        #[arg(long, default_value_t = 25)]
        events: usize,
        /// Distinct tracker sessions to spread batches over.
        #[arg(long, default_value_t = 5000)]
        sessions: usize,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRAILMAP_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trailmap: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let file = config::load_file(&cli.store)?;
    match cli.command {
        Command::Serve(args) => {
            let settings = config::resolve_serve(&cli.store, &args, file)?;
            runtime()?.block_on(trailmap::http::serve(
                settings,
                trailmap::http::shutdown_signal(),
            ))
        }
        Command::Demo(args) => {
            let settings = config::resolve_demo(&cli.store, &args, file)?;
            runtime()?.block_on(trailmap::demo::run(
                settings,
                trailmap::http::shutdown_signal(),
            ))
        }
        Command::Import(args) => {
            let settings = config::resolve_import(&cli.store, &args.settings, file)?;
            let store = Store::open(&settings.db)?;
            let json = args.json;
            let summary = trailmap::import::run(&store, import_options(args, settings)?)?;
            if json {
                println!("{}", serde_json::to_string(&summary)?);
            } else {
                println!("{summary}");
            }
            Ok(())
        }
        Command::Paths { .. }
        | Command::Funnel { .. }
        | Command::Exits { .. }
        | Command::Transitions { .. }
        | Command::Patterns { .. }
        | Command::Stages { .. }
        | Command::Frustration { .. }
        | Command::Moments { .. } => {
            let store = Store::open(&config::db_path(&cli.store, &file))?;
            mine_command(&store, cli.command)
        }
        Command::Search {
            site,
            query,
            sort,
            limit,
            offset,
            filters,
            json,
        } => {
            let filters = trailmap::http::api::search_filters(|key| filters.get(key))
                .map_err(|m| anyhow::anyhow!("{m}"))?;
            let db = config::db_path(&cli.store, &file);
            let store = Store::open(&db)?;
            search_command(
                &store,
                &db,
                &site,
                (&query, &filters),
                &sort,
                (offset, limit as usize),
                json,
            )
        }
        Command::Reindex => {
            let db = config::db_path(&cli.store, &file);
            let store = Store::open(&db)?;
            let dir = trailmap::search::indexer::index_dir(&db);
            let index = trailmap::search::SearchIndex::open(&dir)?;
            let started = std::time::Instant::now();
            let n = trailmap::search::indexer::rebuild(&store, &index)?;
            println!(
                "indexed {n} sessions in {:.1} s into {}",
                started.elapsed().as_secs_f64(),
                dir.display()
            );
            Ok(())
        }
        Command::Render(args) => {
            let store = Store::open(&config::db_path(&cli.store, &file))?;
            render_command(&store, &args)
        }
        Command::Site(cmd) => {
            let store = Store::open(&config::db_path(&cli.store, &file))?;
            site_command(&store, cmd)
        }
        Command::RotateToken => {
            let store = Store::open(&config::db_path(&cli.store, &file))?;
            let token = secrets::generate_token(&store.admin()?)?;
            println!("{token}");
            eprintln!("trailmap: the old token no longer works once the server restarts");
            Ok(())
        }
        #[cfg(feature = "dev")]
        Command::Bench(cmd) => bench_command(&cli.store, &file, cmd),
    }
}

/// `trailmap bench ...`: the benchmark helpers (only with `--features dev`).
#[cfg(feature = "dev")]
fn bench_command(
    store_args: &StoreArgs,
    config_file: &config::FileConfig,
    cmd: BenchCommand,
) -> Result<()> {
    match cmd {
        BenchCommand::Parse {
            format,
            rounds,
            file,
        } => {
            let format = trailmap::ingest::accesslog::LogFormat::parse(&format)
                .map_err(|e| anyhow::anyhow!("invalid --format: {e}"))?;
            let report = trailmap::bench::parse::run(&file, &format, rounds)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        BenchCommand::Patterns {
            site,
            top,
            min_len,
            rounds,
        } => {
            let store = Store::open(&config::db_path(store_args, config_file))?;
            let report = trailmap::bench::patterns::run(&store, &site, top, min_len, rounds)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        BenchCommand::Collect {
            url,
            site,
            origin,
            connections,
            seconds,
            rate,
            events,
            sessions,
            json,
        } => {
            let opts = trailmap::bench::loadgen::LoadOptions {
                base_url: url,
                site,
                origin,
                connections,
                duration: std::time::Duration::from_secs(seconds),
                rate,
                events_per_batch: events,
                sessions,
            };
            let report = runtime()?.block_on(trailmap::bench::loadgen::run(opts))?;
            if json {
                println!("{}", report.to_json());
            } else {
                println!("{report}");
            }
            Ok(())
        }
    }
}

fn import_options(
    args: ImportArgs,
    settings: config::ImportSettings,
) -> Result<trailmap::import::ImportOptions> {
    use trailmap::import::{filter::Filter, input::Source, ImportOptions, InputFormat};
    let format = match args.format.as_str() {
        "seq" => InputFormat::Seq,
        spec => InputFormat::Log(
            trailmap::ingest::accesslog::LogFormat::parse(spec)
                .map_err(|e| anyhow::anyhow!("invalid --format: {e}"))?,
        ),
    };
    let regexes = |list: &[String], flag: &str| {
        list.iter()
            .map(|r| regex::Regex::new(r).with_context(|| format!("invalid {flag} {r:?}")))
            .collect::<Result<Vec<_>>>()
    };
    let mut filter = Filter {
        enable_bots: args.enable_bots,
        enable_static: args.enable_static,
        enable_redirects: args.enable_redirects,
        enable_all_methods: args.enable_all_methods,
        include: regexes(&args.include_paths, "--include-path")?,
        exclude: regexes(&args.exclude_paths, "--exclude-path")?,
        ..Filter::default()
    };
    if let Some(ext) = args.static_ext {
        filter.static_extensions = ext
            .into_iter()
            .map(|e| e.trim_start_matches('.').to_string())
            .collect();
    }
    if args.commit_every == 0 {
        anyhow::bail!("--commit-every must be at least 1");
    }
    Ok(ImportOptions {
        site: args.site,
        format,
        inputs: args.inputs.iter().map(|i| Source::parse(i)).collect(),
        filter,
        strip_query: args.strip_query_string,
        geoip: settings.geoip,
        session_timeout: settings.session_timeout,
        commit_every: args.commit_every,
        max_line_bytes: settings.max_line_bytes,
        progress: !args.json,
    })
}

fn mine_command(store: &Store, command: Command) -> Result<()> {
    use trailmap::analysis::Analysis;
    use trailmap::mine::patterns::PatternQuery;
    let filter = match &command {
        Command::Paths { filter, .. }
        | Command::Funnel { filter, .. }
        | Command::Exits { filter }
        | Command::Transitions { filter, .. }
        | Command::Patterns { filter, .. }
        | Command::Stages { filter, .. }
        | Command::Frustration { filter, .. }
        | Command::Moments { filter, .. } => filter,
        _ => unreachable!("only mining commands come here"),
    };
    if let Command::Stages {
        set: Some(file), ..
    } = &command
    {
        save_journey_settings(store, &filter.site, file)?;
    }
    let a = Analysis::load(store, &filter.site, &filter.journey_filter()?)?;
    let result = match &command {
        Command::Paths {
            steps,
            top,
            start,
            end,
            ..
        } => a.paths(&trailmap::mine::paths::PathQuery {
            steps: *steps as usize,
            top_k: *top,
            start: start.as_deref().map(|p| a.page(p)).transpose()?,
            end: end.as_deref().map(|p| a.page(p)).transpose()?,
        }),
        Command::Funnel {
            steps,
            window_minutes,
            strict,
            ..
        } => a.funnel(steps, window_minutes.saturating_mul(60_000), *strict)?,
        Command::Exits { .. } => a.flows(),
        Command::Transitions { page, top, .. } => a.transitions(a.page(page)?, *top),
        Command::Patterns {
            top,
            min_len,
            max_len,
            min_support,
            all,
            ..
        } => {
            if *all && *min_support < 2 {
                anyhow::bail!("--all needs --min-support of at least 2");
            }
            a.patterns(&PatternQuery {
                top_k: if *all { usize::MAX } else { *top },
                min_len: *min_len,
                max_len: *max_len,
                min_support: *min_support,
            })?
        }
        Command::Stages { .. } => a.stages()?,
        Command::Frustration { worst, .. } => a.frustration(*worst),
        Command::Moments { top, .. } => a.moments(*top)?,
        _ => unreachable!("only mining commands come here"),
    };
    if filter.json {
        println!("{result}");
    } else {
        println!("{}", trailmap::analysis::text(&result));
    }
    Ok(())
}

/// `trailmap search`: with no server holding the index, brings it up to
/// date first; beside a running server (which keeps it current), reads it.
fn search_command(
    store: &Store,
    db: &std::path::Path,
    site: &str,
    (query, filters): (&str, &trailmap::search::SearchFilters),
    sort: &str,
    (offset, limit): (usize, usize),
    json: bool,
) -> Result<()> {
    use trailmap::search::{indexer, SearchError, SearchIndex, Sort};
    let dir = indexer::index_dir(db);
    let index = match SearchIndex::open(&dir) {
        Ok(index) => {
            indexer::catch_up(store, &index)?;
            index
        }
        Err(SearchError::Index(m)) if m.contains("in use") => SearchIndex::open_read_only(&dir)?,
        Err(e) => return Err(e.into()),
    };
    let conn = store.read()?;
    let Some(s) = sites::get(&conn, site)? else {
        anyhow::bail!("unknown site {site:?}");
    };
    let sort = if sort == "longest" {
        Sort::Longest
    } else {
        Sort::Newest
    };
    let found = match index.search_filtered(s.id, query, filters, sort, offset, limit) {
        Ok(found) => found,
        Err(SearchError::Query(m)) => anyhow::bail!("{m}"),
        Err(e) => return Err(e.into()),
    };
    let sessions = trailmap::store::read::sessions_by_ids(&conn, s.id, &found.session_ids)?;
    if json {
        let list: Vec<serde_json::Value> = sessions
            .iter()
            .map(trailmap::http::api::session_json)
            .collect();
        println!(
            "{}",
            serde_json::json!({"total": found.total, "offset": offset, "limit": limit, "sessions": list})
        );
        return Ok(());
    }
    println!("{} sessions match", found.total);
    for x in &sessions {
        println!(
            "{}\t{}\t{:>5} s\t{} pages\t{} → {}\t{}\t{}\t{}",
            x.id,
            trailmap::http::api::iso(x.start),
            x.duration_ms() / 1000,
            x.page_count,
            x.entry_page.as_deref().unwrap_or("-"),
            x.exit_page.as_deref().unwrap_or("-"),
            x.acquisition.channel.as_str(),
            x.geo.country.as_deref().unwrap_or("-"),
            x.client.device.as_str(),
        );
    }
    Ok(())
}

/// `trailmap render`: draws a chart and writes it where `-o` says.
fn render_command(store: &Store, args: &RenderArgs) -> Result<()> {
    use trailmap::analysis::Analysis;
    use trailmap::charts::{self, PageChart};
    use trailmap::render::Format;
    let format = Format::from_path(&args.output).with_context(|| {
        format!(
            "{}: the file name must end in .svg or .png",
            args.output.display()
        )
    })?;
    let filter = args.filter.journey_filter()?;
    let site = &args.filter.site;
    let bytes = match args.kind.as_str() {
        "sankey" => {
            let a = Analysis::load(store, site, &filter)?;
            let q = trailmap::mine::graph::GraphQuery {
                steps: args.steps as usize,
                nodes_per_step: args.nodes,
                min_link: args.min_link,
                root: args.root.as_deref().map(|p| a.page(p)).transpose()?,
                expand: vec![],
            };
            charts::sankey(&a, &q, args.width, args.height, format)?
        }
        "funnel" => {
            let a = Analysis::load(store, site, &filter)?;
            charts::funnel(
                &a,
                &args.funnel_steps,
                args.window_minutes.saturating_mul(60_000),
                args.strict,
                (args.width, args.height),
                format,
            )?
        }
        kind => {
            let page = args
                .page
                .clone()
                .context("heatmaps and scroll maps need --page")?;
            let style = if args.overlay {
                "overlay"
            } else {
                "standalone"
            };
            let names = [&*args.viewport, &*args.count, &*args.layer, style];
            let req = PageChart::from_names(page, kind == "scrollmap", names, format)
                .map_err(anyhow::Error::msg)?;
            charts::page_chart(
                store,
                site,
                &filter,
                &req,
                &trailmap::mine::cancel::Cancel::never(),
            )?
        }
    };
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!("wrote {} ({} bytes)", args.output.display(), bytes.len());
    Ok(())
}

/// `trailmap stages --set FILE`: checks and saves a site's stages and goals.
fn save_journey_settings(store: &Store, site: &str, file: &std::path::Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let settings: sites::JourneySettings = serde_json::from_str(&text)
        .with_context(|| format!("{} is not journey settings JSON", file.display()))?;
    trailmap::analysis::check_settings(&settings)?;
    let conn = store.admin()?;
    let Some(s) = sites::get(&conn, site)? else {
        anyhow::bail!("unknown site {site:?}");
    };
    sites::set_journey_settings(&conn, s.id, &settings)?;
    Ok(())
}

fn site_command(store: &Store, cmd: SiteCommand) -> Result<()> {
    let mut conn = store.admin()?;
    match cmd {
        SiteCommand::Add {
            name,
            origins,
            keep_query,
            json,
        } => {
            let mut site = sites::add(&mut conn, &name, &origins, now_ms())?;
            if !keep_query.is_empty() {
                sites::set_keep_query(&conn, site.id, &keep_query)?;
                site.keep_query = keep_query;
            }
            if json {
                println!("{}", serde_json::to_string(&site)?);
            } else {
                println!(
                    "site {} accepts events from {}",
                    site.name,
                    site.origins.join(", ")
                );
            }
        }
        SiteCommand::List { json } => {
            let list = sites::list(&conn)?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else if list.is_empty() {
                println!("no sites yet: trailmap site add NAME --origin https://shop.example");
            } else {
                for s in list {
                    println!("{}\t{}", s.name, s.origins.join(" "));
                }
            }
        }
        SiteCommand::Remove { name } => {
            if !sites::remove(&mut conn, &name)? {
                anyhow::bail!("no site named {name:?}");
            }
            println!("site {name} removed with its sessions");
        }
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
