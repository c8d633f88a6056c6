//! The API's doors to accounts: `/api/session` (sign in, who am I, sign
//! out), `/api/users`, `/api/tokens`, `/api/sites/{site}/shares`, and
//! `/s/{token}`, where a share link is opened in a browser. Who may call
//! each is the route table's business ([`super::routes`]); the work is the
//! service's ([`crate::service::accounts`]).

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, LOCATION};
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::api::blocking;
use super::auth::{self, Via, SESSION_COOKIE, SHARE_COOKIE};
use super::reply::{self, Reply};
use super::{ratelimit, App};
use crate::event::now_ms;
use crate::service::accounts::{Principal, ShareOpening, ShareScope};
use crate::service::ServiceError;
use crate::store::accounts::Role;

/// Largest body of a sign-in, a new user, token or share link.
const ACCOUNT_BODY_BYTES: usize = 8 * 1024;

type Who = Option<(Principal, Via)>;

/// Reads a small JSON body into `T`, or the 4xx to answer.
async fn json_body<T: for<'de> Deserialize<'de>>(
    app: &App,
    req: Request<Incoming>,
) -> Result<T, Reply> {
    let body = app
        .read_body(req.into_body(), ACCOUNT_BODY_BYTES)
        .await
        .map_err(|e| e.into_reply())?;
    serde_json::from_slice(&body.bytes())
        .map_err(|e| reply::error(StatusCode::BAD_REQUEST, &format!("malformed body: {e}")))
}

/// A sign-in attempt or a share password, within the client's share of
/// `--sign-ins-per-client-minute`.
fn rate_limited(app: &App, req: &Request<Incoming>, peer: SocketAddr) -> Option<Reply> {
    let limiter = app.limiters.sign_in.as_ref()?;
    let ip = super::collect::client_ip(req.headers(), peer, app.trust_proxy);
    let wait = limiter.check_client(ip).err()?;
    Some(ratelimit::too_many(
        wait,
        "too many sign-in attempts from this address; retry after the Retry-After delay",
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    name: Option<String>,
    password: Option<String>,
    token: Option<String>,
}

/// `GET|POST|DELETE /api/session`.
pub(crate) async fn sign_in(
    app: &Arc<App>,
    req: Request<Incoming>,
    peer: SocketAddr,
    who: Who,
) -> Reply {
    match *req.method() {
        Method::GET => match who {
            Some((p, _)) => reply::json(StatusCode::OK, &p),
            None => auth::unauthorized(),
        },
        Method::DELETE => sign_out(app, &req, who).await,
        _ => {
            if let Some(refused) = rate_limited(app, &req, peer) {
                return refused;
            }
            let secure = auth::over_tls(app, req.headers());
            let body: SignInBody = match json_body(app, req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let hours = app.sign_in_hours;
            let signed = blocking(app, move |app| match body {
                SignInBody {
                    token: Some(t),
                    name: None,
                    password: None,
                } => app
                    .service
                    .sign_in_with_token(&t, &app.token_digest, now_ms(), hours),
                SignInBody {
                    name: Some(n),
                    password: Some(p),
                    token: None,
                } => app.service.sign_in(&n, &p, now_ms(), hours),
                _ => Err(ServiceError::invalid(
                    "send {\"name\", \"password\"} or {\"token\"}",
                )),
            })
            .await;
            match signed {
                Ok(s) => {
                    let mut r = reply::json(StatusCode::OK, &s.principal);
                    auth::set_cookie(
                        &mut r,
                        SESSION_COOKIE,
                        &s.secret,
                        u64::from(hours) * 3600,
                        secure,
                    );
                    r
                }
                Err(e) => reply::service_error(&e),
            }
        }
    }
}

async fn sign_out(app: &Arc<App>, req: &Request<Incoming>, who: Who) -> Reply {
    let secure = auth::over_tls(app, req.headers());
    let secret = match &who {
        Some((p, via @ Via::Session(secret))) => {
            if let Err(refused) = auth::check(
                super::routes::Access::Signed,
                req.method(),
                "",
                p,
                via,
                req.headers(),
            ) {
                return reply::service_error(&refused);
            }
            Some(secret.clone())
        }
        Some((_, Via::Share(secret))) => Some(secret.clone()),
        _ => None,
    };
    if let Some(secret) = secret {
        if let Err(e) = blocking(app, move |app| app.service.sign_out(&secret)).await {
            return reply::service_error(&e);
        }
    }
    let mut r = reply::empty(StatusCode::NO_CONTENT);
    auth::set_cookie(&mut r, SESSION_COOKIE, "", 0, secure);
    auth::set_cookie(&mut r, SHARE_COOKIE, "", 0, secure);
    r
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: Role,
    password: String,
    #[serde(default)]
    sites: Option<Vec<String>>,
}

/// `GET|POST /api/users`.
pub(crate) async fn users(app: &Arc<App>, req: Request<Incoming>) -> Reply {
    if req.method() == Method::GET {
        return match blocking(app, |app| app.service.users()).await {
            Ok(list) => reply::json(StatusCode::OK, &json!({ "users": list })),
            Err(e) => reply::service_error(&e),
        };
    }
    let new: NewUser = match json_body(app, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let added = blocking(app, move |app| {
        let sites = new.sites.unwrap_or_default();
        app.service
            .add_user(&new.name, new.role, &new.password, &sites, now_ms())
    })
    .await;
    match added {
        Ok(u) => reply::json(StatusCode::CREATED, &u),
        Err(e) => reply::service_error(&e),
    }
}

/// `DELETE /api/users/{name}`.
pub(crate) async fn remove_user(app: &Arc<App>, name: &str) -> Reply {
    let name = name.to_string();
    match blocking(app, move |app| app.service.remove_user(&name)).await {
        Ok(()) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => reply::service_error(&e),
    }
}

/// The signed-in user's id and name; the server token has none.
fn user_of(who: &Who) -> Result<(i64, String), ServiceError> {
    match who {
        Some((
            Principal {
                user_id: Some(id),
                name: Some(name),
                ..
            },
            _,
        )) => Ok((*id, name.clone())),
        _ => Err(ServiceError::invalid(
            "the server token has no API tokens of its own: sign in as a user (trailmap user add)",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    #[serde(default)]
    label: String,
}

/// `GET|POST /api/tokens`: the asker's own API tokens.
pub(crate) async fn tokens(app: &Arc<App>, req: Request<Incoming>, who: Who) -> Reply {
    let (id, name) = match user_of(&who) {
        Ok(u) => u,
        Err(e) => return reply::service_error(&e),
    };
    if req.method() == Method::GET {
        return match blocking(app, move |app| app.service.tokens(id)).await {
            Ok(list) => reply::json(StatusCode::OK, &json!({ "tokens": list })),
            Err(e) => reply::service_error(&e),
        };
    }
    let new: NewToken = match json_body(app, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match blocking(app, move |app| {
        app.service.add_token(&name, &new.label, now_ms())
    })
    .await
    {
        Ok(t) => reply::json(StatusCode::CREATED, &t),
        Err(e) => reply::service_error(&e),
    }
}

/// `DELETE /api/tokens/{id}`.
pub(crate) async fn remove_token(app: &Arc<App>, token_id: &str, who: Who) -> Reply {
    let (user, _) = match user_of(&who) {
        Ok(u) => u,
        Err(e) => return reply::service_error(&e),
    };
    let Ok(token_id) = token_id.parse::<i64>() else {
        return reply::error(StatusCode::NOT_FOUND, "no such token");
    };
    match blocking(app, move |app| app.service.remove_token(user, token_id)).await {
        Ok(()) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => reply::service_error(&e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewShare {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    expires_days: Option<u32>,
    #[serde(default)]
    password: Option<String>,
}

/// `GET|POST /api/sites/{site}/shares`.
pub(crate) async fn shares(app: &Arc<App>, site: &str, req: Request<Incoming>, who: Who) -> Reply {
    let site = site.to_string();
    if req.method() == Method::GET {
        return match blocking(app, move |app| app.service.shares(&site)).await {
            Ok(list) => reply::json(StatusCode::OK, &json!({ "shares": list })),
            Err(e) => reply::service_error(&e),
        };
    }
    let by = who.and_then(|(p, _)| p.name);
    let new: NewShare = match json_body(app, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let made = blocking(app, move |app| {
        app.service.add_share(
            &site,
            new.view.as_deref().filter(|v| !v.is_empty()),
            new.expires_days,
            new.password.as_deref().filter(|p| !p.is_empty()),
            by.as_deref(),
            now_ms(),
        )
    })
    .await;
    match made {
        Ok(s) => reply::json(StatusCode::CREATED, &s),
        Err(e) => reply::service_error(&e),
    }
}

/// `DELETE /api/sites/{site}/shares/{id}`.
pub(crate) async fn revoke_share(app: &Arc<App>, site: &str, id: &str) -> Reply {
    let site = site.to_string();
    let Ok(id) = id.parse::<i64>() else {
        return reply::error(StatusCode::NOT_FOUND, "no such share link");
    };
    match blocking(app, move |app| app.service.revoke_share(&site, id)).await {
        Ok(()) => reply::empty(StatusCode::NO_CONTENT),
        Err(e) => reply::service_error(&e),
    }
}

/// `GET|POST /s/{token}`: opens a share link (asking for its password
/// first if it has one) and goes to its dashboards.
pub(crate) async fn share_page(
    app: &Arc<App>,
    token: &str,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Reply {
    // Tokens are hex: anything else is no link, and is never echoed.
    if token.is_empty() || token.len() > 128 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return page(
            StatusCode::NOT_FOUND,
            "This share link does not exist or was revoked.",
            None,
        );
    }
    let secure = auth::over_tls(app, req.headers());
    let password = if req.method() == Method::POST {
        if let Some(refused) = rate_limited(app, &req, peer) {
            return refused;
        }
        let body = match app.read_body(req.into_body(), ACCOUNT_BODY_BYTES).await {
            Ok(b) => b.bytes(),
            Err(e) => return e.into_reply(),
        };
        let pw = url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "password")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        Some(pw)
    } else {
        None
    };
    let token_owned = token.to_string();
    let opened = blocking(app, move |app| {
        app.service
            .open_share(&token_owned, password.as_deref(), now_ms())
    })
    .await;
    match opened {
        Ok(ShareOpening::Opened { secret, share }) => {
            let mut r = reply::empty(StatusCode::SEE_OTHER);
            if let Ok(v) = HeaderValue::from_str(&landing(&share)) {
                r.headers_mut().insert(LOCATION, v);
            }
            // The link's browser session lasts as long as the link.
            let max_age = share
                .expires
                .map_or(10 * 365 * 86_400, |e| ((e - now_ms()).max(0) / 1000) as u64);
            auth::set_cookie(&mut r, SHARE_COOKIE, &secret, max_age, secure);
            r
        }
        Ok(ShareOpening::NeedsPassword { wrong }) => page(
            if wrong {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            },
            if wrong {
                "That password is not right. Try again."
            } else {
                "This shared dashboard asks for a password."
            },
            Some(token),
        ),
        Err(ServiceError::Gone(m)) => {
            page(StatusCode::GONE, &format!("{m}. Ask for a new one."), None)
        }
        Err(ServiceError::NotFound(_)) => page(
            StatusCode::NOT_FOUND,
            "This share link does not exist or was revoked.",
            None,
        ),
        Err(e) => reply::service_error(&e),
    }
}

/// Where an opened share link goes: its view (or the overview) of its site.
fn landing(share: &ShareScope) -> String {
    format!(
        "/dashboard/#/{}?site={}",
        share.view.as_deref().unwrap_or("overview"),
        share.site
    )
}

/// A small page of its own: a message, and the password form when
/// `form_token` is given. Nothing in it comes from a visitor; the token
/// was checked to be hex.
fn page(status: StatusCode, message: &str, form_token: Option<&str>) -> Reply {
    let form = form_token.map_or(String::new(), |t| {
        format!(
            r#"<form method="post" action="/s/{t}"><label for="pw">Password</label>
<input id="pw" name="password" type="password" required autofocus autocomplete="current-password">
<button type="submit">Open</button></form>"#
        )
    });
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<title>trailmap: shared dashboard</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:12vh auto;padding:0 1rem;color:#1b1f2a}}
label{{display:block;font-weight:600;margin:1rem 0 .3rem}}input{{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}}
button{{margin-top:.8rem;padding:.5rem 1rem;font:inherit}}</style></head>
<body><h1>trailmap</h1><p id="share-message">{}</p>{form}</body></html>"#,
        html_escape(message)
    );
    let mut r = reply::text(status, "text/html; charset=utf-8", html);
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ),
    );
    r
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
