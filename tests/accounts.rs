//! People and share links through the real binary and real HTTP: users
//! made with the CLI sign in for a cookie, roles and per-site access hold
//! on every route, cookie writes need the CSRF header, user API tokens
//! work and die with their user, and share links open one site read-only
//! until they expire or are revoked.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// `trailmap user add` with the password on stdin.
fn add_user(db: &std::path::Path, name: &str, role: &str, sites: &[&str], password: &str) {
    let mut args = vec![
        "--db",
        db.to_str().unwrap(),
        "user",
        "add",
        name,
        "--role",
        role,
        "--password-stdin",
    ];
    for s in sites {
        args.extend(["--site", s]);
    }
    let mut child = Command::new(bin())
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn no_redirects() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .redirects(0)
        .build()
}

/// A request with optional cookie, bearer token and CSRF header.
fn call(s: &Server, method: &str, path: &str, auth: &Auth, body: Option<&str>) -> Resp {
    let mut req = no_redirects().request(method, &s.url(path));
    if let Some(c) = &auth.cookie {
        req = req.set("cookie", c);
    }
    if let Some(t) = &auth.bearer {
        req = req.set("authorization", &format!("Bearer {t}"));
    }
    if let Some(c) = &auth.csrf {
        req = req.set("x-trailmap-csrf", c);
    }
    into_resp(match body {
        Some(b) => req.set("content-type", "application/json").send_string(b),
        None => req.call(),
    })
}

#[derive(Default, Clone)]
struct Auth {
    cookie: Option<String>,
    bearer: Option<String>,
    csrf: Option<String>,
}

fn admin() -> Auth {
    Auth {
        bearer: Some(TOKEN.to_string()),
        ..Auth::default()
    }
}

/// Signs in by password; the cookie and the CSRF token.
fn sign_in(s: &Server, name: &str, password: &str) -> (Resp, Auth) {
    let r = call(
        s,
        "POST",
        "/api/session",
        &Auth::default(),
        Some(&format!(r#"{{"name":"{name}","password":"{password}"}}"#)),
    );
    let cookie = r
        .header("set-cookie")
        .map(|c| c.split(';').next().unwrap().to_string());
    let csrf = (r.status == 200).then(|| r.json()["csrf"].as_str().unwrap().to_string());
    (
        r,
        Auth {
            cookie,
            csrf,
            bearer: None,
        },
    )
}

#[test]
fn users_sign_in_with_a_cookie_and_roles_and_sites_hold_on_every_route() {
    let s = Server::start(&[]);
    let (ok, _, err) = run_cli(
        &s.db,
        &["site", "add", "other", "--origin", "https://other.test"],
    );
    assert!(ok, "{err}");
    add_user(&s.db, "vera", "viewer", &["shop"], "vera-password-1");
    add_user(&s.db, "ada", "admin", &[], "ada-password-1");

    // Wrong password, unknown name: the same 401; no cookie.
    let (r, _) = sign_in(&s, "vera", "wrong-password");
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.header("set-cookie").is_none());
    let (r2, _) = sign_in(&s, "nobody", "wrong-password");
    assert_eq!(
        (r2.status, r2.json()["error"].clone()),
        (401, r.json()["error"].clone())
    );

    let (r, vera) = sign_in(&s, "vera", "vera-password-1");
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.header("set-cookie").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: not Secure ({set})");
    assert_eq!(r.json()["role"], "viewer");
    let me = call(&s, "GET", "/api/session", &vera, None).json();
    assert_eq!(
        (me["name"].clone(), me["sites"].clone()),
        (Value::from("vera"), serde_json::json!(["shop"]))
    );

    // The viewer reads its site, not the other one, and changes nothing.
    let sites = call(&s, "GET", "/api/sites", &vera, None).json();
    assert_eq!(sites["sites"].as_array().unwrap().len(), 1);
    assert_eq!(
        call(&s, "GET", "/api/sites/shop/exits", &vera, None).status,
        200
    );
    assert_eq!(
        call(&s, "GET", "/api/sites/other/exits", &vera, None).status,
        404
    );
    let put = call(
        &s,
        "PUT",
        "/api/sites/shop/rules",
        &vera,
        Some(r#"{"rules":[]}"#),
    );
    assert_eq!(put.status, 403, "{}", put.body);
    assert!(put.json()["error"].as_str().unwrap().contains("viewers"));
    assert_eq!(call(&s, "GET", "/api/users", &vera, None).status, 403);
    assert_eq!(call(&s, "GET", "/metrics", &vera, None).status, 403);

    // An admin's cookie write needs the CSRF header.
    let (_, ada) = sign_in(&s, "ada", "ada-password-1");
    let no_csrf = Auth {
        csrf: None,
        ..ada.clone()
    };
    let r = call(
        &s,
        "PUT",
        "/api/sites/shop/rules",
        &no_csrf,
        Some(r#"{"rules":[]}"#),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.json()["error"].as_str().unwrap().contains("CSRF"));
    let r = call(
        &s,
        "PUT",
        "/api/sites/shop/rules",
        &ada,
        Some(r#"{"rules":[]}"#),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The server's token stays an admin token, and needs no CSRF header.
    assert_eq!(
        call(&s, "GET", "/api/users", &admin(), None).json()["users"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Users made through the API by an admin; a duplicate is a conflict.
    let made = call(
        &s,
        "POST",
        "/api/users",
        &ada,
        Some(r#"{"name":"tim","role":"viewer","password":"tim-password-1","sites":["other"]}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let dup = call(
        &s,
        "POST",
        "/api/users",
        &ada,
        Some(r#"{"name":"tim","role":"viewer","password":"tim-password-1"}"#),
    );
    assert_eq!(dup.status, 409, "{}", dup.body);
    let short = call(
        &s,
        "POST",
        "/api/users",
        &ada,
        Some(r#"{"name":"x","role":"viewer","password":"short"}"#),
    );
    assert_eq!(short.status, 400, "{}", short.body);

    // A user's API token for scripts; gone with its user.
    let t = call(&s, "POST", "/api/tokens", &vera, Some(r#"{"label":"ci"}"#));
    assert_eq!(t.status, 201, "{}", t.body);
    let token = t.json()["token"].as_str().unwrap().to_string();
    let by_token = Auth {
        bearer: Some(token.clone()),
        ..Auth::default()
    };
    assert_eq!(
        call(&s, "GET", "/api/sites/shop/exits", &by_token, None).status,
        200
    );
    assert_eq!(
        call(&s, "GET", "/api/sites/other/exits", &by_token, None).status,
        404
    );
    let listed = call(&s, "GET", "/api/tokens", &vera, None).json();
    assert_eq!(listed["tokens"][0]["label"], "ci");
    assert!(
        listed["tokens"][0].get("token").is_none(),
        "never listed again"
    );

    // Sign-out ends the cookie; removing the user ends its token.
    assert_eq!(call(&s, "DELETE", "/api/session", &vera, None).status, 204);
    assert_eq!(
        call(&s, "GET", "/api/sites/shop/exits", &vera, None).status,
        401
    );
    assert_eq!(
        call(&s, "DELETE", "/api/users/vera", &admin(), None).status,
        204
    );
    assert_eq!(
        call(&s, "GET", "/api/sites/shop/exits", &by_token, None).status,
        401
    );

    // Secrets are stored as digests only.
    let conn = open_db(&s.db);
    let digests: Vec<String> = conn
        .prepare("SELECT digest FROM credentials")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let cookie_secret = ada.cookie.unwrap().split('=').nth(1).unwrap().to_string();
    assert!(!digests.iter().any(|d| d == &cookie_secret || d == &token));
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM users WHERE name = 'ada'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains("ada-password-1"));
}

#[test]
fn sign_in_attempts_are_rate_limited_per_client() {
    let s = Server::start(&["--sign-ins-per-client-minute", "3"]);
    for _ in 0..3 {
        assert_eq!(sign_in(&s, "nobody", "wrong-password").0.status, 401);
    }
    let r = sign_in(&s, "nobody", "wrong-password").0;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
}

#[test]
fn share_links_open_one_site_read_only_until_revoked_or_expired() {
    let s = Server::start(&[]);
    let (ok, _, err) = run_cli(
        &s.db,
        &["site", "add", "other", "--origin", "https://other.test"],
    );
    assert!(ok, "{err}");
    let made = call(
        &s,
        "POST",
        "/api/sites/shop/shares",
        &admin(),
        Some(r#"{"view":"funnels"}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let link = made.json();
    let url = link["url"].as_str().unwrap().to_string();
    let bad_view = call(
        &s,
        "POST",
        "/api/sites/shop/shares",
        &admin(),
        Some(r#"{"view":"nope"}"#),
    );
    assert_eq!(bad_view.status, 400);

    // Opening it: a cookie and the way to its view.
    let opened = call(&s, "GET", &url, &Auth::default(), None);
    assert_eq!(opened.status, 303, "{}", opened.body);
    assert_eq!(
        opened.header("location"),
        Some("/dashboard/#/funnels?site=shop")
    );
    let share = Auth {
        cookie: Some(
            opened
                .header("set-cookie")
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string(),
        ),
        ..Auth::default()
    };
    let me = call(&s, "GET", "/api/session", &share, None).json();
    assert_eq!(
        (me["kind"].clone(), me["share"]["view"].clone()),
        (Value::from("share"), Value::from("funnels"))
    );
    let sites = call(&s, "GET", "/api/sites", &share, None).json();
    assert_eq!(sites["sites"].as_array().unwrap().len(), 1);
    assert_eq!(
        call(&s, "GET", "/api/sites/shop/exits", &share, None).status,
        200
    );
    assert_eq!(
        call(&s, "GET", "/api/sites/other/exits", &share, None).status,
        404
    );
    assert_eq!(
        call(&s, "PUT", "/api/sites/shop/rules", &share, Some("{}")).status,
        403
    );
    assert_eq!(call(&s, "GET", "/api/users", &share, None).status, 403);
    assert_eq!(call(&s, "GET", "/api/tokens", &share, None).status, 403);
    assert_eq!(
        call(&s, "GET", "/api/sites/shop/shares", &share, None).status,
        403
    );

    // Revoked: the open browser loses access at once, the link is gone.
    let id = link["id"].as_i64().unwrap();
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/api/sites/shop/shares/{id}"),
            &admin(),
            None
        )
        .status,
        204
    );
    assert_eq!(
        call(&s, "GET", "/api/sites/shop/exits", &share, None).status,
        401
    );
    assert_eq!(call(&s, "GET", &url, &Auth::default(), None).status, 404);

    // A password: the form, a wrong one refused, the right one opens.
    let made = call(
        &s,
        "POST",
        "/api/sites/shop/shares",
        &admin(),
        Some(r#"{"password":"share-secret-1"}"#),
    );
    let url = made.json()["url"].as_str().unwrap().to_string();
    let form = call(&s, "GET", &url, &Auth::default(), None);
    assert_eq!(form.status, 200);
    assert!(form.body.contains(r#"name="password""#) && form.header("set-cookie").is_none());
    let post = |pw: &str| {
        into_resp(
            no_redirects()
                .post(&s.url(&url))
                .set("content-type", "application/x-www-form-urlencoded")
                .send_string(&format!("password={pw}")),
        )
    };
    assert_eq!(post("wrong-one").status, 401);
    let right = post("share-secret-1");
    assert_eq!(right.status, 303);
    assert_eq!(
        right.header("location"),
        Some("/dashboard/#/overview?site=shop")
    );

    // Expired: 410. (The store is told the link ended a second ago.)
    let made = call(
        &s,
        "POST",
        "/api/sites/shop/shares",
        &admin(),
        Some(r#"{"expires_days":1}"#),
    );
    let url = made.json()["url"].as_str().unwrap().to_string();
    let opened = call(&s, "GET", &url, &Auth::default(), None);
    let cookie = Auth {
        cookie: Some(
            opened
                .header("set-cookie")
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string(),
        ),
        ..Auth::default()
    };
    assert_eq!(
        call(&s, "GET", "/api/sites/shop/exits", &cookie, None).status,
        200
    );
    open_db(&s.db)
        .execute(
            "UPDATE share_links SET expires_ms = ?1 WHERE id = ?2",
            rusqlite::params![now_ms() - 1000, made.json()["id"].as_i64().unwrap()],
        )
        .unwrap();
    assert_eq!(call(&s, "GET", &url, &Auth::default(), None).status, 410);
    assert_eq!(
        call(&s, "GET", "/api/sites/shop/exits", &cookie, None).status,
        401
    );

    // The CLI sees and revokes the same links.
    let (ok, out, err) = run_cli(&s.db, &["share", "list", "--site", "shop", "--json"]);
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
}
