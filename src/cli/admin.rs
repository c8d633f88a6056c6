//! The commands that run or change things: serve, demo, import, sites,
//! stages settings, the token, the search index, the bench helpers.

use std::path::Path;

use anyhow::{Context, Result};

use super::{ImportArgs, SiteCommand};
use crate::config::{self, FileConfig, ServeArgs, StoreArgs};
use crate::pipeline::now_ms;
use crate::store::{sites, Store};

pub(super) fn serve(store: &StoreArgs, args: &ServeArgs, file: FileConfig) -> Result<()> {
    let settings = config::resolve_serve(store, args, file)?;
    runtime()?.block_on(crate::http::serve(settings, crate::http::shutdown_signal()))
}

pub(super) fn demo(store: &StoreArgs, args: &config::DemoArgs, file: FileConfig) -> Result<()> {
    let settings = config::resolve_demo(store, args, file)?;
    runtime()?.block_on(crate::demo::run(settings, crate::http::shutdown_signal()))
}

pub(super) fn import(store: &StoreArgs, file: FileConfig, args: ImportArgs) -> Result<()> {
    let settings = config::resolve_import(store, &args.settings, file)?;
    let store = Store::open(&settings.db)?;
    let json = args.json;
    let summary = crate::import::run(&store, import_options(args, settings)?)?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{summary}");
    }
    Ok(())
}

pub(super) fn reindex(store: &StoreArgs, file: &FileConfig) -> Result<()> {
    let db = config::db_path(store, file);
    let store = Store::open_existing(&db)?;
    let dir = crate::search::indexer::index_dir(&db);
    let index = crate::search::SearchIndex::open(&dir)?;
    let started = std::time::Instant::now();
    let n = crate::search::indexer::rebuild(&store, &index)?;
    println!(
        "indexed {n} sessions in {:.1} s into {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    let started = std::time::Instant::now();
    let service = crate::service::Service::new(std::sync::Arc::new(store));
    let (n, dir) = service.rebuild_engine()?;
    println!(
        "wrote the read engine's columns of {n} sessions in {:.1} s into {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

pub(super) fn rotate_token(store: &StoreArgs, file: &FileConfig) -> Result<()> {
    let token = super::reports::service(store, file)?.rotate_token()?;
    println!("{token}");
    eprintln!("trailmap: the old token no longer works once the server restarts");
    Ok(())
}

pub(super) fn site(store: &StoreArgs, file: &FileConfig, cmd: SiteCommand) -> Result<()> {
    let service = match cmd {
        // Adding a site is how a database starts; listing and removing read one.
        SiteCommand::Add { .. } => {
            let db = config::db_path(store, file);
            crate::service::Service::new(std::sync::Arc::new(Store::open(&db)?))
        }
        _ => super::reports::service(store, file)?,
    };
    match cmd {
        SiteCommand::Add {
            name,
            origins,
            keep_query,
            json,
        } => {
            let site = service.add_site(&name, &origins, &keep_query, now_ms())?;
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
            let list = service.sites()?;
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
            service.remove_site(&name)?;
            println!("site {name} removed with its sessions");
        }
    }
    Ok(())
}

/// `trailmap bench ...`: the benchmark helpers (only with `--features dev`).
#[cfg(feature = "dev")]
pub(super) fn bench(store: &StoreArgs, file: &FileConfig, cmd: super::BenchCommand) -> Result<()> {
    use super::BenchCommand;
    match cmd {
        BenchCommand::Parse {
            format,
            rounds,
            file,
        } => {
            let format = crate::ingest::accesslog::LogFormat::parse(&format)
                .map_err(|e| anyhow::anyhow!("invalid --format: {e}"))?;
            let report = crate::bench::parse::run(&file, &format, rounds)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        BenchCommand::Patterns {
            site,
            top,
            min_len,
            rounds,
        } => {
            let store = Store::open_existing(&config::db_path(store, file))?;
            let report = crate::bench::patterns::run(&store, &site, top, min_len, rounds)?;
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
            let opts = crate::bench::loadgen::LoadOptions {
                base_url: url,
                site,
                origin,
                connections,
                duration: std::time::Duration::from_secs(seconds),
                rate,
                events_per_batch: events,
                sessions,
            };
            let report = runtime()?.block_on(crate::bench::loadgen::run(opts))?;
            if json {
                println!("{}", report.to_json());
            } else {
                println!("{report}");
            }
            Ok(())
        }
    }
}

pub(super) fn import_options(
    args: ImportArgs,
    settings: config::ImportSettings,
) -> Result<crate::import::ImportOptions> {
    use crate::import::{filter::Filter, input::Source, ImportOptions, InputFormat};
    let format = match args.format.as_str() {
        "seq" => InputFormat::Seq,
        spec => InputFormat::Log(
            crate::ingest::accesslog::LogFormat::parse(spec)
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

/// `trailmap stages --set FILE`: checks and saves a site's stages and goals.
pub(super) fn save_journey_settings(
    store: &StoreArgs,
    config_file: &FileConfig,
    site: &str,
    file: &Path,
) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let settings: sites::JourneySettings = serde_json::from_str(&text)
        .with_context(|| format!("{} is not journey settings JSON", file.display()))?;
    super::reports::service(store, config_file)?.set_journey_settings(site, &settings)?;
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
