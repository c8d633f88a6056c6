//! Who a request runs as, and whether its route lets it: the bearer token
//! (the server's or a user's API token), else the dashboards' web-session
//! cookie, else a share link's cookie, resolved by the service into a
//! [`Principal`]; then the route's [`Access`] decides, per method.
//!
//! Cookies are HttpOnly and SameSite=Strict (Secure behind a trusted
//! TLS proxy), and a write sent with a cookie must also carry the
//! session's CSRF token in `X-Trailmap-CSRF`, which another site cannot
//! read: a forged form or fetch from elsewhere fails twice over.

use std::sync::Arc;

use hyper::header::{HeaderValue, AUTHORIZATION, COOKIE, SET_COOKIE};
use hyper::{HeaderMap, Method, StatusCode};

use super::reply::{self, Reply};
use super::routes::Access;
use super::App;
use crate::event::now_ms;
use crate::service::accounts::{constant_time_eq, Principal, PrincipalKind};
use crate::service::ServiceError;

/// The dashboards' sign-in cookie.
pub(crate) const SESSION_COOKIE: &str = "trailmap_session";
/// A share link's cookie.
pub(crate) const SHARE_COOKIE: &str = "trailmap_share";
/// The header a cookie-authenticated write carries.
pub(crate) const CSRF_HEADER: &str = "x-trailmap-csrf";

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Via {
    Bearer,
    /// The web-session cookie, with its secret.
    Session(String),
    /// A share link's cookie, with its secret.
    Share(String),
}

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// The value of cookie `name`, from any `Cookie` header.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// Who the request is, if anyone: a bearer token decides alone (a wrong
/// one is refused even with a good cookie beside it); then the session
/// cookie; then a share cookie.
pub(crate) async fn principal(
    app: &Arc<App>,
    headers: &HeaderMap,
) -> Result<Option<(Principal, Via)>, ServiceError> {
    let token = bearer(headers).map(str::to_string);
    let session = cookie(headers, SESSION_COOKIE).map(str::to_string);
    let share = cookie(headers, SHARE_COOKIE).map(str::to_string);
    if token.is_none() && session.is_none() && share.is_none() {
        return Ok(None);
    }
    super::api::blocking(app, move |app| {
        let now = now_ms();
        if let Some(token) = token {
            return Ok(app
                .service
                .bearer(&token, &app.token_digest, now)?
                .map(|p| (p, Via::Bearer)));
        }
        if let Some(secret) = session {
            if let Some(p) = app.service.web_session(&secret, &app.token_digest, now)? {
                return Ok(Some((p, Via::Session(secret))));
            }
        }
        if let Some(secret) = share {
            if let Some(p) = app.service.share_session(&secret, now)? {
                return Ok(Some((p, Via::Share(secret))));
            }
        }
        Ok(None)
    })
    .await
}

fn reads(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// Whether `who` may send `method` to a route of `access` (for `site`,
/// the path's `{site}`), and has the CSRF token a cookie's write needs;
/// why not otherwise (403, or 404 for a site it does not see).
pub(crate) fn check(
    access: Access,
    method: &Method,
    site: &str,
    who: &Principal,
    via: &Via,
    headers: &HeaderMap,
) -> Result<(), ServiceError> {
    let share = who.kind == PrincipalKind::Share;
    if share && !reads(method) {
        return Err(ServiceError::Forbidden("a share link is read-only".into()));
    }
    match access {
        Access::Public | Access::Anyone => {}
        Access::Signed if share => {
            return Err(ServiceError::Forbidden(
                "a share link opens one site's dashboards, nothing else".into(),
            ))
        }
        Access::Signed => {}
        Access::Site | Access::SiteAdmin => {
            if !who.sees(site) {
                // The same answer as for a site that does not exist: what
                // one may not see, one cannot probe for.
                return Err(ServiceError::unknown_site(site));
            }
            if access == Access::SiteAdmin && !who.writes() {
                return Err(ServiceError::Forbidden(
                    "only an admin of this site can see and make its share links".into(),
                ));
            }
            if !reads(method) && !who.writes() {
                return Err(ServiceError::Forbidden(
                    "viewers cannot change settings: ask an admin".into(),
                ));
            }
        }
        Access::Admin if !who.administers() => {
            return Err(ServiceError::Forbidden(
                "only an admin of every site can do this".into(),
            ))
        }
        Access::Admin => {}
    }
    if matches!(via, Via::Session(_)) && !reads(method) && !csrf_ok(headers, &who.csrf) {
        return Err(ServiceError::Forbidden(
            "missing or wrong X-Trailmap-CSRF header: a write signed in by cookie must send it"
                .into(),
        ));
    }
    Ok(())
}

fn csrf_ok(headers: &HeaderMap, expected: &str) -> bool {
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !expected.is_empty() && constant_time_eq(sent.as_bytes(), expected.as_bytes())
}

/// 401, with the challenge that says which scheme to use.
pub(crate) fn unauthorized() -> Reply {
    let mut r = reply::error(
        StatusCode::UNAUTHORIZED,
        "not signed in: sign in to the dashboards, or send Authorization: Bearer <token>",
    );
    r.headers_mut()
        .insert("www-authenticate", HeaderValue::from_static("Bearer"));
    r
}

/// Whether the request reached us over TLS through a trusted proxy, so
/// cookies can be marked Secure.
pub(crate) fn over_tls(app: &App, headers: &HeaderMap) -> bool {
    app.trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// Adds `Set-Cookie` for `name` = `value`, for `max_age_secs` (0: delete).
pub(crate) fn set_cookie(
    reply: &mut Reply,
    name: &str,
    value: &str,
    max_age_secs: u64,
    secure: bool,
) {
    let cookie = format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        reply.headers_mut().append(SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::Role;

    fn viewer() -> Principal {
        Principal {
            kind: PrincipalKind::User,
            name: Some("vera".into()),
            user_id: Some(1),
            role: Role::Viewer,
            sites: Some(vec!["shop".into()]),
            csrf: "c".repeat(48),
            share: None,
        }
    }

    fn status(r: Result<(), ServiceError>) -> u16 {
        r.map_or_else(|e| reply::service_error(&e).status().as_u16(), |()| 200)
    }

    #[test]
    fn routes_let_each_principal_do_only_its_part() {
        let h = HeaderMap::new();
        let v = viewer();
        let cookie = Via::Session("s".into());
        assert_eq!(
            status(check(Access::Site, &Method::GET, "shop", &v, &cookie, &h)),
            200
        );
        assert_eq!(
            status(check(Access::Site, &Method::GET, "other", &v, &cookie, &h)),
            404
        );
        assert_eq!(
            status(check(
                Access::Site,
                &Method::PUT,
                "shop",
                &v,
                &Via::Bearer,
                &h
            )),
            403
        );
        assert_eq!(
            status(check(Access::Admin, &Method::GET, "", &v, &Via::Bearer, &h)),
            403
        );
        let mut admin = viewer();
        admin.role = Role::Admin;
        // An admin's cookie write without, then with, the CSRF header.
        assert_eq!(
            status(check(
                Access::Site,
                &Method::PUT,
                "shop",
                &admin,
                &cookie,
                &h
            )),
            403
        );
        let mut with = HeaderMap::new();
        with.insert(CSRF_HEADER, HeaderValue::from_str(&admin.csrf).unwrap());
        assert_eq!(
            status(check(
                Access::Site,
                &Method::PUT,
                "shop",
                &admin,
                &cookie,
                &with
            )),
            200
        );
        assert_eq!(
            status(check(
                Access::Site,
                &Method::PUT,
                "shop",
                &admin,
                &Via::Bearer,
                &h
            )),
            200
        );
        // Limited to some sites: no user management.
        assert_eq!(
            status(check(
                Access::Admin,
                &Method::GET,
                "",
                &admin,
                &Via::Bearer,
                &h
            )),
            403
        );
    }

    #[test]
    fn cookies_are_read_from_any_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; trailmap_session=abc"),
        );
        h.append(COOKIE, HeaderValue::from_static("trailmap_share=def"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, SHARE_COOKIE), Some("def"));
        assert_eq!(cookie(&h, "b"), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer  tok "));
        assert_eq!(bearer(&h), Some("tok"));
    }
}
