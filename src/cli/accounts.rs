//! `trailmap user ...` and `trailmap share ...`: the same accounts and
//! share links as the API's `/api/users` and `/api/sites/{site}/shares`,
//! through the service.
//!
//! Passwords never go on the command line (it shows in `ps` and shell
//! history): `--password-stdin` reads one line, else `TRAILMAP_PASSWORD`,
//! else a random one is made and printed once.

use std::io::BufRead;

use anyhow::{Context, Result};
use clap::Subcommand;
use rand::RngCore;

use super::StoreArgs;
use crate::config::FileConfig;
use crate::event::now_ms;
use crate::store::accounts::Role;

#[derive(Subcommand)]
pub(super) enum UserCommand {
    /// Add a user who signs in to the dashboards with a password.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// A site the user may see (repeatable); none: every site.
        #[arg(long = "site")]
        sites: Vec<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List the users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a user; its sign-ins and API tokens stop working.
    Remove { name: String },
    /// Set a user's password; its sign-ins end.
    Password {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Make an API token for a user's scripts (printed once).
    Token {
        name: String,
        #[arg(long, default_value = "")]
        label: String,
    },
}

#[derive(Subcommand)]
pub(super) enum ShareCommand {
    /// Make a read-only link to one site's dashboards (printed once).
    Add {
        #[arg(long)]
        site: String,
        /// Limit it to one view (overview, realtime, journeys, transitions, heatmaps,
        /// sessions, funnels, stages, friction).
        #[arg(long)]
        view: Option<String>,
        /// Days until it stops working (1 to 3650); default: never.
        #[arg(long)]
        expires_days: Option<u32>,
        /// Ask for a password, read from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List a site's share links.
    List {
        #[arg(long)]
        site: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a share link: it stops working at once.
    Revoke {
        #[arg(long)]
        site: String,
        id: i64,
    },
}

/// The password to set: stdin's first line, `TRAILMAP_PASSWORD`, or a new
/// random one (then `true`: it must be shown).
fn password(from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        return Ok((line.trim_end_matches(['\r', '\n']).to_string(), false));
    }
    if let Ok(p) = std::env::var("TRAILMAP_PASSWORD") {
        return Ok((p, false));
    }
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    Ok((bytes.iter().map(|b| format!("{b:02x}")).collect(), true))
}

pub(super) fn user(store: &StoreArgs, file: &FileConfig, cmd: UserCommand) -> Result<()> {
    let service = super::reports::service(store, file)?;
    match cmd {
        UserCommand::Add {
            name,
            role,
            sites,
            password_stdin,
            json,
        } => {
            let (pw, made) = password(password_stdin)?;
            let user = service.add_user(&name, role, &pw, &sites, now_ms())?;
            if json {
                let mut v = serde_json::to_value(&user)?;
                if made {
                    v["password"] = pw.into();
                }
                println!("{v}");
            } else {
                let seen = user
                    .sites
                    .as_ref()
                    .map_or("every site".to_string(), |s| s.join(", "));
                println!("user {} ({}) sees {seen}", user.name, role.as_str());
                if made {
                    println!("password: {pw}");
                    eprintln!("trailmap: the password is shown only now");
                }
            }
        }
        UserCommand::List { json } => {
            let users = service.users()?;
            if json {
                println!("{}", serde_json::to_string(&users)?);
            } else if users.is_empty() {
                println!("no users yet: trailmap user add NAME --role admin|viewer");
            } else {
                for u in users {
                    let seen = u.sites.map_or("every site".to_string(), |s| s.join(", "));
                    println!("{}\t{}\t{seen}", u.name, u.role.as_str());
                }
            }
        }
        UserCommand::Remove { name } => {
            service.remove_user(&name)?;
            println!("removed user {name}");
        }
        UserCommand::Password {
            name,
            password_stdin,
        } => {
            let (pw, made) = password(password_stdin)?;
            service.set_password(&name, &pw)?;
            println!("password of {name} changed; its sign-ins ended");
            if made {
                println!("password: {pw}");
            }
        }
        UserCommand::Token { name, label } => {
            let t = service.add_token(&name, &label, now_ms())?;
            println!("{}", t.token.unwrap_or_default());
            eprintln!("trailmap: send it as Authorization: Bearer <token>; it is shown only now");
        }
    }
    Ok(())
}

pub(super) fn share(store: &StoreArgs, file: &FileConfig, cmd: ShareCommand) -> Result<()> {
    let service = super::reports::service(store, file)?;
    match cmd {
        ShareCommand::Add {
            site,
            view,
            expires_days,
            password_stdin,
            json,
        } => {
            let pw = if password_stdin {
                Some(password(true)?.0)
            } else {
                None
            };
            let s = service.add_share(
                &site,
                view.as_deref(),
                expires_days,
                pw.as_deref(),
                None,
                now_ms(),
            )?;
            if json {
                println!("{}", serde_json::to_string(&s)?);
            } else {
                println!("{}", s.url.as_deref().unwrap_or_default());
                eprintln!(
                    "trailmap: share link {} of {site}: open it on the server's address, e.g. http://127.0.0.1:8080{}; it is shown only now",
                    s.id,
                    s.url.as_deref().unwrap_or_default()
                );
            }
        }
        ShareCommand::List { site, json } => {
            let list = service.shares(&site)?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else if list.is_empty() {
                println!("no share links of {site}");
            } else {
                for s in list {
                    let expires = s
                        .expires
                        .map_or("never".to_string(), crate::service::request::iso);
                    println!(
                        "{}\t{}\texpires {expires}\t{}",
                        s.id,
                        s.view.as_deref().unwrap_or("every view"),
                        if s.password {
                            "password"
                        } else {
                            "no password"
                        }
                    );
                }
            }
        }
        ShareCommand::Revoke { site, id } => {
            service.revoke_share(&site, id)?;
            println!("revoked share link {id} of {site}");
        }
    }
    Ok(())
}
