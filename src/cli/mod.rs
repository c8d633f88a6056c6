//! The `trailmap` command line: flags (every choice a `clap::ValueEnum`
//! with its values in `--help`), one service call per command, and the
//! result printed as a table, CSV or JSON ([`print`]). `src/main.rs` only
//! calls [`main`].

mod accounts;
mod admin;
mod args;
mod print;
mod reports;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ServeArgs, StoreArgs};
use crate::service::request::{bounds, SearchSort};
use args::{FilterArgs, FunnelArgs, GraphArgs, PatternArgs};
use print::OutputArgs;

#[derive(Parser)]
#[command(
    name = "trailmap",
    version,
    about = "Self-hosted journey analytics for online shops"
)]
pub struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

/// A report command: the site, its filters, how to print.
#[derive(clap::Args)]
pub struct ReportArgs<T: clap::Args> {
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    options: T,
    /// Hold the report against the same span just before its range, or a
    /// year earlier (needs --from).
    #[arg(long, value_enum)]
    compare: Option<crate::service::request::Compare>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the collector and the read API.
    Serve(Box<ServeArgs>),
    /// Fresh database, the demo shop on a second port, realistic traffic.
    Demo(crate::config::DemoArgs),
    /// Import access logs (or a sequence file) as sessions.
    Import(ImportArgs),
    /// Headline figures: sessions, visitors, bounce rate, top pages, channels, countries, devices.
    Overview(ReportArgs<OverviewArgs>),
    /// The most common paths (of up to --steps pages), optionally anchored.
    Paths(ReportArgs<PathArgs>),
    /// Entries, exits, exit rate and bounce rate per page.
    Exits(ReportArgs<NoArgs>),
    /// Where visitors of one page came from and went next.
    Transitions(ReportArgs<TransitionArgs>),
    /// The journey graph behind the Sankey chart: pages per step and the links between them.
    Journeys(ReportArgs<GraphArgs>),
    /// Conversion through ordered steps (each a regex over cleaned paths).
    Funnel(ReportArgs<FunnelArgs>),
    /// Journey stages: how far sessions got, drop-off and skipped stages.
    Stages(ReportArgs<StagesArgs>),
    /// Frustration per page (rage and dead clicks, errors, quick backs,
    /// loops) and the most frustrated sessions.
    Frustration(ReportArgs<WorstArgs>),
    /// The moments that matter: pages ranked by excess exits and frustration.
    Moments(ReportArgs<TopArgs>),
    /// Frequent navigation patterns, with gaps (sequential pattern mining).
    Patterns(ReportArgs<PatternArgs>),
    /// Custom events: counts, sessions, revenue and the values of their properties.
    Events(ReportArgs<TopArgs>),
    /// Goal conversions and rates, overall and per segment (--breakdown).
    Goals(ReportArgs<GoalsArgs>),
    /// Revenue, orders, average order value and abandoned carts, overall and per segment.
    Revenue(ReportArgs<RevenueArgs>),
    /// What separates two groups of sessions (buyers and the rest by
    /// default): pages, events and patterns one group goes through more,
    /// with exact counts and significance.
    Contrast(ReportArgs<ContrastArgs>),
    /// Why sessions that reached a decision point (the decision stage by
    /// default) left without converting: reasons from their last views,
    /// with their exit pages, segments and example sessions.
    Why(ReportArgs<WhyArgs>),
    /// Sessions against the site's expected journey (or one given with
    /// --step): fitness, deviations per step, conforming sessions.
    Conformance(ReportArgs<ConformanceArgs>),
    /// What changed, found automatically: pages whose stored layout changed
    /// (the lines added and removed), each held before against after (exit
    /// rate, frustration, conversion, with 95% intervals).
    Changes(ReportArgs<ChangesArgs>),
    /// JavaScript errors (from the tag's data-errors capture): each with
    /// its sessions, views, error clicks, pages and example sessions.
    Errors(ReportArgs<TopArgs>),
    /// The site's expected journey, for `conformance`: show, set, clear.
    #[command(subcommand)]
    Expected(ExpectedCommand),
    /// Find sessions by what happened in them (see README: Search).
    Search(SearchArgs),
    /// Rebuild the session search index from the database.
    Reindex,
    /// Draw a chart to a file (SVG or PNG, by the file's extension).
    Render(RenderArgs),
    /// Register, list and remove sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Who is on a site now: visitors, current pages and the latest page views.
    Now {
        #[arg(long)]
        site: String,
        /// The window, 1 to 60 minutes.
        #[arg(long, default_value_t = 5)]
        minutes: u32,
        /// Count bots too.
        #[arg(long)]
        include_bots: bool,
        #[arg(long)]
        json: bool,
    },
    /// Replace the read API's token with a new one, printed once.
    RotateToken,
    /// Dashboard users: add, list, remove, set a password, make an API token.
    #[command(subcommand)]
    User(accounts::UserCommand),
    /// Share links: read-only links to one site's dashboards.
    #[command(subcommand)]
    Share(accounts::ShareCommand),
    /// Dated notes on a site's timeline ("campaign launched"), drawn on its time series.
    #[command(subcommand)]
    Annotation(AnnotationCommand),
    /// Saved funnels: save one by name, list, remove (`funnel --saved NAME` runs one).
    #[command(subcommand)]
    Funnels(FunnelsCommand),
    /// Benchmark helpers; figures go to BENCHMARKS.md (built with `--features dev`).
    #[cfg(feature = "dev")]
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// No options besides the filters.
#[derive(Debug, Clone, clap::Args)]
pub struct NoArgs {}

/// `--top` for ranked lists.
#[derive(Debug, Clone, clap::Args)]
pub struct TopArgs {
    /// Rows per list, 1 to 1000.
    #[arg(long, default_value_t = bounds::TOP.default)]
    top: usize,
}

/// The overview's flags: `--top`, and the series' `--interval`.
#[derive(Debug, Clone, clap::Args)]
pub struct OverviewArgs {
    /// Rows per list, 1 to 1000.
    #[arg(long, default_value_t = bounds::TOP.default)]
    top: usize,
    /// The time series' bucket (default: hours up to two days, else days;
    /// hour covers at most 31 days).
    #[arg(long, value_enum)]
    interval: Option<crate::service::request::Interval>,
}

/// `--breakdown` and `--top` for the conversion reports.
#[derive(Debug, Clone, clap::Args)]
pub struct BreakdownArgs {
    /// Show the figures per value of this dimension too.
    #[arg(long, value_enum)]
    breakdown: Option<crate::event::Dimension>,
    /// Segments listed, 1 to 1000.
    #[arg(long, default_value_t = bounds::TOP.default)]
    top: usize,
}

/// `goals`: a breakdown, and what to count.
#[derive(Debug, Clone, clap::Args)]
pub struct GoalsArgs {
    #[command(flatten)]
    by: BreakdownArgs,
    /// Count sessions, or visitors (a visitor's sessions of one UTC day as one).
    #[arg(long, value_enum, default_value_t = crate::service::request::Unit::Session)]
    unit: crate::service::request::Unit,
}

/// `contrast`: the two groups and the lists' sizes.
#[derive(Debug, Clone, clap::Args)]
pub struct ContrastArgs {
    /// The first group: converted, reached:TARGET (reached:event:add_to_cart,
    /// reached:^/cart) or DIMENSION=VALUE (device=mobile, utm_campaign=spring).
    #[arg(long, default_value = "converted")]
    a: String,
    /// The second group: as --a, or rest (every session not in the first).
    #[arg(long, default_value = "rest")]
    b: String,
    /// Rows per list, 1 to 100.
    #[arg(long, default_value_t = bounds::CONTRAST_TOP.default)]
    top: usize,
    /// The longest pattern, 2 to 6 pages.
    #[arg(long, default_value_t = bounds::CONTRAST_MAX_LEN.default)]
    max_len: usize,
}

/// An expected journey's steps, as `--step` (repeatable) and its marks.
#[derive(Debug, Clone, clap::Args)]
pub struct ExpectedSteps {
    /// A step: a page pattern (^/product/) or an event (event:add_to_cart),
    /// in journey order.
    #[arg(long = "step")]
    steps: Vec<String>,
    /// The steps' names, in order (default: the step as written).
    #[arg(long = "name")]
    names: Vec<String>,
    /// A step that may be passed by (numbered from 1; repeatable).
    #[arg(long)]
    optional: Vec<usize>,
    /// A step that may come again (numbered from 1; repeatable).
    #[arg(long)]
    repeat: Vec<usize>,
}

impl ExpectedSteps {
    fn request(
        &self,
        breakdown: Option<crate::event::Dimension>,
    ) -> crate::service::Result<crate::service::request::ConformanceRequest> {
        let steps: Vec<&str> = self.steps.iter().map(String::as_str).collect();
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        crate::service::request::ConformanceRequest::of_steps(
            &steps,
            &names,
            &self.optional,
            &self.repeat,
            breakdown,
        )
    }
}

/// `conformance`: a model (none: the saved one) and a breakdown.
#[derive(Debug, Clone, clap::Args)]
pub struct ConformanceArgs {
    #[command(flatten)]
    model: ExpectedSteps,
    /// Fitness and conformance per value of this dimension too.
    #[arg(long, value_enum)]
    breakdown: Option<crate::event::Dimension>,
}

/// `trailmap expected ...`: the site's expected journey.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ExpectedCommand {
    /// Show it.
    Show {
        #[arg(long)]
        site: String,
        #[arg(long)]
        json: bool,
    },
    /// Set it (replacing the one before).
    Set {
        #[arg(long)]
        site: String,
        #[command(flatten)]
        model: ExpectedSteps,
        #[arg(long)]
        json: bool,
    },
    /// Remove it.
    Clear {
        #[arg(long)]
        site: String,
    },
}

/// `why`: the decision point and the tables' sizes.
#[derive(Debug, Clone, clap::Args)]
pub struct WhyArgs {
    /// Where the sessions counted got to: stage:NAME (stage:decision, the
    /// default) or a target (^/cart, event:begin_checkout).
    #[arg(long)]
    at: Option<String>,
    /// The reasons per value of this dimension too.
    #[arg(long, value_enum)]
    breakdown: Option<crate::event::Dimension>,
    /// Exit pages and segments listed per reason, 1 to 100.
    #[arg(long, default_value_t = bounds::WHY_TOP.default)]
    top: usize,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RevenueArgs {
    #[command(flatten)]
    by: BreakdownArgs,
    /// The currency of the figures (default: the one with the most orders).
    #[arg(long)]
    currency: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct PathArgs {
    /// Pages per path, 1 to 20.
    #[arg(long, default_value_t = bounds::STEPS.default)]
    steps: usize,
    /// Paths listed, 1 to 1000.
    #[arg(long, default_value_t = bounds::TOP.default)]
    top: usize,
    /// Start every path at this page.
    #[arg(long)]
    start: Option<String>,
    /// End every path at this page.
    #[arg(long)]
    end: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct TransitionArgs {
    /// The page (cleaned like every page: /product/42 finds /product/:id).
    #[arg(long)]
    page: String,
    /// Pages listed before and after, 1 to 1000.
    #[arg(long, default_value_t = bounds::TOP.default)]
    top: usize,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StagesArgs {
    /// First save the site's stages and goals from this JSON file
    /// (`{"stages": [{"name", "pages": [REGEX]}], "goals": [REGEX]}`).
    #[arg(long)]
    set: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct WorstArgs {
    /// How many of the most frustrated sessions to list, 0 to 1000.
    #[arg(long, default_value_t = bounds::WORST.default)]
    worst: usize,
}

#[derive(clap::Args)]
pub struct ChangesArgs {
    /// Each window before and after a change, in days (1-90).
    #[arg(long, default_value_t = bounds::CHANGE_DAYS.default)]
    days: i64,
    /// The smallest share of the page's text or structure that differs
    /// (0-1).
    #[arg(long, default_value_t = bounds::MIN_CHANGE.default)]
    min_change: f64,
    /// How many changes to list, newest first (with --change: how many
    /// elements).
    #[arg(long, default_value_t = bounds::TOP.default)]
    top: usize,
    /// One change, by its id: that change alone, with where visitors
    /// click on the page before and after.
    #[arg(long)]
    change: Option<i64>,
    /// Also list the changes of pages whose content varies per visitor
    /// (left out by default).
    #[arg(long)]
    include_varying: bool,
}

#[derive(clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// e.g. 'page:/checkout AND referrer:google.com AND -page:/thank-you'
    query: String,
    /// Order of the hits.
    #[arg(long, value_enum, default_value_t = SearchSort::Newest)]
    sort: SearchSort,
    /// Sessions listed, 1 to 1000.
    #[arg(long, default_value_t = bounds::LIMIT.default)]
    limit: usize,
    /// Hits to skip, 0 to 100000.
    #[arg(long, default_value_t = bounds::OFFSET.default)]
    offset: usize,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The site the sessions belong to (registered with `site add`).
    #[arg(long)]
    pub site: String,
    /// combined, common, vcombined, seq, or a format string (GoAccess
    /// --log-format or nginx log_format style).
    #[arg(long, default_value = "combined")]
    pub format: String,
    /// Log files (plain or gzip); `-` reads stdin.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Import bots too (skipped by default).
    #[arg(long)]
    pub enable_bots: bool,
    /// Import static assets too (skipped by default).
    #[arg(long)]
    pub enable_static: bool,
    /// Import redirects (3xx other than 304) too (skipped by default).
    #[arg(long)]
    pub enable_redirects: bool,
    /// Import every method, not only GET (others skipped by default).
    #[arg(long)]
    pub enable_all_methods: bool,
    /// Import only paths matching this regex (repeatable).
    #[arg(long = "include-path")]
    pub include_paths: Vec<String>,
    /// Skip paths matching this regex (repeatable).
    #[arg(long = "exclude-path")]
    pub exclude_paths: Vec<String>,
    /// Drop query strings from the stored URLs.
    #[arg(long)]
    pub strip_query_string: bool,
    /// Static-asset extensions to skip, comma-separated (replaces the default list).
    #[arg(long, value_delimiter = ',')]
    pub static_ext: Option<Vec<String>>,
    /// Settings shared with the file and the environment (see config).
    #[command(flatten)]
    pub settings: crate::config::ImportSettingsArgs,
    /// Lines (or page views, whichever comes first) per transaction and resumable step.
    #[arg(long, default_value_t = 50_000)]
    pub commit_every: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `trailmap render KIND -o FILE`.
#[derive(clap::Args)]
pub struct RenderArgs {
    /// The chart.
    #[arg(value_enum)]
    pub kind: crate::service::charts::ChartKind,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Where to write the chart: FILE.svg or FILE.png.
    #[arg(short, long)]
    pub output: std::path::PathBuf,
    /// Picture width in px (Sankey and funnel), 200 to 4000.
    #[arg(long, default_value_t = bounds::WIDTH.default)]
    pub width: u32,
    /// Picture height in px (Sankey and funnel), 150 to 4000.
    #[arg(long, default_value_t = bounds::HEIGHT.default)]
    pub height: u32,
    /// Sankey: the journey graph.
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Funnel: its steps and window.
    #[command(flatten)]
    pub funnel: FunnelArgs,
    /// Heatmap and scroll map: the page.
    #[arg(long)]
    pub page: Option<String>,
    /// Heatmap and scroll map: mobile (< 768 px), tablet (< 1024 px) or desktop.
    #[arg(long, value_enum, default_value_t = crate::event::ViewportClass::Desktop)]
    pub viewport: crate::event::ViewportClass,
    /// Heatmap: weigh clicks, or unique sessions.
    #[arg(long, value_enum, default_value_t = crate::service::charts::Count::Clicks)]
    pub count: crate::service::charts::Count,
    /// Heatmap: all clicks with rage/dead marks, clicks only, or rage/dead only.
    #[arg(long, value_enum, default_value_t = crate::service::charts::Layer::Both)]
    pub layer: crate::service::charts::Layer,
    /// Heatmap: a standalone picture, or a transparent overlay at page size.
    #[arg(long)]
    pub overlay: bool,
    /// Heatmap: draw onto a layout of this width in px (clicks made at
    /// other widths move to their element there); default: the viewport
    /// class's most common width.
    #[arg(long)]
    pub layout_width: Option<u32>,
}

#[derive(Subcommand)]
pub enum FunnelsCommand {
    /// Save a funnel under a name (replacing one of that name).
    Save {
        #[arg(long)]
        site: String,
        /// The funnel's name, 1 to 60 characters.
        #[arg(long = "as", id = "as")]
        name: String,
        #[command(flatten)]
        funnel: args::FunnelArgs,
        #[arg(long)]
        json: bool,
    },
    /// List a site's saved funnels.
    List {
        #[arg(long)]
        site: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a saved funnel.
    Remove {
        #[arg(long)]
        site: String,
        name: String,
    },
}

#[derive(Subcommand)]
pub enum AnnotationCommand {
    /// Add a note dated AT (YYYY-MM-DD, RFC 3339 or ms since the epoch).
    Add {
        #[arg(long)]
        site: String,
        #[arg(long)]
        at: String,
        /// The note, one line of at most 200 characters.
        text: String,
        #[arg(long)]
        json: bool,
    },
    /// List a site's notes, optionally within --from/--to.
    List {
        #[arg(long)]
        site: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove a note.
    Remove {
        #[arg(long)]
        site: String,
        id: i64,
    },
}

#[derive(Subcommand)]
pub enum SiteCommand {
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
    /// Whether the site receives events: its first and latest, and how many sessions.
    Check {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[cfg(feature = "dev")]
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Write a shop-like dataset (channels, devices, countries, carts,
    /// orders with revenue) into a database, through the real write path.
    Shop {
        #[arg(long, default_value = "shop")]
        site: String,
        #[arg(long, default_value_t = 1_000_000)]
        sessions: u64,
        /// Days the sessions spread over.
        #[arg(long, default_value_t = 90)]
        days: u64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
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
        /// Send every visit to this path (e.g. `/`), not to random shop pages.
        #[arg(long)]
        page: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line; the exit code says whether it worked.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRAILMAP_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: a log file or a pipe
        // gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trailmap: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    use crate::service::request::ReportRequest as R;
    let file = crate::config::load_file(&cli.store)?;
    // Every command, so that stored rules mean the same to each of them.
    crate::service::install_budgets(&file.budgets)?;
    let store = &cli.store;
    match cli.command {
        Command::Serve(args) => admin::serve(store, &args, file),
        Command::Demo(args) => admin::demo(store, &args, file),
        Command::Import(args) => admin::import(store, file, args),
        Command::Overview(a) => {
            let req = R::Overview {
                top: a.options.top,
                interval: a.options.interval,
            };
            reports::report(store, &file, &a, req)
        }
        Command::Paths(a) => {
            let o = &a.options;
            reports::report(
                store,
                &file,
                &a,
                R::Paths(crate::service::request::PathsRequest {
                    steps: o.steps,
                    top: o.top,
                    start: o.start.clone(),
                    end: o.end.clone(),
                }),
            )
        }
        Command::Exits(a) => reports::report(store, &file, &a, R::Exits),
        Command::Transitions(a) => reports::report(
            store,
            &file,
            &a,
            R::Transitions {
                page: a.options.page.clone(),
                top: a.options.top,
            },
        ),
        Command::Journeys(a) => {
            let graph = a.options.request()?;
            reports::report(store, &file, &a, R::Journeys(graph))
        }
        Command::Funnel(a) => reports::report(store, &file, &a, R::Funnel(a.options.request()?)),
        Command::Stages(a) => {
            if let Some(settings) = &a.options.set {
                admin::save_journey_settings(store, &file, &a.filter.site, settings)?;
            }
            reports::report(store, &file, &a, R::Stages)
        }
        Command::Frustration(a) => reports::report(
            store,
            &file,
            &a,
            R::Frustration {
                worst: a.options.worst,
            },
        ),
        Command::Moments(a) => reports::report(store, &file, &a, R::Moments { top: a.options.top }),
        Command::Patterns(a) => reports::report(store, &file, &a, R::Patterns(a.options.request())),
        Command::Events(a) => reports::report(store, &file, &a, R::Events { top: a.options.top }),
        Command::Goals(a) => {
            let o = &a.options;
            let req = R::Goals {
                breakdown: o.by.breakdown,
                top: o.by.top,
                unit: o.unit,
            };
            reports::report(store, &file, &a, req)
        }
        Command::Revenue(a) => {
            let o = &a.options;
            let req = R::Revenue {
                breakdown: o.by.breakdown,
                currency: o.currency.clone(),
                top: o.by.top,
            };
            reports::report(store, &file, &a, req)
        }
        Command::Contrast(a) => {
            use crate::service::request::{ContrastRequest, Segment};
            let o = &a.options;
            let req = R::Contrast(ContrastRequest {
                a: Segment::parse("a", &o.a)?,
                b: Segment::parse("b", &o.b)?,
                top: o.top,
                max_len: o.max_len,
            });
            reports::report(store, &file, &a, req)
        }
        Command::Why(a) => {
            let o = &a.options;
            let req = R::Why(crate::service::request::WhyRequest {
                at: o.at.clone(),
                breakdown: o.breakdown,
                top: o.top,
            });
            reports::report(store, &file, &a, req)
        }
        Command::Conformance(a) => {
            let o = &a.options;
            let req = R::Conformance(o.model.request(o.breakdown)?);
            reports::report(store, &file, &a, req)
        }
        Command::Changes(a) => {
            let o = &a.options;
            let req = R::Changes(crate::service::changes::ChangesRequest {
                days: o.days,
                min_change: o.min_change,
                top: o.top,
                change: o.change,
                include_varying: o.include_varying,
            });
            reports::report(store, &file, &a, req)
        }
        Command::Errors(a) => reports::report(store, &file, &a, R::Errors { top: a.options.top }),
        Command::Expected(cmd) => admin::expected(store, &file, cmd),
        Command::Search(a) => reports::search(store, &file, &a),
        Command::Reindex => admin::reindex(store, &file),
        Command::Render(args) => reports::render(store, &file, &args),
        Command::Site(cmd) => admin::site(store, &file, cmd),
        Command::Now {
            site,
            minutes,
            include_bots,
            json,
        } => admin::now(store, &file, &site, minutes, include_bots, json),
        Command::RotateToken => admin::rotate_token(store, &file),
        Command::User(cmd) => accounts::user(store, &file, cmd),
        Command::Share(cmd) => accounts::share(store, &file, cmd),
        Command::Annotation(cmd) => admin::annotation(store, &file, cmd),
        Command::Funnels(cmd) => admin::funnels(store, &file, cmd),
        #[cfg(feature = "dev")]
        Command::Bench(cmd) => admin::bench(store, &file, cmd),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
