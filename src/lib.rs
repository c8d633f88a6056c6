//! trailmap: self-hosted journey analytics for online shops.
//!
//! Data flows one way, and each module is one room on that path:
//!
//! ```text
//!  browser ── tracker ── POST /api/collect ─┐
//!                                           ├─> ingest ─> pipeline ─> store (SQLite)
//!  access.log ── (import) ──────────────────┘   (validate,  (sessionize,      │
//!                                                 enrich)     group commit)    v
//!        CLI (cli) ──┐                                               service ──> mine, heat,
//!                    ├──> service (typed requests, bounds, reports,  ^           render, search
//!  HTTP API (http) ──┘              one error) ──> engine ───────────┘
//!                                         (journeys in memory, columns)
//! ```
//!
//! Two doors, one hall: [`cli`] and [`http`] parse a request, make one
//! [`service`] call and print or reply; the service reaches the rooms
//! below it; every room speaks the vocabulary of [`event`]. No room imports
//! one above it.
//!
//! * [`cli`] is the command line (`src/main.rs` only calls it): clap flags,
//!   every choice a `ValueEnum`, and the only code that prints results
//!   (aligned tables, CSV, JSON).
//! * [`service`] is what trailmap can be asked, for both doors:
//!   [`service::request`] (typed requests, one decoder for query
//!   parameters, every bound and default defined once), [`service::report`]
//!   (typed `Serialize` reports that flatten the mining results),
//!   [`service::table`] (reports as tables for people and CSV),
//!   [`service::error`] (the one error type), [`service::registry`] (the
//!   sites and the token: `trailmap site ...`, `rotate-token`, and the
//!   API's site list), [`service::settings`] (a
//!   site's path rules and journey stages, checked against the budgets
//!   before they are saved, and the `[budgets]` table installed for the
//!   process), [`service::layouts`] (replay's layouts: uploads stored
//!   within the quota, a page's latest layout, a layout's sanitized HTML),
//!   [`service::hints`] (why an empty search found nothing: a page term
//!   that names no page, and the prefix that would match),
//!   [`service::import`] (`trailmap import` and `reindex`: the commands
//!   that change what the store holds, checked like every request),
//!   [`service::accounts`] (users and argon2 passwords, sign-in and web
//!   sessions, per-user API tokens, share links, and the `Principal` a
//!   request runs as: `trailmap user|share ...` and the API's
//!   `/api/session`, `/api/users`, `/api/tokens`, `.../shares`),
//!   [`service::annotations`] (dated notes per site, from
//!   [`store::annotations`]),
//!   [`service::conversions`] (the one syntax of goals and event steps,
//!   `event:NAME KEY=VALUE` or a page regex, resolved against the engine's
//!   codes; the `events`, `goals` and `revenue` reports),
//!   [`service::insights`] (`contrast`: two groups of sessions written as
//!   text, resolved against goals, targets and a dimension's codes, held
//!   against each other by [`mine::contrast`]; `why`: a decision point
//!   resolved to a stage's pages or a target, the reasons counted by
//!   [`mine::why`]), [`service::new_content`] (`why`'s new content: the
//!   exit view's layout held against the view before it, the site's
//!   chrome left out, from the layouts [`store::layouts`] notes per page
//!   view and the text [`replay::content`] read when each was stored),
//!   [`service::conformance`] (the expected journey, saved
//!   with the journey settings or given in the query, resolved to targets
//!   and aligned by [`mine::conformance`]),
//!   [`service::changes`] (`changes`: the pages whose stored layout
//!   changed, from [`store::changes`], each held before against after by
//!   [`mine::changes`] with [`mine::stats`]' intervals; asked for one
//!   change, where visitors click before and after, from the page's
//!   clicks as [`service::charts`] reads them for its heatmap),
//!   [`service::errors`] (the JavaScript errors report, from
//!   [`store::errors`]: the error capture's `$error` events kept once per
//!   page view, read through the same session filters as every report),
//!   [`service::funnels`] (saved funnels, from [`store::funnels`]: a
//!   funnel's definition as the API's query string),
//!   [`service::live`] (the realtime view and the install check, from
//!   [`store::live`]: session rows only, through the (site, start) index),
//!   [`service::analysis`] (a
//!   site's journeys loaded through the filters and cleaned, optionally
//!   grouped by a dimension, joined per visitor or with events as nodes,
//!   and the mining run over them) and [`service::charts`] (a site's charts from the
//!   engine, mining and [`heat`]).
//! * [`engine`] is the read engine: every site's sessions held in memory
//!   as flat, dictionary-coded columns in shared segments
//!   ([`engine::site`]; the shop's custom events in columns of their own,
//!   kept only for the sessions that have any, their names and properties
//!   coded too, and handed to mining beside the page views with the codes'
//!   [`engine::site::Vocabulary`]), brought up to date from the store's change
//!   sequence before each answer (a site's first load holds up only the
//!   requests for that site). [`service::analysis`] asks it for a
//!   site's journeys through a filter (walked a segment at a time, cleaned
//!   on a second thread) instead of reading session rows, and the service
//!   for the overview ([`engine::overview`], one pass over the columns).
//!   Each site's columns are kept in a file beside the database between
//!   processes ([`engine`]'s `snapshot`: a cache, never the truth), which a
//!   new process maps into memory and reads in place (`column`). Heatmaps
//!   and scroll maps take their page's clicks and view depths from it
//!   ([`engine::activity`]: loaded at a page's first map, then followed
//!   like the sessions, within a byte budget, and kept in a file of its
//!   own beside the site's, so a new process maps the page from it and
//!   the changes since), their sessions selected
//!   through the same columns as every report's. It reads the store
//!   through [`store::journeys`] and, for pages' activity,
//!   [`store::read::each_page_activity`] only, and knows nothing of the
//!   doors. Where it leaves the house plan (which gives it store and event
//!   only): it uses [`mine`]'s journey types, `Journeys` and `JourneySet`,
//!   because what it hands out is what mining walks, and the store's
//!   `Overview` type for the overview it counts (and its `PageActivity`
//!   for the clicks it hands to [`heat`]).
//! * [`event`] is the shared vocabulary: events, sessions, channels, devices,
//!   a page view's frustration signals ([`event::PageSignals`]: rage and
//!   dead clicks, error pages, JavaScript errors and error clicks), the
//!   error capture's `$error` read back ([`event::JsError`]), a
//!   session's custom events ([`event::Mark`]), what a goal or a funnel
//!   step is ([`event::TargetSpec`], read by the service and by search),
//!   the dimensions a report breaks down by ([`event::Dimension`]), recorded
//!   clicks and viewport classes. It imports no other room.
//! * [`ingest`] turns untrusted input into validated, enriched events: the
//!   tracker's wire format ([`ingest::payload`]), user agent / bot / channel /
//!   GeoIP enrichment ([`ingest::enrich`]), the cookieless visitor id and
//!   inactivity rule ([`ingest::sessionize`]), and the one privacy policy
//!   for visitors' URLs and text ([`ingest::privacy`]).
//! * [`pipeline`] is the single writer: one thread that owns the open sessions
//!   and the write connection, cuts incoming batches into sessions and commits
//!   the batches of all connections in one transaction (group commit). It
//!   lives between `ingest` and `store` because it needs both: the session
//!   state must change in step with what is durably committed, so the thread
//!   that commits is the one that sessionizes. Everything it holds is
//!   bounded: the open sessions (the least recently active close past a cap
//!   and reopen from the store), the page-id cache, and the queue (in
//!   batches, bytes and waiting time). Session ids are drawn under SQLite's
//!   write lock, so `trailmap import` can write beside a running server.
//! * [`store`] is the only room that speaks SQL: schema and migrations, the
//!   write transaction API the pipeline drives, sites, read queries, the
//!   database's own facts ([`store::meta`]: the demo marker) and the health
//!   probe; [`store::lock`] keeps a second server off a database;
//!   [`store::changes`] keeps the layout changes the service records
//!   when a layout is stored (compared by [`replay::content`]) and the
//!   page's sightings after each, by which [`service::layouts`] judges
//!   whether it lasts or the page varies per visitor;
//!   [`store::funnels`] keeps saved funnels; [`store::errors`] keeps
//!   JavaScript errors, one row per page view and error, written by the
//!   pipeline in the batch's transaction;
//!   [`store::accounts`] holds users, their credentials and share links
//!   (digests of secrets only). It uses only [`event`].
//! * [`mine`] is path mining: pure functions over journeys (cleaned page
//!   sequences with times, frustration signals and custom events).
//!   [`mine::conversions`] counts goals, events and revenue per group;
//!   [`mine::stitch`] joins a visitor's sessions of a day for
//!   `unit=visitor`; [`mine::funnel`] walks page and event steps, optional
//!   steps and step windows as one small dynamic program per journey.
//!   [`mine::contrast`] counts pages, events and candidate patterns (each
//!   group's top PrefixSpan patterns, then counted exactly in both through
//!   a trie) in two groups and tests them with [`mine::stats`] (Fisher's
//!   exact test, Benjamini-Hochberg); [`mine::why`] reads a leaving
//!   session's last views as reason codes; [`mine::conformance`] aligns a
//!   session's step touches to an expected journey (fitness, skipped,
//!   repeated and out-of-order steps); [`mine::changes`] counts a page's
//!   views, exits, frustration and conversions before and after moments. [`mine::budget`] holds
//!   the bounds of every user-written pattern (rules, funnel steps, stages,
//!   goals), the same for every door; [`mine::cancel`] is the deadline and
//!   hang-up flag long mining loops check. It uses only [`event`].
//! * [`heat`] maps recorded clicks from many layout widths onto one
//!   reference layout: recorded clicks in, the heatmap drawer's input
//!   ([`render::input::HeatmapData`]) out. Pure, no I/O, no journeys; it uses only
//!   [`event`] and [`render::input`].
//! * [`render`] draws charts: data in, SVG/PNG bytes out, no I/O. What the
//!   drawers take (Sankey, funnel, heatmap and scroll map data, the output
//!   format) is [`render::input`], plain data apart from the drawing code.
//!   It imports no other room.
//! * [`http`] is the hyper server: the one route table ([`http::routes`],
//!   matched by `matchit`), collect, CORS, the authenticated read API
//!   (handlers decode, call the service, reply; one error path logs every
//!   5xx), health and Prometheus metrics, graceful shutdown. What faces the open
//!   internet is bounded there: [`http::conn`] (header and idle timeouts,
//!   the connection cap and who is closed to make room), [`http::body`] (the
//!   one body reader: size, deadline, a server-wide memory budget) and
//!   [`http::ratelimit`] (per-client and per-site token buckets by a keyed
//!   hash of the address). [`http::encoding`] sends the embedded assets in
//!   the brotli or gzip form `build.rs` made of them, and larger API
//!   answers in gzip. [`http::auth`] finds who a request is (bearer token,
//!   sign-in cookie, share cookie) and applies the route table's access
//!   level (public, anyone, signed, site, site admin, admin) and the CSRF
//!   rule for cookie writes; [`http::accounts_api`] is the accounts'
//!   endpoints and the `/s/{token}` page.
//! * [`metrics`] holds the counters the collector and the pipeline bump,
//!   rendered at `GET /metrics`.
//! * [`config`] resolves settings from flags, `TRAILMAP_*` variables and
//!   `trailmap.toml`. It uses [`event`], and [`replay`]'s upload size to
//!   check the limits that must hold one; the `[budgets]` table is kept as
//!   written and read by the service, whose patterns it bounds.
//! * [`import`] is the access-log source (and sequence files): lines
//!   through the same enrichment and session rule as the collector. The
//!   service runs it for `trailmap import` (the plan's service table does
//!   not name it; it is a source beside `ingest`, below the service).
//! * [`demo`] is `trailmap demo`: the demo shop on a second port and
//!   realistic persona traffic through the real collector, its clicks
//!   placed on the shop's layouts as Chromium measured them
//!   (`demo::shop_layouts`, from `examples/storefront/capture.mjs`: the
//!   cart's pages per product in the cart, the home page before and after
//!   a planted change, which the demo dates in its database as its visits
//!   saw it).
//!
//! Where the doors leave the plan: `trailmap serve` and `trailmap demo`
//! start the other door, so [`cli`] calls [`http::serve`] and
//! [`demo::run`] with the resolved settings (as mini-redis's server binary
//! calls `server::run`); everything those servers answer goes through the
//! service. The `dev`-only `trailmap bench` calls its tools directly.
//! * `bench` holds the load generator, the shop-like dataset
//!   (`bench::shop`, written through the real write path) and benchmark
//!   helpers behind `trailmap bench ...`; a developer tool, not part of the product: it is
//!   built only with the `dev` feature (`cargo build --features dev`).

#![warn(unreachable_pub)]

#[cfg(feature = "dev")]
pub(crate) mod bench;
pub mod cli;
pub(crate) mod config;
pub(crate) mod demo;
pub(crate) mod engine;
pub(crate) mod event;
pub(crate) mod heat;
pub(crate) mod http;
pub(crate) mod import;
pub mod ingest;
pub(crate) mod metrics;
pub(crate) mod mine;
pub(crate) mod pipeline;
pub(crate) mod render;
pub mod replay;
pub(crate) mod search;
pub(crate) mod service;
pub(crate) mod store;
