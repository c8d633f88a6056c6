//! People and links: users with a role and the sites they may see, their
//! credentials (web sessions and API tokens), and share links with the
//! browser sessions opened through them.
//!
//! Only digests of secrets are stored (SHA-256 of session cookies, API
//! tokens and share tokens, argon2 of passwords, both computed by the
//! service), so a copy of the database hands out no access. Deleting a
//! user ends its credentials, revoking a link ends its sessions (foreign
//! keys cascade).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{Result, StoreError};
use crate::event::Millis;

/// What a user may do: see, or see and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    /// Everything on its sites, settings and sharing included; users and
    /// others' tokens too when it may see every site.
    Admin,
    /// Reads only.
    Viewer,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    fn parse(s: &str) -> Role {
        if s == "admin" {
            Role::Admin
        } else {
            Role::Viewer
        }
    }
}

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The sites it may see, by name; `None`: every site.
    pub sites: Option<Vec<String>>,
    pub created_ms: Millis,
}

/// Checks a user name: 1 to 64 characters of letters, digits and
/// `. _ - @`, so it shows and types the same everywhere.
pub(crate) fn validate_user_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid user name {name:?}: use 1 to 64 characters of letters, digits and . _ - @"
        )))
    }
}

/// Adds a user; an error if the name is taken.
pub(crate) fn add_user(
    conn: &mut Connection,
    name: &str,
    role: Role,
    password_hash: &str,
    site_ids: &[i64],
    now: Millis,
) -> Result<()> {
    validate_user_name(name)?;
    let tx = conn.transaction()?;
    let taken: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)",
        [name],
        |r| r.get(0),
    )?;
    if taken {
        return Err(StoreError::Invalid(format!(
            "a user named {name:?} exists already"
        )));
    }
    tx.execute(
        "INSERT INTO users (name, role, password_hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![name, role.as_str(), password_hash, now],
    )?;
    let id = tx.last_insert_rowid();
    for site in site_ids {
        tx.execute(
            "INSERT OR IGNORE INTO user_sites (user_id, site_id) VALUES (?1, ?2)",
            params![id, site],
        )?;
    }
    tx.commit()?;
    Ok(())
}

fn sites_of(conn: &Connection, user_id: i64) -> Result<Option<Vec<String>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.name FROM user_sites u JOIN sites s ON s.id = u.site_id
         WHERE u.user_id = ?1 ORDER BY s.name",
    )?;
    let names = stmt
        .query_map([user_id], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((!names.is_empty()).then_some(names))
}

fn user_from(
    conn: &Connection,
    (id, name, role, created_ms): (i64, String, String, i64),
) -> Result<User> {
    Ok(User {
        id,
        sites: sites_of(conn, id)?,
        name,
        role: Role::parse(&role),
        created_ms,
    })
}

/// Every user, by name.
pub(crate) fn users(conn: &Connection) -> Result<Vec<User>> {
    let rows: Vec<(i64, String, String, i64)> = conn
        .prepare("SELECT id, name, role, created_ms FROM users ORDER BY name")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter().map(|row| user_from(conn, row)).collect()
}

/// A user and its password hash, by name.
pub(crate) fn user_by_name(conn: &Connection, name: &str) -> Result<Option<(User, String)>> {
    let row: Option<((i64, String, String, i64), String)> = conn
        .query_row(
            "SELECT id, name, role, created_ms, password_hash FROM users WHERE name = ?1",
            [name],
            |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?), r.get(4)?)),
        )
        .optional()?;
    row.map(|(u, hash)| Ok((user_from(conn, u)?, hash)))
        .transpose()
}

/// Deletes a user (its credentials go with it); whether it existed.
pub(crate) fn remove_user(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM users WHERE name = ?1", [name])? > 0)
}

/// Replaces a user's password hash and ends its web sessions (a changed
/// password signs everyone out); whether the user exists.
pub(crate) fn set_password(conn: &mut Connection, name: &str, password_hash: &str) -> Result<bool> {
    let tx = conn.transaction()?;
    let changed = tx.execute(
        "UPDATE users SET password_hash = ?2 WHERE name = ?1",
        params![name, password_hash],
    )? > 0;
    tx.execute(
        "DELETE FROM credentials WHERE kind = 'session'
         AND user_id = (SELECT id FROM users WHERE name = ?1)",
        [name],
    )?;
    tx.commit()?;
    Ok(changed)
}

/// What a credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    /// A browser's sign-in (a cookie), with a CSRF token, expiring.
    Session,
    /// An API token for scripts, until deleted.
    Token,
}

impl CredentialKind {
    fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Session => "session",
            CredentialKind::Token => "token",
        }
    }
}

/// A new credential of a user (`None`: of the server token, whose digest
/// is then the label): its secret's digest, a label (tokens), the CSRF
/// token (sessions). Returns its id.
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_credential(
    conn: &Connection,
    user_id: Option<i64>,
    kind: CredentialKind,
    digest: &str,
    label: &str,
    csrf: &str,
    now: Millis,
    expires_ms: Option<Millis>,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO credentials (digest, user_id, kind, label, csrf, created_ms, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![digest, user_id, kind.as_str(), label, csrf, now, expires_ms],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A live credential of `kind`.
pub(crate) struct Credential {
    /// Its user; `None`: the server token's sign-in.
    pub user: Option<User>,
    pub csrf: String,
    pub label: String,
}

/// The live credential of `kind` with that digest.
pub(crate) fn credential(
    conn: &Connection,
    digest: &str,
    kind: CredentialKind,
    now: Millis,
) -> Result<Option<Credential>> {
    type Row = (Option<(i64, String, String, i64)>, String, String);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT u.id, u.name, u.role, u.created_ms, c.csrf, c.label
             FROM credentials c LEFT JOIN users u ON u.id = c.user_id
             WHERE c.digest = ?1 AND c.kind = ?2 AND (c.expires_ms IS NULL OR c.expires_ms > ?3)",
        )?
        .query_row(params![digest, kind.as_str(), now], |r| {
            let user = match r.get::<_, Option<i64>>(0)? {
                Some(id) => Some((id, r.get(1)?, r.get(2)?, r.get(3)?)),
                None => None,
            };
            Ok((user, r.get(4)?, r.get(5)?))
        })
        .optional()?;
    row.map(|(user, csrf, label)| {
        Ok(Credential {
            user: user.map(|u| user_from(conn, u)).transpose()?,
            csrf,
            label,
        })
    })
    .transpose()
}

/// Ends one credential by its digest.
pub(crate) fn remove_credential(conn: &Connection, digest: &str) -> Result<()> {
    conn.execute("DELETE FROM credentials WHERE digest = ?1", [digest])?;
    Ok(())
}

/// An API token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenInfo {
    pub id: i64,
    pub label: String,
    pub created_ms: Millis,
}

/// A user's API tokens, oldest first.
pub(crate) fn tokens(conn: &Connection, user_id: i64) -> Result<Vec<TokenInfo>> {
    Ok(conn
        .prepare(
            "SELECT id, label, created_ms FROM credentials
             WHERE user_id = ?1 AND kind = 'token' ORDER BY id",
        )?
        .query_map([user_id], |r| {
            Ok(TokenInfo {
                id: r.get(0)?,
                label: r.get(1)?,
                created_ms: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// Deletes one of a user's API tokens; whether it was there.
pub(crate) fn remove_token(conn: &Connection, user_id: i64, id: i64) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM credentials WHERE id = ?1 AND user_id = ?2 AND kind = 'token'",
        params![id, user_id],
    )? > 0)
}

/// Deletes expired web sessions; how many.
pub(crate) fn prune_sessions(conn: &Connection, now: Millis) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM credentials WHERE expires_ms IS NOT NULL AND expires_ms <= ?1",
        [now],
    )?)
}

/// A share link: read-only access to one site, optionally to one view,
/// until it expires or is revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Share {
    pub id: i64,
    pub site_id: i64,
    pub site: String,
    pub view: Option<String>,
    pub expires_ms: Option<Millis>,
    /// Whether opening it asks for a password.
    pub password: bool,
    pub created_ms: Millis,
    /// The user who made it (`None`: the server token or the CLI).
    pub created_by: Option<String>,
}

const SHARE_COLUMNS: &str = "l.id, l.site_id, s.name, l.view, l.expires_ms, l.password_hash, \
                             l.created_ms, l.created_by";

fn share_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Share, Option<String>)> {
    let hash: Option<String> = r.get(5)?;
    Ok((
        Share {
            id: r.get(0)?,
            site_id: r.get(1)?,
            site: r.get(2)?,
            view: r.get(3)?,
            expires_ms: r.get(4)?,
            password: hash.is_some(),
            created_ms: r.get(6)?,
            created_by: r.get(7)?,
        },
        hash,
    ))
}

/// A new share link of a site, by its token's digest. Returns its id.
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_share(
    conn: &Connection,
    site_id: i64,
    digest: &str,
    view: Option<&str>,
    password_hash: Option<&str>,
    expires_ms: Option<Millis>,
    created_by: Option<&str>,
    now: Millis,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO share_links (site_id, digest, view, password_hash, expires_ms, created_ms, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![site_id, digest, view, password_hash, expires_ms, now, created_by],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A site's share links, newest first.
pub(crate) fn shares(conn: &Connection, site_id: i64) -> Result<Vec<Share>> {
    let sql = format!(
        "SELECT {SHARE_COLUMNS} FROM share_links l JOIN sites s ON s.id = l.site_id
         WHERE l.site_id = ?1 ORDER BY l.id DESC"
    );
    Ok(conn
        .prepare(&sql)?
        .query_map([site_id], |r| share_from(r).map(|(s, _)| s))?
        .collect::<rusqlite::Result<_>>()?)
}

/// A share link by its token's digest, with its password hash.
pub(crate) fn share_by_digest(
    conn: &Connection,
    digest: &str,
) -> Result<Option<(Share, Option<String>)>> {
    let sql = format!(
        "SELECT {SHARE_COLUMNS} FROM share_links l JOIN sites s ON s.id = l.site_id
         WHERE l.digest = ?1"
    );
    Ok(conn.query_row(&sql, [digest], share_from).optional()?)
}

/// Revokes a share link of a site (its browser sessions end with it);
/// whether it was there.
pub(crate) fn revoke_share(conn: &Connection, site_id: i64, id: i64) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM share_links WHERE id = ?1 AND site_id = ?2",
        params![id, site_id],
    )? > 0)
}

/// A browser session opened through a share link, by its cookie's digest.
pub(crate) fn add_share_session(
    conn: &Connection,
    share_id: i64,
    digest: &str,
    now: Millis,
) -> Result<()> {
    conn.execute(
        "INSERT INTO share_sessions (digest, share_id, created_ms) VALUES (?1, ?2, ?3)",
        params![digest, share_id, now],
    )?;
    Ok(())
}

/// The share link behind a browser session, while the link lives.
pub(crate) fn share_session(conn: &Connection, digest: &str, now: Millis) -> Result<Option<Share>> {
    let sql = format!(
        "SELECT {SHARE_COLUMNS} FROM share_sessions x
         JOIN share_links l ON l.id = x.share_id JOIN sites s ON s.id = l.site_id
         WHERE x.digest = ?1 AND (l.expires_ms IS NULL OR l.expires_ms > ?2)"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![digest, now], |r| share_from(r).map(|(s, _)| s))
        .optional()?)
}

/// Ends one share session by its digest.
pub(crate) fn remove_share_session(conn: &Connection, digest: &str) -> Result<()> {
    conn.execute("DELETE FROM share_sessions WHERE digest = ?1", [digest])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn users_credentials_and_shares_live_and_die_together() {
        let (_d, store) = db();
        let mut conn = store.admin().unwrap();
        crate::store::sites::add(&mut conn, "shop", &["https://shop.example".into()], 1).unwrap();
        let shop = crate::store::sites::get(&conn, "shop").unwrap().unwrap().id;
        add_user(&mut conn, "vera", Role::Viewer, "h", &[shop], 5).unwrap();
        assert!(add_user(&mut conn, "vera", Role::Admin, "h", &[], 5).is_err());
        assert!(add_user(&mut conn, "no spaces", Role::Admin, "h", &[], 5).is_err());
        let (vera, hash) = user_by_name(&conn, "vera").unwrap().unwrap();
        assert_eq!(
            (vera.role, vera.sites.clone(), hash.as_str()),
            (Role::Viewer, Some(vec!["shop".into()]), "h")
        );

        add_credential(
            &conn,
            Some(vera.id),
            CredentialKind::Session,
            "s1",
            "",
            "c1",
            10,
            Some(100),
        )
        .unwrap();
        add_credential(
            &conn,
            Some(vera.id),
            CredentialKind::Token,
            "t1",
            "ci",
            "",
            10,
            None,
        )
        .unwrap();
        assert_eq!(
            credential(&conn, "s1", CredentialKind::Session, 50)
                .unwrap()
                .unwrap()
                .csrf,
            "c1"
        );
        // Expired, or asked for as the other kind: nothing.
        assert!(credential(&conn, "s1", CredentialKind::Session, 100)
            .unwrap()
            .is_none());
        assert!(credential(&conn, "s1", CredentialKind::Token, 50)
            .unwrap()
            .is_none());
        assert!(credential(&conn, "t1", CredentialKind::Token, i64::MAX)
            .unwrap()
            .is_some());
        assert_eq!(prune_sessions(&conn, 100).unwrap(), 1);
        // A new password ends web sessions, not tokens.
        add_credential(
            &conn,
            Some(vera.id),
            CredentialKind::Session,
            "s2",
            "",
            "c2",
            10,
            Some(1000),
        )
        .unwrap();
        // The server token's sign-in has no user.
        add_credential(
            &conn,
            None,
            CredentialKind::Session,
            "s3",
            "digest",
            "c3",
            10,
            None,
        )
        .unwrap();
        let server = credential(&conn, "s3", CredentialKind::Session, 50)
            .unwrap()
            .unwrap();
        assert_eq!((server.user, server.label.as_str()), (None, "digest"));
        assert!(set_password(&mut conn, "vera", "h2").unwrap());
        assert!(credential(&conn, "s2", CredentialKind::Session, 50)
            .unwrap()
            .is_none());
        assert_eq!(tokens(&conn, vera.id).unwrap().len(), 1);

        let id = add_share(
            &conn,
            shop,
            "x1",
            Some("funnels"),
            None,
            Some(500),
            None,
            20,
        )
        .unwrap();
        add_share_session(&conn, id, "b1", 30).unwrap();
        assert_eq!(
            share_session(&conn, "b1", 40)
                .unwrap()
                .unwrap()
                .view
                .as_deref(),
            Some("funnels")
        );
        assert!(
            share_session(&conn, "b1", 500).unwrap().is_none(),
            "expired"
        );
        assert!(revoke_share(&conn, shop, id).unwrap());
        assert!(share_session(&conn, "b1", 40).unwrap().is_none(), "revoked");

        // A removed user's credentials go with it.
        assert!(remove_user(&conn, "vera").unwrap());
        assert!(credential(&conn, "t1", CredentialKind::Token, 50)
            .unwrap()
            .is_none());
    }
}
