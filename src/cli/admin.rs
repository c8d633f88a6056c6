//! The commands that run or change things: serve, demo, import, sites,
//! stages settings, the token, the search index, the bench helpers.

use std::path::Path;

use anyhow::{Context, Result};

use super::{ImportArgs, SiteCommand};
use crate::config::{self, FileConfig, ServeArgs, StoreArgs};
use crate::service::import::ImportRequest;
use crate::service::settings::JourneySettings;
use crate::service::Service;

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
    let json = args.json;
    let request = ImportRequest {
        site: args.site,
        format: args.format,
        inputs: args.inputs,
        enable_bots: args.enable_bots,
        enable_static: args.enable_static,
        enable_redirects: args.enable_redirects,
        enable_all_methods: args.enable_all_methods,
        include_paths: args.include_paths,
        exclude_paths: args.exclude_paths,
        static_ext: args.static_ext,
        strip_query: args.strip_query_string,
        commit_every: args.commit_every,
        geoip: settings.geoip,
        session_timeout: settings.session_timeout,
        max_line_bytes: settings.max_line_bytes,
        progress: !json,
    };
    let summary = Service::open_existing(&settings.db)?.import(request)?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{summary}");
    }
    Ok(())
}

pub(super) fn reindex(store: &StoreArgs, file: &FileConfig) -> Result<()> {
    let done = super::reports::service(store, file)?.reindex()?;
    println!(
        "indexed {} sessions in {:.1} s into {}",
        done.search_sessions,
        done.search_secs,
        done.search_dir.display()
    );
    println!(
        "wrote the read engine's columns of {} sessions in {:.1} s into {}",
        done.engine_sessions,
        done.engine_secs,
        done.engine_dir.display()
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
        SiteCommand::Add { .. } => Service::open_or_create(&config::db_path(store, file))?,
        _ => super::reports::service(store, file)?,
    };
    match cmd {
        SiteCommand::Add {
            name,
            origins,
            keep_query,
            json,
        } => {
            let site = service.add_site(&name, &origins, &keep_query)?;
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
        SiteCommand::Check { name, json } => {
            let v = service.install(&name)?;
            if json {
                println!("{}", serde_json::to_string(&v)?);
            } else {
                match (v.first_event, v.last_event) {
                    (Some(first), Some(last)) => println!(
                        "{name}: first event {}, latest {}; {}{} sessions ({} from the tracker)",
                        crate::service::request::iso(first),
                        crate::service::request::iso(last),
                        if v.more { "over " } else { "" },
                        v.sessions,
                        v.tracker_sessions
                    ),
                    _ => println!(
                        "{name}: no events yet; add the tag to the shop's pages: \
                         <script defer src=\"https://YOUR-TRAILMAP/t.js\" data-site=\"{name}\"></script>"
                    ),
                }
            }
        }
    }
    Ok(())
}

/// `trailmap annotation add|list|remove`.
pub(super) fn annotation(
    store: &StoreArgs,
    file: &FileConfig,
    cmd: super::AnnotationCommand,
) -> Result<()> {
    use super::AnnotationCommand as A;
    use crate::service::request::{iso, parse_time};
    let service = super::reports::service(store, file)?;
    match cmd {
        A::Add {
            site,
            at,
            text,
            json,
        } => {
            let a = service.add_annotation(
                &site,
                parse_time(&at, "--at")?,
                &text,
                None,
                crate::event::now_ms(),
            )?;
            if json {
                println!("{}", serde_json::to_string(&a)?);
            } else {
                println!("note {} on {site} at {}: {}", a.id, iso(a.at), a.text);
            }
        }
        A::List {
            site,
            from,
            to,
            json,
        } => {
            let from = from
                .as_deref()
                .map(|v| parse_time(v, "--from"))
                .transpose()?
                .unwrap_or(i64::MIN);
            let to = to
                .as_deref()
                .map(|v| parse_time(v, "--to"))
                .transpose()?
                .unwrap_or(i64::MAX);
            let list = service.annotations(&site, from, to)?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else if list.is_empty() {
                println!("no notes on {site}");
            } else {
                for a in list {
                    println!("{}\t{}\t{}", a.id, iso(a.at), a.text);
                }
            }
        }
        A::Remove { site, id } => {
            service.remove_annotation(&site, id)?;
            println!("removed note {id} of {site}");
        }
    }
    Ok(())
}

/// `trailmap funnels save|list|remove`.
/// `trailmap expected show|set|clear`.
pub(super) fn expected(
    store: &StoreArgs,
    file: &FileConfig,
    cmd: super::ExpectedCommand,
) -> Result<()> {
    use super::ExpectedCommand as E;
    use crate::service::settings::ExpectedJourney;
    let service = super::reports::service(store, file)?;
    let print = |model: &ExpectedJourney, json: bool| -> Result<()> {
        if json {
            println!("{}", serde_json::to_string(model)?);
        } else if model.steps.is_empty() {
            println!("no expected journey");
        } else {
            for (i, s) in model.steps.iter().enumerate() {
                let marks = match (s.optional, s.repeatable) {
                    (true, true) => " (optional, repeatable)",
                    (true, false) => " (optional)",
                    (false, true) => " (repeatable)",
                    _ => "",
                };
                println!("{}. {}  {}{marks}", i + 1, s.name, s.target);
            }
        }
        Ok(())
    };
    match cmd {
        E::Show { site, json } => print(&service.expected_journey(&site)?, json),
        E::Set { site, model, json } => {
            let steps = model.request(None)?.steps;
            if steps.is_empty() {
                anyhow::bail!("give the steps with --step (or clear it: trailmap expected clear)");
            }
            let saved = service.set_expected_journey(&site, &ExpectedJourney { steps })?;
            print(&saved, json)
        }
        E::Clear { site } => {
            service.set_expected_journey(&site, &ExpectedJourney { steps: Vec::new() })?;
            println!("removed the expected journey of {site}");
            Ok(())
        }
    }
}

pub(super) fn funnels(
    store: &StoreArgs,
    file: &FileConfig,
    cmd: super::FunnelsCommand,
) -> Result<()> {
    use super::FunnelsCommand as F;
    let service = super::reports::service(store, file)?;
    match cmd {
        F::Save {
            site,
            name,
            funnel,
            json,
        } => {
            let f = service.save_funnel(
                &site,
                &name,
                &funnel.request()?,
                None,
                crate::event::now_ms(),
            )?;
            if json {
                println!("{}", serde_json::to_string(&f)?);
            } else {
                println!(
                    "saved funnel {:?} of {site}: {}",
                    f.name,
                    f.labels.join(" → ")
                );
            }
        }
        F::List { site, json } => {
            let list = service.saved_funnels(&site)?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else if list.is_empty() {
                println!("no saved funnels on {site}");
            } else {
                for f in list {
                    println!("{}	{}", f.name, f.labels.join(" → "));
                }
            }
        }
        F::Remove { site, name } => {
            service.remove_funnel(&site, &name)?;
            println!("removed funnel {name:?} of {site}");
        }
    }
    Ok(())
}

/// `trailmap now --site S`: the realtime view in the terminal.
pub(super) fn now(
    store: &StoreArgs,
    file: &FileConfig,
    site: &str,
    minutes: u32,
    include_bots: bool,
    json: bool,
) -> Result<()> {
    let service = super::reports::service(store, file)?;
    let v = service.realtime(site, minutes, include_bots, crate::event::now_ms())?;
    if json {
        println!("{}", serde_json::to_string(&v)?);
        return Ok(());
    }
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    println!(
        "{}, {} in the last {}",
        plural(v.visitors as u64, "visitor", "visitors"),
        plural(v.sessions as u64, "session", "sessions"),
        plural(v.minutes as u64, "minute", "minutes")
    );
    for p in &v.pages {
        println!("  {:>5}  {}", p.sessions, p.page);
    }
    // The feed in columns: pages padded to the longest shown.
    let width = v
        .feed
        .iter()
        .map(|f| f.page.chars().count())
        .max()
        .unwrap_or(0);
    for f in &v.feed {
        println!(
            "{}  {:<4}  {:<width$}  {:<7}  {}",
            crate::service::request::iso(f.ts),
            if f.kind == "goal" { "goal" } else { "view" },
            f.page,
            f.device,
            f.country.as_deref().unwrap_or("")
        );
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
        BenchCommand::Shop {
            site,
            sessions,
            days,
            seed,
        } => {
            let db = config::db_path(store, file);
            let report = crate::bench::shop::run(&db, &site, sessions, days, seed)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        BenchCommand::Patterns {
            site,
            top,
            min_len,
            rounds,
        } => {
            let service = Service::open_existing(&config::db_path(store, file))?;
            let report = crate::bench::patterns::run(service.store(), &site, top, min_len, rounds)?;
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
            page,
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
                page,
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

/// `trailmap stages --set FILE`: checks and saves a site's stages and goals.
pub(super) fn save_journey_settings(
    store: &StoreArgs,
    config_file: &FileConfig,
    site: &str,
    file: &Path,
) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let settings: JourneySettings = serde_json::from_str(&text)
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
