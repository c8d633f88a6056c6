//! Property tests for the parsers that read what strangers send: the
//! collect payload, access-log lines and formats, the replay layout
//! sanitizer and the privacy policy. None may panic on any input: arbitrary
//! bytes and strings, and generators biased to each grammar (multibyte
//! characters next to every delimiter, quotes, escapes, huge numbers, deep
//! nesting, truncation at any byte). A few hundred cases each, so that the
//! whole file runs in a few seconds in a debug build. (The search query
//! language, which is crate-private, has its properties in
//! src/search/query.rs.)

use proptest::prelude::*;
use proptest::test_runner::Config;

use trailmap::ingest::accesslog::{parse_seq_line, unescape, LogFormat};
use trailmap::ingest::payload::parse_batch;
use trailmap::ingest::privacy::{mask_path_emails, mask_text, UrlPolicy};
use trailmap::replay::sanitize::sanitize;

const NOW: i64 = 1_800_000_000_000;

fn config() -> Config {
    cases(256)
}

fn cases(cases: u32) -> Config {
    Config {
        cases,
        // Failures are reported with the shrunk input; no files written.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Characters that sit next to delimiters in every grammar here: multibyte
/// ones of 2, 3 and 4 bytes, quotes, escapes, separators, controls.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        Just('é'),
        Just('€'),
        Just('😀'),
        Just('\u{0}'),
        Just('\u{FEFF}'),
        Just('"'),
        Just('\''),
        Just('\\'),
        Just(' '),
        Just('\t'),
        Just('\n'),
        Just('['),
        Just(']'),
        Just(':'),
        Just('/'),
        Just('?'),
        Just('#'),
        Just('%'),
        Just('@'),
        Just('-'),
        Just('.'),
        any::<char>(),
        proptest::char::range('0', '9'),
        proptest::char::range('a', 'z'),
    ]
}

fn tricky_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..max).prop_map(|c| c.into_iter().collect())
}

/// Numbers as JSON text: ordinary, fractional, huge, tiny, negative.
fn json_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        Just("1e308".to_string()),
        Just("-1e308".to_string()),
        Just("1e400".to_string()),
        Just("123456789012345678901234567890".to_string()),
        Just("-0".to_string()),
        Just((NOW - 1000).to_string()),
        (0u32..1000).prop_map(|n| format!("{n}.5")),
    ]
}

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => tricky_string(24),
        4 => tricky_string(20).prop_map(|s| format!("https://shop.example/{s}")),
        4 => tricky_string(20).prop_map(|s| format!("/{s}?token={s}#{s}")),
        // Over every length limit, cut on a multibyte character.
        1 => Just("é".repeat(2100)),
    ]
    .prop_map(|s| serde_json::to_string(&s).unwrap())
}

fn json_value(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        json_number(),
        json_string(),
        Just("true".to_string()),
        Just("null".to_string()),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        1 => prop::collection::vec(json_value(depth - 1), 0..4)
            .prop_map(|v| format!("[{}]", v.join(","))),
        1 => prop::collection::vec((json_string(), json_value(depth - 1)), 0..4).prop_map(|kv| {
            let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("{{{}}}", body.join(","))
        }),
    ]
    .boxed()
}

const EVENT_FIELDS: &[&str] = &[
    "type",
    "ts",
    "url",
    "referrer",
    "title",
    "status",
    "vw",
    "vh",
    "dw",
    "dh",
    "x",
    "y",
    "sel",
    "ox",
    "oy",
    "href",
    "text",
    "rage",
    "dead",
    "depth",
    "max_depth",
    "engaged_ms",
    "name",
    "props",
];

fn event() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        Just("pageview"),
        Just("click"),
        Just("scroll"),
        Just("leave"),
        Just("custom"),
        Just("hover"),
    ];
    let fields = prop::collection::vec((prop::sample::select(EVENT_FIELDS), json_value(1)), 0..6);
    (kind, json_number(), fields).prop_map(|(kind, ts, fields)| {
        let mut parts = vec![format!(r#""type":"{kind}""#), format!(r#""ts":{ts}"#)];
        parts.extend(fields.into_iter().map(|(k, v)| format!(r#""{k}":{v}"#)));
        format!("{{{}}}", parts.join(","))
    })
}

fn batch_body() -> impl Strategy<Value = Vec<u8>> {
    (
        json_string(),
        prop_oneof![Just(r#""abc_1""#.to_string()), json_string()],
        prop::option::of(json_number()),
        prop::collection::vec(event(), 0..4),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(site, sid, now, events, cut, truncate)| {
            let now = now.map(|n| format!(r#""now":{n},"#)).unwrap_or_default();
            let body = format!(
                r#"{{"site":{site},"sid":{sid},{now}"events":[{}]}}"#,
                events.join(",")
            )
            .into_bytes();
            if truncate {
                // Cut anywhere, also inside a multibyte character.
                body[..cut.index(body.len() + 1)].to_vec()
            } else {
                body
            }
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_batch_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_batch(&body, 200, NOW);
    }

}

proptest! {
    // Whole batches are the slowest cases in a debug build (JSON, URLs and
    // masking per event): fewer of them keep this under two seconds.
    #![proptest_config(cases(128))]

    #[test]
    fn parse_batch_never_panics_on_batches(body in batch_body()) {
        match parse_batch(&body, 200, NOW) {
            Ok(batch) => {
                for e in &batch.events {
                    // What is accepted is within the documented limits.
                    prop_assert!(e.detail.title.as_ref().is_none_or(|t| t.chars().count() <= 200));
                    prop_assert!(e.detail.text.as_ref().is_none_or(|t| t.chars().count() <= 100));
                    prop_assert!(e.path.as_ref().is_none_or(|p| p.chars().count() <= 512));
                }
            }
            Err(e) => prop_assert!(!e.message.contains('\n'), "{}", e.message),
        }
    }
}

const FORMATS: &[&str] = &[
    "combined",
    "common",
    "vcombined",
    r#"%h %^[%d:%t %^] "%r" %s %b "%R" "%u""#,
    r#"%v %h [%x] "%m %U %H" %s %b"#,
    r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
    r#"$host ${remote_addr} [$time_iso8601] "$request_method $request_uri $server_protocol" $status $bytes_sent $request_time "$http_x_forwarded_for""#,
];

/// A combined-format line whose pieces are each either plausible or
/// mangled.
fn log_line() -> impl Strategy<Value = Vec<u8>> {
    let piece = |plausible: &'static [&'static str]| {
        prop_oneof![
            3 => prop::sample::select(plausible).prop_map(str::to_string),
            1 => tricky_string(12),
        ]
    };
    (
        piece(&[
            "81.2.69.142",
            "::ffff:1.2.3.4",
            "2001:db8::1",
            "-",
            "999.1.1.1",
        ]),
        piece(&[
            "17/May/2015:10:05:03 +0000",
            "31/Feb/2015:25:61:61 +9999",
            "2015-05-17T10:05:03+02:00",
            "17/Mai/2015:10:05:03 -0130",
        ]),
        piece(&[
            "GET / HTTP/1.1",
            "GET /a?b=c",
            "-",
            "\\x16\\x03\\x01",
            "GET /é\\\"x HTTP/1.1",
        ]),
        piece(&["200", "599", "099", "2000", "-"]),
        piece(&["5", "-", "18446744073709551616", "99999999999999999999999"]),
        piece(&["-", "https://a.example/?q=\\\"x\\\"", "\\xC3\\xA9", "\\"]),
        piece(&["Mozilla/5.0", "\\\"", "ua\\x"]),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(
            |(ip, time, request, status, bytes, referrer, ua, cut, truncate)| {
                let line = format!(
                    r#"{ip} - - [{time}] "{request}" {status} {bytes} "{referrer}" "{ua}""#
                )
                .into_bytes();
                if truncate {
                    line[..cut.index(line.len() + 1)].to_vec()
                } else {
                    line
                }
            },
        )
}

/// Format strings made of directives, literals and junk.
fn format_spec() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(
            &[
                "%h",
                "%^",
                "%d",
                "%t",
                "%x",
                "%r",
                "%m",
                "%U",
                "%H",
                "%s",
                "%b",
                "%R",
                "%u",
                "%v",
                "%",
                "%%",
                "$remote_addr",
                "${remote_addr}",
                "${",
                "$",
                "$status",
                "$request",
                "$time_local",
                "$time_iso8601",
                "$http_referer",
                "$http_user_agent",
                "$host",
                "$request_uri",
                "$body_bytes_sent",
                "[",
                "]",
                "\"",
                " ",
                ":",
                "é",
            ][..]
        )
        .prop_map(str::to_string),
        tricky_string(3),
    ];
    prop::collection::vec(token, 0..14).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn access_log_lines_never_panic(
        line in prop_oneof![log_line(), prop::collection::vec(any::<u8>(), 0..200)],
        format in prop::sample::select(FORMATS),
    ) {
        let format = LogFormat::parse(format).unwrap();
        let _ = format.parse_line(&line);
        let _ = parse_seq_line(&line);
        let _ = unescape(&line);
    }

    #[test]
    fn access_log_formats_never_panic(spec in format_spec(), line in log_line()) {
        if let Ok(format) = LogFormat::parse(&spec) {
            let _ = format.parse_line(&line);
        }
    }

    #[test]
    fn unescape_never_grows_a_field(field in prop::collection::vec(
        prop_oneof![Just(b'\\'), Just(b'x'), Just(b'"'), Just(b'F'), any::<u8>()], 0..40)
    ) {
        prop_assert!(unescape(&field).len() <= field.len());
    }
}

/// Markup biased to what the sanitizer looks at.
fn html() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(
            &[
                "<img src=\"",
                "<img srcset=\"",
                "<a href=\"",
                "<link rel=\"stylesheet\" href=\"",
                "<script>",
                "</script>",
                "<svg>",
                "</svg>",
                "<head>",
                "<base href=\"",
                "\">",
                "\"",
                "'",
                ">",
                "<",
                "data:",
                "data:image/",
                "DATA:IMAGE/png,",
                "javascript:",
                "https://shop.example/",
                "//evil.example/",
                " 1x, ",
                ",",
                "#",
                "<div onclick=\"",
                "style=\"expression(",
                "<!--",
                "-->",
                "<![CDATA[",
                "&amp;",
                "&#x",
                "é",
                "😀",
                "\u{0}",
            ][..]
        )
        .prop_map(str::to_string),
        tricky_string(4),
    ];
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_sanitizer_never_panics(
        html in prop_oneof![html(), any::<String>()],
        page in prop_oneof![
            Just("https://shop.example/p?x=1".to_string()),
            tricky_string(20),
        ],
    ) {
        // What survives is checked by the unit tests; here: no panic.
        let _ = sanitize(&html, &page, &["https://shop.example".to_string()]);
    }
}

fn url_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(
            &[
                "https://",
                "http://",
                "//",
                "mailto:",
                "android-app://",
                "javascript:",
                "shop.example",
                "SHOP.example",
                "other.example",
                "user:pw@",
                "@",
                "%40",
                "/",
                "?",
                "&",
                "=",
                "#",
                "token",
                "q",
                "utm_source",
                "gclid",
                "[",
                "]",
                ":",
                "\\",
                "123456",
                "1-2-3-4-5-6",
                "jane@mail.test",
                "é",
                "😀",
                " ",
            ][..]
        )
        .prop_map(str::to_string),
        tricky_string(3),
    ];
    prop::collection::vec(token, 0..16).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_url_policy_never_panics_and_drops_queries_of_other_sites(
        url in prop_oneof![url_like(), any::<String>()],
        page in prop::option::of(url_like()),
    ) {
        let keep = vec!["q".to_string()];
        let policy = UrlPolicy::new(&["https://shop.example".to_string()], &keep);
        if let Some(clean) = policy.clean(&url, page.as_deref()) {
            prop_assert!(!clean.contains('#'), "{url} -> {clean}");
            prop_assert!(!clean.contains("?token=") && !clean.contains("&token="), "{url} -> {clean}");
            prop_assert!(!clean.contains("jane@mail.test"), "{url} -> {clean}");
        }
    }

    #[test]
    fn masking_keeps_the_length_and_leaves_no_long_digit_run(text in prop_oneof![tricky_string(60), any::<String>()]) {
        let masked = mask_text(&text);
        prop_assert_eq!(masked.chars().count(), text.chars().count());
        let digits = masked.chars().fold((0, 0), |(run, max), c| {
            let run = if c.is_ascii_digit() { run + 1 } else { 0 };
            (run, max.max(run))
        }).1;
        prop_assert!(digits < 6, "{}", masked);
        prop_assert_eq!(mask_path_emails(&text).chars().count(), text.chars().count());
    }
}
