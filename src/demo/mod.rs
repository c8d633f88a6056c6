//! `trailmap demo`: everything on first run, with nothing to set up.
//!
//! It starts the collector on a fresh database, serves the demo shop on a
//! second port (a second origin, as in real life), registers the shop as a
//! site, sends realistic traffic through the real `/api/collect`, and prints
//! where to look. The database is marked as a demo database, so a later
//! `demo` may replace it, while a real one is never touched.

pub(crate) mod shop_layouts;
pub(crate) mod storefront;
pub(crate) mod traffic;

use std::future::Future;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tokio::net::TcpListener;

use crate::config::{DemoSettings, ServeSettings};
use crate::event::now_ms;
use crate::store::{meta, sites, Store};

/// The site the demo registers.
pub(crate) const SITE: &str = "shop";

/// Runs the demo until `shutdown` resolves, with the settings
/// [`crate::config::resolve_demo`] resolved.
pub(crate) async fn run(opts: DemoSettings, shutdown: impl Future<Output = ()>) -> Result<()> {
    let shop_addr = opts.shop_listen.unwrap_or_else(|| {
        let mut a = opts.listen;
        a.set_port(if a.port() == 0 { 0 } else { a.port() + 1 });
        a
    });
    // Both ports first: a start that cannot listen (a port in use) must
    // fail before it replaces or creates a database.
    let shop_listener = TcpListener::bind(shop_addr)
        .await
        .with_context(|| format!("cannot listen on {shop_addr} for the demo shop"))?;
    drop(
        std::net::TcpListener::bind(opts.listen)
            .with_context(|| format!("cannot listen on {} for the collector", opts.listen))?,
    );
    fresh_database(&opts.db)?;
    let shop_port = shop_listener.local_addr()?.port();
    let shop_url = format!("http://127.0.0.1:{shop_port}");
    {
        let store = Store::open(&opts.db)?;
        let mut conn = store.admin()?;
        let origins = [shop_url.clone(), format!("http://localhost:{shop_port}")];
        sites::add(&mut conn, SITE, &origins, now_ms())?;
        meta::mark_demo(&conn)?;
    }

    let mut settings = ServeSettings::new(opts.listen, opts.db.clone());
    settings.token = opts.token.clone();
    // Countries without a real GeoIP file: MaxMind's small test database,
    // which knows the networks the simulated visitors come from.
    settings.geoip = match &opts.geoip {
        Some(file) => Some(file.clone()),
        None => Some(demo_geoip(&opts.db)?),
    };
    settings.session_timeout = opts.session_timeout;
    settings.dashboards_dir = opts.dashboards_dir.clone();
    // The traffic generator gives each simulated visitor its own address.
    // Safe here: the demo's collector listens where the generator is.
    settings.trust_proxy = true;
    let bound = crate::http::bind(settings).await?;
    let collector_url = format!("http://{}", bound.addr());
    let token = bound
        .generated_token
        .clone()
        .or(opts.token.clone())
        .unwrap_or_default();

    println!("trailmap listening on {collector_url}");
    println!("demo shop on {shop_url}");
    println!("dashboards: {collector_url}/dashboard/ (sign in with the API token)");
    println!("API token: {token}");
    println!(
        "try: curl -H 'Authorization: Bearer {token}' {collector_url}/api/sites/{SITE}/sessions"
    );
    println!(
        "the CLI reads the same database: trailmap --db {} overview --site {SITE}",
        opts.db.display()
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let shop = storefront::Storefront::new(&collector_url, SITE);
    let shop_task = tokio::spawn(shop.run(shop_listener, stopped(stop_rx.clone())));
    let server_task = tokio::spawn(bound.run(stopped(stop_rx.clone())));

    if opts.visitors > 0 {
        let plan = traffic::TrafficPlan {
            collector: &collector_url,
            site: SITE,
            shop: &shop_url,
            visitors: opts.visitors,
            seed: 2026,
            now: now_ms(),
            db: Some(&opts.db),
        };
        match traffic::generate(&plan).await {
            Ok(r) => println!(
                "demo traffic sent: {} sessions, {} batches, {} events",
                r.sessions, r.batches, r.events
            ),
            Err(e) => eprintln!("trailmap: demo traffic failed: {e:#}"),
        }
    }
    println!("ready; press ctrl-c to stop");

    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = shop_task.await;
    server_task.await.context("the collector task failed")?
}

/// MaxMind's test GeoIP database (src/demo/geo/README.md), written beside
/// the demo database for the collector to open like any `--geoip` file.
fn demo_geoip(db: &Path) -> Result<PathBuf> {
    static TEST_DB: &[u8] = include_bytes!("geo/GeoLite2-City-Test.mmdb");
    let mut name = db.as_os_str().to_owned();
    name.push(".geoip-test.mmdb");
    let path = PathBuf::from(name);
    std::fs::write(&path, TEST_DB)
        .with_context(|| format!("writing the demo's GeoIP test database {}", path.display()))?;
    Ok(path)
}

/// Makes sure `db` does not exist, removing an earlier demo database but
/// refusing to touch any other.
fn fresh_database(db: &Path) -> Result<()> {
    if !db.exists() {
        return Ok(());
    }
    let is_demo =
        meta::is_demo_database(db).with_context(|| format!("cannot open {}", db.display()))?;
    if !is_demo {
        bail!(
            "{} exists and is not a demo database; pass --db with a new path",
            db.display()
        );
    }
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    // What was derived from it goes with it: the search index and the read
    // engine's files would otherwise describe the old database.
    for dir in [
        crate::search::indexer::index_dir(db),
        crate::service::Service::engine_dir(db),
    ] {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_earlier_demo_database_goes_with_what_was_derived_from_it_and_no_other_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("demo.db");
        let store = crate::store::Store::open(&db).unwrap();
        meta::mark_demo(&store.admin().unwrap()).unwrap();
        drop(store);
        let derived = [
            crate::search::indexer::index_dir(&db),
            crate::service::Service::engine_dir(&db),
        ];
        for d in &derived {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("x"), b"old").unwrap();
        }
        fresh_database(&db).unwrap();
        assert!(!db.exists());
        assert!(derived.iter().all(|d| !d.exists()));

        let other = dir.path().join("shop.db");
        drop(crate::store::Store::open(&other).unwrap());
        assert!(fresh_database(&other).is_err());
        assert!(other.exists());
    }
}
