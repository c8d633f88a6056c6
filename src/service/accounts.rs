//! Who may ask what: users and their passwords, sign-in and the web
//! sessions it opens, API tokens, share links, and the [`Principal`] every
//! request of the API runs as. One implementation for both doors: `trailmap
//! user|share ...` and the API's `/api/session`, `/api/users`,
//! `/api/tokens` and `/api/sites/{site}/shares` call these.
//!
//! Secrets are random (24 bytes, hex) and only their SHA-256 is stored;
//! passwords are hashed with argon2id (the crate's default parameters, the
//! OWASP minimum: 19 MiB, 2 passes), never logged, never stored.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use serde::Serialize;

use super::error::{Result, ServiceError};
use super::{find_site, Service};
use crate::event::Millis;
use crate::store::accounts::{self, CredentialKind, Role, Share, User};
use crate::store::secrets::token_digest;
use crate::store::sites;

/// Shortest password accepted.
pub(crate) const MIN_PASSWORD: usize = 8;
/// Longest password accepted (argon2 takes any length; a bound keeps a
/// sign-in request from hashing megabytes).
const MAX_PASSWORD: usize = 1024;
/// The dashboards' views a share link may be limited to.
pub(crate) const VIEWS: &[&str] = &[
    "overview",
    "realtime",
    "journeys",
    "transitions",
    "heatmaps",
    "sessions",
    "funnels",
    "stages",
    "friction",
    "conversions",
];

/// How a request is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PrincipalKind {
    /// The server's own token (the first admin, and scripts).
    Token,
    /// A user, by password (a web session) or one of its API tokens.
    User,
    /// A share link opened in a browser: read-only, one site.
    Share,
}

/// What a share link opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ShareScope {
    pub site: String,
    pub view: Option<String>,
    #[serde(serialize_with = "super::request::serialize_iso_opt")]
    pub expires: Option<Millis>,
}

/// Who a request runs as, and what that allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Principal {
    pub kind: PrincipalKind,
    /// The user's name; `None` for the server token and share links.
    pub name: Option<String>,
    #[serde(skip)]
    pub user_id: Option<i64>,
    pub role: Role,
    /// The sites it sees; `None`: every site.
    pub sites: Option<Vec<String>>,
    /// What a cookie-based principal sends back as `X-Trailmap-CSRF` on
    /// writes; empty for bearer tokens (browsers never send those
    /// by themselves) and share links (which cannot write).
    pub csrf: String,
    pub share: Option<ShareScope>,
}

impl Principal {
    /// The server token: an admin of every site.
    pub(crate) fn server_token(csrf: String) -> Principal {
        Principal {
            kind: PrincipalKind::Token,
            name: None,
            user_id: None,
            role: Role::Admin,
            sites: None,
            csrf,
            share: None,
        }
    }

    fn of_user(user: User, csrf: String) -> Principal {
        Principal {
            kind: PrincipalKind::User,
            name: Some(user.name),
            user_id: Some(user.id),
            role: user.role,
            sites: user.sites,
            csrf,
            share: None,
        }
    }

    fn of_share(share: Share) -> Principal {
        Principal {
            kind: PrincipalKind::Share,
            name: None,
            user_id: None,
            role: Role::Viewer,
            sites: Some(vec![share.site.clone()]),
            csrf: String::new(),
            share: Some(ShareScope {
                site: share.site,
                view: share.view,
                expires: share.expires_ms,
            }),
        }
    }

    /// Whether it sees `site`.
    pub(crate) fn sees(&self, site: &str) -> bool {
        self.sites
            .as_ref()
            .is_none_or(|sites| sites.iter().any(|s| s == site))
    }

    /// Whether it may change a site's settings and shares.
    pub(crate) fn writes(&self) -> bool {
        self.role == Role::Admin && self.kind != PrincipalKind::Share
    }

    /// Whether it may manage users: an admin of every site.
    pub(crate) fn administers(&self) -> bool {
        self.writes() && self.sites.is_none()
    }
}

/// A user as the API and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UserView {
    pub name: String,
    pub role: Role,
    pub sites: Option<Vec<String>>,
    #[serde(serialize_with = "super::request::serialize_iso")]
    pub created: Millis,
}

impl From<User> for UserView {
    fn from(u: User) -> UserView {
        UserView {
            name: u.name,
            role: u.role,
            sites: u.sites,
            created: u.created_ms,
        }
    }
}

/// A signed-in browser: the cookie's secret and who it is.
pub(crate) struct SignedIn {
    pub secret: String,
    pub principal: Principal,
}

/// An API token as listed; `token` only when just made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TokenView {
    pub id: i64,
    pub label: String,
    #[serde(serialize_with = "super::request::serialize_iso")]
    pub created: Millis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A share link as listed; `url` only when just made (only the token's
/// digest is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ShareView {
    pub id: i64,
    pub site: String,
    pub view: Option<String>,
    #[serde(serialize_with = "super::request::serialize_iso_opt")]
    pub expires: Option<Millis>,
    pub password: bool,
    #[serde(serialize_with = "super::request::serialize_iso")]
    pub created: Millis,
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl ShareView {
    fn of(s: Share, url: Option<String>) -> ShareView {
        ShareView {
            id: s.id,
            site: s.site,
            view: s.view,
            expires: s.expires_ms,
            password: s.password,
            created: s.created_ms,
            created_by: s.created_by,
            url,
        }
    }
}

/// What a share link asks to be opened.
pub(crate) enum ShareOpening {
    /// Opened: the browser session's secret, and where to go.
    Opened { secret: String, share: ShareScope },
    /// It has a password and none (or a wrong one) was given.
    NeedsPassword { wrong: bool },
}

/// A fresh random secret: 24 bytes in hex.
fn secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(ServiceError::invalid(format!(
            "a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| ServiceError::Internal {
        context: "hashing the password failed",
        source: e.to_string().into(),
    })?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal {
            context: "hashing the password failed",
            source: e.to_string().into(),
        })
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to verify against when the name is unknown, so that a wrong
/// name takes as long as a wrong password (no probing for names).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
}

fn wrong_sign_in() -> ServiceError {
    ServiceError::Unauthorized("wrong name or password".into())
}

impl Service {
    /// Adds a user who may see `site_names` (none: every site).
    pub(crate) fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
        site_names: &[String],
        now: Millis,
    ) -> Result<UserView> {
        check_password(password)?;
        let hash = hash_password(password)?;
        let mut conn = self.store.admin()?;
        let ids = site_names
            .iter()
            .map(|s| find_site(&conn, s).map(|site| site.id))
            .collect::<Result<Vec<_>>>()?;
        if accounts::user_by_name(&conn, name)?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "a user named {name:?} exists already"
            )));
        }
        accounts::add_user(&mut conn, name, role, &hash, &ids, now)?;
        let (user, _) = accounts::user_by_name(&conn, name)?
            .ok_or_else(|| ServiceError::not_found("the user just added is gone"))?;
        Ok(user.into())
    }

    /// Every user.
    pub(crate) fn users(&self) -> Result<Vec<UserView>> {
        let conn = self.store.read()?;
        Ok(accounts::users(&conn)?
            .into_iter()
            .map(UserView::from)
            .collect())
    }

    /// Removes a user, ending its sessions and tokens.
    pub(crate) fn remove_user(&self, name: &str) -> Result<()> {
        let conn = self.store.admin()?;
        if !accounts::remove_user(&conn, name)? {
            return Err(ServiceError::not_found(format!("no user named {name:?}")));
        }
        Ok(())
    }

    /// Sets a user's password; its web sessions end.
    pub(crate) fn set_password(&self, name: &str, password: &str) -> Result<()> {
        check_password(password)?;
        let hash = hash_password(password)?;
        let mut conn = self.store.admin()?;
        if !accounts::set_password(&mut conn, name, &hash)? {
            return Err(ServiceError::not_found(format!("no user named {name:?}")));
        }
        Ok(())
    }

    /// Signs a user in by password: a web session of `hours`.
    pub(crate) fn sign_in(
        &self,
        name: &str,
        password: &str,
        now: Millis,
        hours: u32,
    ) -> Result<SignedIn> {
        if password.len() > MAX_PASSWORD {
            return Err(wrong_sign_in());
        }
        let found = accounts::user_by_name(&*self.store.read()?, name)?;
        let Some((user, hash)) = found else {
            verify_password(password, decoy_hash());
            return Err(wrong_sign_in());
        };
        if !verify_password(password, &hash) {
            return Err(wrong_sign_in());
        }
        self.open_session(Some(user), String::new(), now, hours)
    }

    /// Signs a browser in with a token: the server's (`server_digest`) or
    /// a user's API token.
    pub(crate) fn sign_in_with_token(
        &self,
        token: &str,
        server_digest: &str,
        now: Millis,
        hours: u32,
    ) -> Result<SignedIn> {
        let digest = token_digest(token.trim());
        if digest == server_digest {
            return self.open_session(None, digest, now, hours);
        }
        let conn = self.store.read()?;
        match accounts::credential(&conn, &digest, CredentialKind::Token, now)? {
            Some(accounts::Credential {
                user: Some(user), ..
            }) => {
                drop(conn);
                self.open_session(Some(user), String::new(), now, hours)
            }
            _ => Err(ServiceError::Unauthorized(
                "that token was not accepted".into(),
            )),
        }
    }

    fn open_session(
        &self,
        user: Option<User>,
        label: String,
        now: Millis,
        hours: u32,
    ) -> Result<SignedIn> {
        let (cookie, csrf) = (secret(), secret());
        let conn = self.store.admin()?;
        let expires = now + i64::from(hours) * 3_600_000;
        accounts::add_credential(
            &conn,
            user.as_ref().map(|u| u.id),
            CredentialKind::Session,
            &token_digest(&cookie),
            &label,
            &csrf,
            now,
            Some(expires),
        )?;
        let principal = match user {
            Some(u) => Principal::of_user(u, csrf),
            None => Principal::server_token(csrf),
        };
        Ok(SignedIn {
            secret: cookie,
            principal,
        })
    }

    /// Ends the web session of a cookie.
    pub(crate) fn sign_out(&self, cookie: &str) -> Result<()> {
        let conn = self.store.admin()?;
        let digest = token_digest(cookie);
        accounts::remove_credential(&conn, &digest)?;
        accounts::remove_share_session(&conn, &digest)?;
        Ok(())
    }

    /// Who sends `Authorization: Bearer <token>`, if anyone.
    pub(crate) fn bearer(
        &self,
        token: &str,
        server_digest: &str,
        now: Millis,
    ) -> Result<Option<Principal>> {
        let digest = token_digest(token.trim());
        if constant_time_eq(digest.as_bytes(), server_digest.as_bytes()) {
            return Ok(Some(Principal::server_token(String::new())));
        }
        let conn = self.store.read()?;
        Ok(
            accounts::credential(&conn, &digest, CredentialKind::Token, now)?
                .and_then(|c| c.user)
                .map(|u| Principal::of_user(u, String::new())),
        )
    }

    /// Who the web-session cookie `secret` signs in, if it lives (a server
    /// token session ends when the server's token changes).
    pub(crate) fn web_session(
        &self,
        secret: &str,
        server_digest: &str,
        now: Millis,
    ) -> Result<Option<Principal>> {
        let conn = self.store.read()?;
        let Some(c) =
            accounts::credential(&conn, &token_digest(secret), CredentialKind::Session, now)?
        else {
            return Ok(None);
        };
        Ok(match c.user {
            Some(user) => Some(Principal::of_user(user, c.csrf)),
            None if c.label == server_digest => Some(Principal::server_token(c.csrf)),
            None => None,
        })
    }

    /// The share link behind a share cookie, while it lives.
    pub(crate) fn share_session(&self, secret: &str, now: Millis) -> Result<Option<Principal>> {
        let conn = self.store.read()?;
        Ok(accounts::share_session(&conn, &token_digest(secret), now)?.map(Principal::of_share))
    }

    /// Deletes expired web sessions (hourly, from the server).
    pub(crate) fn prune_sessions(&self, now: Millis) -> Result<usize> {
        Ok(accounts::prune_sessions(&self.store.admin()?, now)?)
    }

    /// A new API token of `user`; the token is in the answer only.
    pub(crate) fn add_token(&self, user: &str, label: &str, now: Millis) -> Result<TokenView> {
        let conn = self.store.admin()?;
        let (u, _) = accounts::user_by_name(&conn, user)?
            .ok_or_else(|| ServiceError::not_found(format!("no user named {user:?}")))?;
        let label = label.trim();
        if label.chars().count() > 100 {
            return Err(ServiceError::invalid(
                "a token's label has at most 100 characters",
            ));
        }
        let token = secret();
        let id = accounts::add_credential(
            &conn,
            Some(u.id),
            CredentialKind::Token,
            &token_digest(&token),
            label,
            "",
            now,
            None,
        )?;
        Ok(TokenView {
            id,
            label: label.to_string(),
            created: now,
            token: Some(token),
        })
    }

    /// A user's API tokens.
    pub(crate) fn tokens(&self, user_id: i64) -> Result<Vec<TokenView>> {
        let conn = self.store.read()?;
        Ok(accounts::tokens(&conn, user_id)?
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                label: t.label,
                created: t.created_ms,
                token: None,
            })
            .collect())
    }

    /// Deletes one of a user's API tokens.
    pub(crate) fn remove_token(&self, user_id: i64, id: i64) -> Result<()> {
        if !accounts::remove_token(&self.store.admin()?, user_id, id)? {
            return Err(ServiceError::not_found(format!("no token {id} of yours")));
        }
        Ok(())
    }

    /// A new share link of `site`, limited to `view` if given, expiring
    /// after `expires_days` if given, asking for `password` if given.
    pub(crate) fn add_share(
        &self,
        site: &str,
        view: Option<&str>,
        expires_days: Option<u32>,
        password: Option<&str>,
        by: Option<&str>,
        now: Millis,
    ) -> Result<ShareView> {
        if let Some(v) = view.filter(|v| !VIEWS.contains(v)) {
            return Err(ServiceError::invalid(format!(
                "view: {v:?} is not one of {}",
                VIEWS.join(", ")
            )));
        }
        if let Some(d) = expires_days.filter(|d| !(1..=3650).contains(d)) {
            return Err(ServiceError::invalid(format!(
                "expires_days: {d} is out of range (1 to 3650)"
            )));
        }
        let hash = match password {
            Some(p) => {
                check_password(p)?;
                Some(hash_password(p)?)
            }
            None => None,
        };
        let conn = self.store.admin()?;
        let s = find_site(&conn, site)?;
        let token = secret();
        let expires = expires_days.map(|d| now + i64::from(d) * 86_400_000);
        let id = accounts::add_share(
            &conn,
            s.id,
            &token_digest(&token),
            view,
            hash.as_deref(),
            expires,
            by,
            now,
        )?;
        let share = accounts::shares(&conn, s.id)?
            .into_iter()
            .find(|x| x.id == id)
            .ok_or_else(|| ServiceError::not_found("the share link just made is gone"))?;
        Ok(ShareView::of(share, Some(format!("/s/{token}"))))
    }

    /// A site's share links.
    pub(crate) fn shares(&self, site: &str) -> Result<Vec<ShareView>> {
        let conn = self.store.read()?;
        let s = find_site(&conn, site)?;
        Ok(accounts::shares(&conn, s.id)?
            .into_iter()
            .map(|x| ShareView::of(x, None))
            .collect())
    }

    /// Revokes a share link of `site`: its browsers lose access at once.
    pub(crate) fn revoke_share(&self, site: &str, id: i64) -> Result<()> {
        let conn = self.store.admin()?;
        let s = find_site(&conn, site)?;
        if !accounts::revoke_share(&conn, s.id, id)? {
            return Err(ServiceError::not_found(format!(
                "no share link {id} of site {site:?}"
            )));
        }
        Ok(())
    }

    /// Opens the share link of `token` in a browser, with its password if
    /// it has one.
    pub(crate) fn open_share(
        &self,
        token: &str,
        password: Option<&str>,
        now: Millis,
    ) -> Result<ShareOpening> {
        let conn = self.store.admin()?;
        let Some((share, hash)) = accounts::share_by_digest(&conn, &token_digest(token))? else {
            return Err(ServiceError::not_found(
                "this share link does not exist or was revoked",
            ));
        };
        if share.expires_ms.is_some_and(|e| e <= now) {
            return Err(ServiceError::Gone("this share link has expired".into()));
        }
        if let Some(hash) = hash {
            match password {
                Some(p) if p.len() <= MAX_PASSWORD && verify_password(p, &hash) => {}
                given => {
                    return Ok(ShareOpening::NeedsPassword {
                        wrong: given.is_some(),
                    })
                }
            }
        }
        let secret = secret();
        accounts::add_share_session(&conn, share.id, &token_digest(&secret), now)?;
        Ok(ShareOpening::Opened {
            secret,
            share: Principal::of_share(share)
                .share
                .expect("a share principal has its scope"),
        })
    }

    /// The sites a principal sees, as `/api/sites` lists them.
    pub(crate) fn sites_seen(&self, who: &Principal) -> Result<Vec<sites::Site>> {
        Ok(self
            .sites()?
            .into_iter()
            .filter(|s| who.sees(&s.name))
            .collect())
    }
}

/// Equality that takes as long whatever the bytes (for secrets).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(check_password("short").is_err());
    }
}
