//! Registered sites and their allowed origins. Collect accepts events only
//! for a registered site, from one of its origins.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{Result, StoreError};

/// A site as listed by `trailmap site list` and `GET /api/sites`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Site {
    #[serde(skip)]
    pub id: i64,
    pub name: String,
    pub origins: Vec<String>,
    pub created_ms: i64,
    /// Query parameters kept in page paths (`/search?q=shoes`); every
    /// other parameter is dropped at ingest.
    pub keep_query: Vec<String>,
}

/// Checks a site name: 1 to 64 characters of a-z 0-9 . _ -, starting with a
/// letter or digit, so it can sit in a URL path and a data attribute
/// unescaped and survives URL normalisation (`.` and `..` are path
/// segments that clients and proxies resolve away: `/api/sites/../sessions`
/// never reaches the site; a leading `-` reads as a flag on the command line).
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let ok = (1..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid site name {name:?}: use 1 to 64 characters of a-z 0-9 . _ -, \
             starting with a letter or digit"
        )))
    }
}

/// Normalises an origin as browsers send it: `scheme://host[:port]`,
/// lowercase, default ports dropped. Anything with a path, query or
/// credentials is refused, because it could never match an Origin header.
pub(crate) fn normalize_origin(input: &str) -> Result<String> {
    let bad = |why: &str| StoreError::Invalid(format!("invalid origin {input:?}: {why}"));
    let url = url::Url::parse(input.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none() {
        return Err(bad("it has no host"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("an origin has no path, query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("an origin has no credentials"));
    }
    Ok(url.origin().ascii_serialization())
}

/// Registers a site, or adds origins to an existing one. Returns the site.
/// Notes that the collector took an event from `origin` of a site at
/// `now`, unless an earlier one was noted.
pub(crate) fn note_first_event(
    conn: &Connection,
    site_id: i64,
    origin: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE site_origins SET first_event_ms = ?3
         WHERE site_id = ?1 AND origin = ?2 AND first_event_ms IS NULL",
        params![site_id, origin, now],
    )?;
    Ok(())
}

/// Each origin of a site with when the collector first took an event from
/// it (`None`: never yet), earliest first.
pub(crate) fn origin_first_events(
    conn: &Connection,
    site_id: i64,
) -> Result<Vec<(String, Option<i64>)>> {
    Ok(conn
        .prepare(
            "SELECT origin, first_event_ms FROM site_origins WHERE site_id = ?1
             ORDER BY first_event_ms IS NULL, first_event_ms, origin",
        )?
        .query_map([site_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn add(
    conn: &mut Connection,
    name: &str,
    origins: &[String],
    now_ms: i64,
) -> Result<Site> {
    validate_name(name)?;
    let origins = origins
        .iter()
        .map(|o| normalize_origin(o))
        .collect::<Result<Vec<_>>>()?;
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO sites (name, created_ms) VALUES (?1, ?2)",
        params![name, now_ms],
    )?;
    let id: i64 = tx.query_row("SELECT id FROM sites WHERE name = ?1", [name], |r| r.get(0))?;
    for origin in &origins {
        tx.execute(
            "INSERT OR IGNORE INTO site_origins (site_id, origin) VALUES (?1, ?2)",
            params![id, origin],
        )?;
    }
    tx.commit()?;
    get(conn, name)?.ok_or_else(|| StoreError::NotFound(format!("site {name} vanished")))
}

/// Removes a site with its sessions, events and pages. Returns whether it existed.
pub(crate) fn remove(conn: &mut Connection, name: &str) -> Result<bool> {
    let tx = conn.transaction()?;
    let id: Option<i64> = tx
        .query_row("SELECT id FROM sites WHERE name = ?1", [name], |r| r.get(0))
        .optional()?;
    let Some(id) = id else {
        return Ok(false);
    };
    {
        // Chunks are found through their sessions' chunk lists (no index).
        let mut sessions = tx.prepare("SELECT chunks FROM sessions WHERE site_id = ?1")?;
        let mut delete = tx.prepare("DELETE FROM event_chunks WHERE id = ?1")?;
        let lists = sessions
            .query_map([id], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for chunk in lists.iter().flat_map(|l| crate::event::unpack_ids(l)) {
            delete.execute([chunk])?;
        }
    }
    // The change sequence must not go back when the latest changes leave
    // with the site: whoever follows it (the read engine, the search
    // indexer) would skip the next ones, numbered as old.
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('change_floor', (SELECT IFNULL(MAX(changed), 0) FROM sessions))
         ON CONFLICT (key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
        [],
    )?;
    // Sessions, pages and origins go by ON DELETE CASCADE.
    tx.execute("DELETE FROM sites WHERE id = ?1", [id])?;
    tx.commit()?;
    Ok(true)
}

/// One site by name.
pub(crate) fn get(conn: &Connection, name: &str) -> Result<Option<Site>> {
    Ok(list(conn)?.into_iter().find(|s| s.name == name))
}

/// All sites with their origins, by name.
pub(crate) fn list(conn: &Connection) -> Result<Vec<Site>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.name, s.created_ms, o.origin, s.keep_query
         FROM sites s LEFT JOIN site_origins o ON o.site_id = s.id
         ORDER BY s.name, o.origin",
    )?;
    let mut sites: Vec<Site> = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let origin: Option<String> = row.get(3)?;
        if sites.last().map(|s| s.id) != Some(id) {
            sites.push(Site {
                id,
                name: row.get(1)?,
                origins: vec![],
                created_ms: row.get(2)?,
                // Written only by `set_keep_query`, from a checked list.
                keep_query: serde_json::from_str(&row.get::<_, String>(4)?).unwrap_or_default(),
            });
        }
        if let Some(o) = origin {
            sites.last_mut().expect("pushed above").origins.push(o);
        }
    }
    Ok(sites)
}

/// A site's path cleaning rules, in order: (regex, replacement).
pub(crate) fn page_rules(conn: &Connection, site_id: i64) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT pattern, replacement FROM page_rules WHERE site_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([site_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Replaces a site's path cleaning rules (the caller has checked them).
pub(crate) fn set_page_rules(
    conn: &mut Connection,
    site_id: i64,
    rules: &[(String, String)],
) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM page_rules WHERE site_id = ?1", [site_id])?;
    for (i, (pattern, replacement)) in rules.iter().enumerate() {
        tx.execute(
            "INSERT INTO page_rules (site_id, position, pattern, replacement) VALUES (?1, ?2, ?3, ?4)",
            params![site_id, i as i64, pattern, replacement],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Replaces the query parameters a site keeps in its page paths.
pub(crate) fn set_keep_query(conn: &Connection, site_id: i64, names: &[String]) -> Result<()> {
    let json = serde_json::to_string(names).expect("a list of strings serialises");
    conn.execute(
        "UPDATE sites SET keep_query = ?1 WHERE id = ?2",
        params![json, site_id],
    )?;
    Ok(())
}

/// A stage of the customer journey and the pages (regexes over cleaned
/// paths) that belong to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stage {
    pub name: String,
    pub pages: Vec<String>,
    /// Off the main line (help, account pages): a visit implies no
    /// progress through the stages before it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub side: bool,
}

/// One step of a site's expected journey (`conformance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExpectedStep {
    pub name: String,
    /// A page pattern, or `event:NAME` with an optional `KEY=VALUE`.
    pub target: String,
    /// The journey may pass it by.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// The journey may come to it again (browsing several products).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub repeatable: bool,
}

/// How a site's pages map to journey stages, and its goals (reaching one
/// means the session converted): each a page regex, or `event:NAME` with
/// an optional `KEY=VALUE` ([`crate::service::conversions::TargetSpec`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JourneySettings {
    /// In journey order: a later stage is deeper.
    pub stages: Vec<Stage>,
    pub goals: Vec<String>,
    /// The journey the site expects (`conformance`); left out of a PUT of
    /// the stages and goals, it stays as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Vec<ExpectedStep>>,
}

impl Default for JourneySettings {
    /// Stages and goals that fit common shop URL layouts (Shopify,
    /// WooCommerce, Magento and the demo storefront): a site changes them
    /// to fit its own.
    fn default() -> Self {
        let stage = |name: &str, pages: &[&str]| Stage {
            name: name.to_string(),
            pages: pages.iter().map(|p| p.to_string()).collect(),
            side: name == "retention",
        };
        JourneySettings {
            stages: vec![
                stage(
                    "awareness",
                    &[
                        r"^/(index\.html?)?([?]|$)",
                        r"^/(blog|news|about|landing|lp)([/.?]|$)",
                    ],
                ),
                stage(
                    "consideration",
                    &[
                        r"^/(products?|p|category|categories|collections?|c|shop|search|compare|gifts)([/.?]|$)",
                    ],
                ),
                stage(
                    "decision",
                    &[r"^/(cart|basket|bag|checkout|thank-?you|order-confirmation)([/.?]|$)"],
                ),
                stage(
                    "retention",
                    &[r"^/(account|my-account|orders?|help|support|faq|contact|returns)([/.?]|$)"],
                ),
                stage(
                    "advocacy",
                    &[r"^/(reviews?|refer|referral|invite|share|write-a-review)([/.?]|$)"],
                ),
            ],
            // A purchase with the tag's `purchase` event (GA4's name), or
            // a view of an order confirmation page (shops without the
            // event, and access logs).
            goals: vec![
                "event:purchase".to_string(),
                r"^/(thank-?you|order-confirmation|checkout/(success|thank-?you))([/.?]|$)"
                    .to_string(),
            ],
            expected: None,
        }
    }
}

/// A site's journey settings (the defaults until it sets its own).
pub(crate) fn journey_settings(conn: &Connection, site_id: i64) -> Result<JourneySettings> {
    let stored: Option<String> = conn
        .query_row("SELECT journey FROM sites WHERE id = ?1", [site_id], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    Ok(stored
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// Replaces a site's journey settings (the caller has checked them).
pub(crate) fn set_journey_settings(
    conn: &Connection,
    site_id: i64,
    settings: &JourneySettings,
) -> Result<()> {
    let json = serde_json::to_string(settings).expect("settings serialise");
    conn.execute(
        "UPDATE sites SET journey = ?1 WHERE id = ?2",
        params![json, site_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_or_refused() {
        assert_eq!(
            normalize_origin("https://Shop.Example").unwrap(),
            "https://shop.example"
        );
        assert_eq!(
            normalize_origin("https://shop.example:443/").unwrap(),
            "https://shop.example"
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:8081").unwrap(),
            "http://127.0.0.1:8081"
        );
        assert!(normalize_origin("shop.example").is_err());
        assert!(normalize_origin("ftp://shop.example").is_err());
        assert!(normalize_origin("https://shop.example/cart").is_err());
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("shop-1.eu").is_ok());
        assert!(validate_name("7shop").is_ok());
        assert!(validate_name(&"a".repeat(64)).is_ok());
        for bad in [
            "",
            "Shop",
            "a b",
            "x/y",
            &"a".repeat(65),
            ".",
            "..",
            "...",
            ".shop",
            "-shop",
            "_shop",
            "é",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
