//! Access-log line parser: the hot loop of `trailmap import`.
//!
//! A shop that never ran the tracker still has years of Apache or Nginx
//! access logs, and importing them is how it gets journeys on day one. Those
//! logs are big (hundreds of millions of lines) and dirty (TLS handshakes sent
//! to the plain-HTTP port, unclosed quotes, hostnames instead of addresses),
//! so this parser is built to be:
//!
//! * zero-copy: every text field of [`LogLine`] borrows the input line, and no
//!   field is checked for UTF-8, because real logs are not UTF-8 clean and most
//!   lines are dropped by later filters anyway;
//! * total: any byte string yields either a line or a [`BadLine`] reason that
//!   the importer counts; nothing here panics or aborts an import;
//! * fast: a format is compiled once into literals and fields, a field's end is
//!   found with `memchr`, and the date of consecutive lines (nearly always the
//!   same day) is converted to a number only once.
//!
//! Quoted fields come back as written: Apache's `\"` and `\\` escapes are
//! honoured when looking for the closing quote but are not decoded, which keeps
//! the parser allocation-free; [`unescape`] decodes a field the importer
//! keeps.

use std::cell::Cell;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use memchr::{memchr, memrchr};

/// Apache's `LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"" combined`.
const COMBINED: &str = r#"%h %^ %^ [%x] "%r" %s %b "%R" "%u""#;
/// Apache's `common`: combined without referrer and user agent.
const COMMON: &str = r#"%h %^ %^ [%x] "%r" %s %b"#;
/// Apache's `vhost_combined`: `%v:%p` in front of combined.
const VCOMBINED: &str = r#"%v:%^ %h %^ %^ [%x] "%r" %s %b "%R" "%u""#;

const MS_PER_DAY: i64 = 86_400_000;

/// One parsed access-log line. Text fields borrow the line, escapes undecoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// Client address; IPv4-mapped IPv6 addresses come back as IPv4.
    pub ip: IpAddr,
    /// Milliseconds since the Unix epoch, UTC (the logged zone offset applied).
    pub ts: i64,
    /// Empty when the format has neither `%r` nor `%m`.
    pub method: &'a [u8],
    /// Request target as written: path plus query.
    pub target: &'a [u8],
    /// May be empty (HTTP/0.9 requests, or no `%H` in the format).
    pub protocol: &'a [u8],
    pub status: u16,
    /// `-` is 0; 0 when the format has no `%b`.
    pub bytes: u64,
    /// `-` or empty is `None`.
    pub referrer: Option<&'a [u8]>,
    /// `-` stays `-`; empty when the format has no `%u`.
    pub user_agent: &'a [u8],
    /// `-` or empty is `None`.
    pub vhost: Option<&'a [u8]>,
}

impl<'a> LogLine<'a> {
    /// The target without its query string.
    pub fn path(&self) -> &'a [u8] {
        match memchr(b'?', self.target) {
            Some(q) => &self.target[..q],
            None => self.target,
        }
    }

    /// The query string without its `?`, if the target has one.
    pub fn query(&self) -> Option<&'a [u8]> {
        memchr(b'?', self.target).map(|q| &self.target[q + 1..])
    }
}

/// Why a line could not be parsed. Counted by reason, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadLine {
    /// Nothing but a line end or blanks.
    Empty,
    /// A quoted field has no closing quote on the line.
    UnclosedQuote,
    /// The client field is not an IP address (e.g. a looked-up hostname).
    BadAddress,
    /// The timestamp is malformed or names an impossible time.
    BadTime,
    /// The request is not `METHOD SP target [SP protocol]` (TLS junk, `-`).
    BadRequest,
    /// The status is not a three-digit code.
    BadStatus,
    /// The size is neither `-` nor a number.
    BadBytes,
    /// The line ends before the format does.
    Truncated,
    /// The line's text between fields differs from the format's.
    Mismatch,
}

impl BadLine {
    /// Every reason, in declaration order, for zero-filled counters and reports.
    pub const ALL: [BadLine; 9] = [
        BadLine::Empty,
        BadLine::UnclosedQuote,
        BadLine::BadAddress,
        BadLine::BadTime,
        BadLine::BadRequest,
        BadLine::BadStatus,
        BadLine::BadBytes,
        BadLine::Truncated,
        BadLine::Mismatch,
    ];

    /// A stable snake_case name, for metrics and `--json` summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            BadLine::Empty => "empty",
            BadLine::UnclosedQuote => "unclosed_quote",
            BadLine::BadAddress => "bad_address",
            BadLine::BadTime => "bad_time",
            BadLine::BadRequest => "bad_request",
            BadLine::BadStatus => "bad_status",
            BadLine::BadBytes => "bad_bytes",
            BadLine::Truncated => "truncated",
            BadLine::Mismatch => "mismatch",
        }
    }
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for BadLine {}

/// What a directive captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Host,
    Vhost,
    Ignore,
    Date,
    Time,
    Timestamp,
    IsoTimestamp,
    Request,
    Method,
    Path,
    Protocol,
    Status,
    Bytes,
    Referrer,
    UserAgent,
}

/// Where a field ends. Decided when the format is compiled, from the text that
/// follows the field, so the per-line loop does no lookahead of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// At the next unescaped `"`.
    Quote,
    /// At the next occurrence of this byte: the first byte of the next literal.
    Byte(u8),
    /// At the next space or the line's end: the last field of a built-in
    /// format, so that extra fields after it are tolerated.
    Word,
    /// At the line's end: the last field of a user's format.
    Rest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(Box<[u8]>),
    Field(Field, Stop),
}

/// A log format: a built-in or a user's format string, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormat {
    tokens: Vec<Token>,
    /// Built-ins accept extra text after the format (e.g. `%D` appended to
    /// combined); a user's own format is taken to describe the whole line.
    tolerant: bool,
}

/// A format string split into literal text and directives, before compiling.
enum Piece {
    Literal(Vec<u8>),
    /// The field and the directive as written, for error messages.
    Field(Field, String),
}

impl LogFormat {
    /// `combined`, `common`, `vcombined` (any case), or a format string in
    /// GoAccess `--log-format` style (`%h %^[%d:%t %^] "%r" %s %b "%R" "%u"`)
    /// or Nginx `log_format` style (`$remote_addr - $remote_user [$time_local]
    /// "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`).
    ///
    /// `%d` must be `10/Oct/2000` and `%t` `13:55:36` (GoAccess's defaults for
    /// Apache logs); with them the zone is not known and times are taken as
    /// UTC. Built-in formats ignore extra text after their last field (Apache
    /// setups often append one); a user's format must describe the whole line,
    /// trailing blanks aside.
    pub fn parse(spec: &str) -> Result<LogFormat, String> {
        let spec = spec.trim();
        for (name, template) in [
            ("combined", COMBINED),
            ("common", COMMON),
            ("vcombined", VCOMBINED),
        ] {
            if spec.eq_ignore_ascii_case(name) {
                return compile(template, true);
            }
        }
        if spec.is_empty() {
            return Err("empty log format".to_string());
        }
        compile(spec, false)
    }

    /// Parses one line; a trailing `\r` and `\n` are ignored.
    pub fn parse_line<'a>(&self, line: &'a [u8]) -> Result<LogLine<'a>, BadLine> {
        let line = trim_line_end(line);
        if line.iter().all(|&b| b == b' ' || b == b'\t') {
            return Err(BadLine::Empty);
        }
        let mut parts = Parts::default();
        let mut pos = 0;
        for token in &self.tokens {
            pos = match token {
                Token::Literal(literal) => expect_literal(line, pos, literal)?,
                Token::Field(field, stop) => {
                    let end = field_end(line, pos, *stop)?;
                    parts.take(*field, &line[pos..end])?;
                    end
                }
            };
        }
        if !self.tolerant && line[pos..].iter().any(|&b| b != b' ' && b != b'\t') {
            return Err(BadLine::Mismatch);
        }
        Ok(parts.finish())
    }
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(spec: &str) -> Result<LogFormat, String> {
        LogFormat::parse(spec)
    }
}

fn compile(spec: &str, tolerant: bool) -> Result<LogFormat, String> {
    let pieces = scan(spec)?;
    check_required(&pieces)?;
    let mut tokens = Vec::with_capacity(pieces.len());
    for (i, piece) in pieces.iter().enumerate() {
        tokens.push(match piece {
            Piece::Literal(text) => Token::Literal(text.clone().into_boxed_slice()),
            Piece::Field(field, name) => {
                Token::Field(*field, stop_before(name, pieces.get(i + 1), tolerant)?)
            }
        });
    }
    Ok(LogFormat { tokens, tolerant })
}

/// Two fields in a row could only be told apart by guessing, so they are refused.
fn stop_before(name: &str, next: Option<&Piece>, tolerant: bool) -> Result<Stop, String> {
    match next {
        None if tolerant => Ok(Stop::Word),
        None => Ok(Stop::Rest),
        Some(Piece::Literal(text)) if text[0] == b'"' => Ok(Stop::Quote),
        Some(Piece::Literal(text)) => Ok(Stop::Byte(text[0])),
        Some(Piece::Field(_, next)) => Err(format!(
            "log format: {name} and {next} must be separated by some literal text"
        )),
    }
}

/// Splits a format string into literals and directives.
fn scan(spec: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = Vec::new();
    let mut rest = spec;
    while let Some(c) = rest.chars().next() {
        let (directive, len) = match c {
            '%' => percent_directive(rest)?,
            '$' => dollar_variable(rest)?,
            _ => (None, c.len_utf8()),
        };
        match directive {
            Some((field, name)) => {
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Field(field, name));
            }
            None if c == '%' => literal.push(b'%'),
            None => literal.extend_from_slice(&rest.as_bytes()[..len]),
        }
        rest = &rest[len..];
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

type Directive = Option<(Field, String)>;

/// `%x` at the start of `rest`; `%%` is a literal percent sign.
fn percent_directive(rest: &str) -> Result<(Directive, usize), String> {
    let letter = match rest[1..].chars().next() {
        Some(letter) => letter,
        None => return Err("log format ends with a lone '%'".to_string()),
    };
    let len = 1 + letter.len_utf8();
    if letter == '%' {
        return Ok((None, len));
    }
    let field = goaccess_field(letter).ok_or_else(|| {
        format!(
            "unknown directive %{letter} in log format; known: %h %v %^ %d %t %x %r %m %U %H \
             %s %b %R %u, ignored: %e %C %D %T %L %K %k %M, and %% for a percent sign"
        )
    })?;
    Ok((Some((field, format!("%{letter}"))), len))
}

fn goaccess_field(letter: char) -> Option<Field> {
    Some(match letter {
        'h' => Field::Host,
        'v' => Field::Vhost,
        'd' => Field::Date,
        't' => Field::Time,
        'x' => Field::Timestamp,
        'r' => Field::Request,
        'm' => Field::Method,
        'U' => Field::Path,
        'H' => Field::Protocol,
        's' => Field::Status,
        'b' => Field::Bytes,
        'R' => Field::Referrer,
        'u' => Field::UserAgent,
        // GoAccess knows these; trailmap has no use for them.
        '^' | 'e' | 'C' | 'D' | 'T' | 'L' | 'K' | 'k' | 'M' => Field::Ignore,
        _ => return None,
    })
}

/// `$name` or `${name}` at the start of `rest`; a `$` not followed by a name
/// is literal text.
fn dollar_variable(rest: &str) -> Result<(Directive, usize), String> {
    let after = &rest[1..];
    let (name, len) = if let Some(braced) = after.strip_prefix('{') {
        let close = braced
            .find('}')
            .ok_or_else(|| "log format has '${' without a closing '}'".to_string())?;
        (&braced[..close], close + 3)
    } else {
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        (&after[..end], end + 1)
    };
    if name.is_empty() {
        return Ok((None, 1));
    }
    let field =
        nginx_field(name).ok_or_else(|| format!("unknown variable ${name} in log format"))?;
    Ok((Some((field, format!("${name}"))), len))
}

fn nginx_field(name: &str) -> Option<Field> {
    const IGNORED: [&str; 24] = [
        "remote_user",
        "remote_port",
        "request_time",
        "request_length",
        "request_id",
        "bytes_received",
        "connection",
        "connection_requests",
        "pipe",
        "msec",
        "gzip_ratio",
        "scheme",
        "https",
        "server_addr",
        "server_port",
        "args",
        "query_string",
        "ssl_protocol",
        "ssl_cipher",
        "upstream_addr",
        "upstream_status",
        "upstream_response_time",
        "upstream_connect_time",
        "upstream_header_time",
    ];
    // Header and cookie variables are open-ended families.
    const IGNORED_PREFIXES: [&str; 5] = ["http_", "sent_http_", "cookie_", "arg_", "upstream_"];
    Some(match name {
        "remote_addr" | "realip_remote_addr" => Field::Host,
        "host" | "server_name" | "http_host" => Field::Vhost,
        "time_local" => Field::Timestamp,
        "time_iso8601" => Field::IsoTimestamp,
        "request" => Field::Request,
        "request_method" => Field::Method,
        "request_uri" | "uri" => Field::Path,
        "server_protocol" => Field::Protocol,
        "status" => Field::Status,
        "body_bytes_sent" | "bytes_sent" => Field::Bytes,
        "http_referer" => Field::Referrer,
        "http_user_agent" => Field::UserAgent,
        _ if IGNORED.contains(&name) => Field::Ignore,
        _ if IGNORED_PREFIXES.iter().any(|p| name.starts_with(p)) => Field::Ignore,
        _ => return None,
    })
}

/// A format that cannot produce a whole [`LogLine`] is refused up front, so
/// the per-line code never has to report a missing field.
fn check_required(pieces: &[Piece]) -> Result<(), String> {
    let has = |wanted: Field| {
        pieces
            .iter()
            .any(|p| matches!(p, Piece::Field(field, _) if *field == wanted))
    };
    if !has(Field::Host) {
        return Err("log format has no client address (%h or $remote_addr)".to_string());
    }
    let split_time = has(Field::Date) && has(Field::Time);
    if has(Field::Date) != has(Field::Time) {
        return Err("log format has %d without %t or %t without %d".to_string());
    }
    if !(split_time || has(Field::Timestamp) || has(Field::IsoTimestamp)) {
        return Err(
            "log format has no time (%x, %d with %t, $time_local or $time_iso8601)".to_string(),
        );
    }
    if !(has(Field::Request) || has(Field::Path)) {
        return Err("log format has no request (%r, %U, $request or $request_uri)".to_string());
    }
    if !has(Field::Status) {
        return Err("log format has no status (%s or $status)".to_string());
    }
    Ok(())
}

/// The fields of one line as they are found; defaults stand for fields the
/// format does not have.
struct Parts<'a> {
    ip: IpAddr,
    /// The whole timestamp, or the day's start when date and time are split.
    base_ms: i64,
    time_of_day_ms: i64,
    method: &'a [u8],
    target: &'a [u8],
    protocol: &'a [u8],
    status: u16,
    bytes: u64,
    referrer: Option<&'a [u8]>,
    user_agent: &'a [u8],
    vhost: Option<&'a [u8]>,
}

impl Default for Parts<'_> {
    fn default() -> Self {
        Parts {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            base_ms: 0,
            time_of_day_ms: 0,
            method: b"",
            target: b"",
            protocol: b"",
            status: 0,
            bytes: 0,
            referrer: None,
            user_agent: b"",
            vhost: None,
        }
    }
}

impl<'a> Parts<'a> {
    fn take(&mut self, field: Field, value: &'a [u8]) -> Result<(), BadLine> {
        match field {
            Field::Host => self.ip = parse_ip(value).ok_or(BadLine::BadAddress)?,
            Field::Vhost => self.vhost = unless_dash(value),
            Field::Ignore => {}
            Field::Date => self.base_ms = parse_date(value)?,
            Field::Time => self.time_of_day_ms = seconds_of_day(value)? * 1000,
            Field::Timestamp => self.base_ms = parse_clf_timestamp(value)?,
            Field::IsoTimestamp => self.base_ms = parse_iso_timestamp(value)?,
            Field::Request => self.take_request(value)?,
            Field::Method if is_method(value) => self.method = value,
            Field::Method => return Err(BadLine::BadRequest),
            Field::Path if value.is_empty() => return Err(BadLine::BadRequest),
            Field::Path => self.target = value,
            Field::Protocol => self.protocol = value,
            Field::Status => self.status = parse_status(value)?,
            Field::Bytes => self.bytes = parse_bytes(value)?,
            Field::Referrer => self.referrer = unless_dash(value),
            Field::UserAgent => self.user_agent = value,
        }
        Ok(())
    }

    /// `METHOD SP target [SP protocol]`. The target may itself contain spaces
    /// (Apache logs the raw request line), so the protocol is the last word.
    fn take_request(&mut self, request: &'a [u8]) -> Result<(), BadLine> {
        let space = memchr(b' ', request).ok_or(BadLine::BadRequest)?;
        let (method, rest) = (&request[..space], &request[space + 1..]);
        if !is_method(method) {
            return Err(BadLine::BadRequest);
        }
        let (target, protocol) = match memrchr(b' ', rest) {
            None => (rest, &b""[..]),
            Some(i) if rest[i + 1..].starts_with(b"HTTP/") => (&rest[..i], &rest[i + 1..]),
            Some(_) => return Err(BadLine::BadRequest),
        };
        if target.is_empty() {
            return Err(BadLine::BadRequest);
        }
        (self.method, self.target, self.protocol) = (method, target, protocol);
        Ok(())
    }

    fn finish(self) -> LogLine<'a> {
        LogLine {
            ip: self.ip,
            ts: self.base_ms + self.time_of_day_ms,
            method: self.method,
            target: self.target,
            protocol: self.protocol,
            status: self.status,
            bytes: self.bytes,
            referrer: self.referrer,
            user_agent: self.user_agent,
            vhost: self.vhost,
        }
    }
}

fn trim_line_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n'] = line {
        line = rest;
    }
    line
}

fn expect_literal(line: &[u8], pos: usize, literal: &[u8]) -> Result<usize, BadLine> {
    let rest = &line[pos..];
    if rest.starts_with(literal) {
        Ok(pos + literal.len())
    } else if literal.starts_with(rest) {
        Err(BadLine::Truncated)
    } else {
        Err(BadLine::Mismatch)
    }
}

fn field_end(line: &[u8], start: usize, stop: Stop) -> Result<usize, BadLine> {
    let rest = &line[start..];
    match stop {
        Stop::Quote => closing_quote(rest)
            .map(|i| start + i)
            .ok_or(BadLine::UnclosedQuote),
        Stop::Byte(byte) => memchr(byte, rest)
            .map(|i| start + i)
            .ok_or(BadLine::Truncated),
        Stop::Word => Ok(memchr(b' ', rest).map_or(line.len(), |i| start + i)),
        Stop::Rest => Ok(line.len()),
    }
}

/// A logged field as the client sent it. Nginx writes `"`, `\` and bytes
/// outside printable ASCII as `\xHH`; Apache writes `\"`, `\\`, C escapes
/// (`\n`, `\t`...) and `\xhh`. Both are decoded; a backslash that starts no
/// escape is kept as it is. Fields without a backslash are borrowed.
pub fn unescape(field: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if memchr(b'\\', field).is_none() {
        return std::borrow::Cow::Borrowed(field);
    }
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        if b != b'\\' || i + 1 == field.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let (decoded, width) = match field[i + 1] {
            b'"' => (b'"', 2),
            b'\\' => (b'\\', 2),
            b'n' => (b'\n', 2),
            b'r' => (b'\r', 2),
            b't' => (b'\t', 2),
            b'b' => (0x08, 2),
            b'v' => (0x0b, 2),
            b'x' | b'X' => match (
                field.get(i + 2).and_then(|&h| hex(h)),
                field.get(i + 3).and_then(|&l| hex(l)),
            ) {
                (Some(h), Some(l)) => (h * 16 + l, 4),
                _ => (b'\\', 1),
            },
            _ => (b'\\', 1),
        };
        out.push(decoded);
        i += width;
    }
    std::borrow::Cow::Owned(out)
}

/// Escaped quotes are rare, so search for quotes and look back for
/// backslashes only when one is found, rather than stepping over every escape.
fn closing_quote(field: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let quote = from + memchr(b'"', &field[from..])?;
        if !is_escaped(&field[..quote]) {
            return Some(quote);
        }
        from = quote + 1;
    }
}

/// A quote is escaped when an odd number of backslashes precede it.
fn is_escaped(before: &[u8]) -> bool {
    before.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

fn unless_dash(value: &[u8]) -> Option<&[u8]> {
    match value {
        b"" | b"-" => None,
        _ => Some(value),
    }
}

/// Hostnames are refused rather than resolved: resolving would be slow and
/// would not give the address the request came from anyway.
fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4(text) {
        return Some(IpAddr::V4(v4));
    }
    memchr(b':', text)?;
    let v6: Ipv6Addr = std::str::from_utf8(text).ok()?.parse().ok()?;
    Some(IpAddr::V6(v6).to_canonical())
}

/// Dotted quad by hand: nearly every line has one, and std's parser would
/// first need a UTF-8 check. Leading zeros are refused, as std does, because
/// some tools read them as octal.
fn parse_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    if !(7..=15).contains(&text.len()) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        *octet = parse_octet(parts.next()?)?;
    }
    match parts.next() {
        None => Some(Ipv4Addr::from(octets)),
        Some(_) => None,
    }
}

fn parse_octet(digits: &[u8]) -> Option<u8> {
    if digits.is_empty() || digits.len() > 3 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut value: u32 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    u8::try_from(value).ok()
}

/// Letters, `-` and `_` only: enough for every registered method, and it
/// rejects the escaped binary that TLS handshakes leave in the request field.
fn is_method(method: &[u8]) -> bool {
    (1..=32).contains(&method.len())
        && method
            .iter()
            .all(|&b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
}

fn parse_status(text: &[u8]) -> Result<u16, BadLine> {
    match *text {
        [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err(BadLine::BadStatus),
    }
}

fn parse_bytes(text: &[u8]) -> Result<u64, BadLine> {
    if text == b"-" {
        return Ok(0);
    }
    if text.is_empty() {
        return Err(BadLine::BadBytes);
    }
    text.iter().try_fold(0u64, |total, &b| {
        if !b.is_ascii_digit() {
            return Err(BadLine::BadBytes);
        }
        total
            .checked_mul(10)
            .and_then(|t| t.checked_add(u64::from(b - b'0')))
            .ok_or(BadLine::BadBytes)
    })
}

thread_local! {
    /// The last date and zone seen, and the UTC instant of that local
    /// midnight. Consecutive lines nearly always share both, so this turns
    /// the calendar arithmetic into one comparison. Thread-local rather than
    /// in [`LogFormat`] so that a format can be shared between threads.
    static LAST_DAY: Cell<Option<(u128, i64)>> = const { Cell::new(None) };
}

/// `17/May/2015:10:05:03 +0000`; a missing zone is taken as UTC.
fn parse_clf_timestamp(text: &[u8]) -> Result<i64, BadLine> {
    let zone: &[u8] = match text.len() {
        26 if text[20] == b' ' => &text[21..],
        20 => b"+0000",
        _ => return Err(BadLine::BadTime),
    };
    if text[11] != b':' {
        return Err(BadLine::BadTime);
    }
    let day_start = clf_day_start(&text[..11], zone)?;
    Ok(day_start + seconds_of_day(&text[12..20])? * 1000)
}

/// `%d` alone: `17/May/2015`, with no zone to go by.
fn parse_date(text: &[u8]) -> Result<i64, BadLine> {
    if text.len() != 11 {
        return Err(BadLine::BadTime);
    }
    clf_day_start(text, b"+0000")
}

/// `date` is 11 bytes and `zone` 5, so together they are exactly a `u128`
/// key for the cache.
fn clf_day_start(date: &[u8], zone: &[u8]) -> Result<i64, BadLine> {
    let mut key = [0u8; 16];
    key[..11].copy_from_slice(date);
    key[11..].copy_from_slice(zone);
    let key = u128::from_le_bytes(key);
    if let Ok(Some((last_key, day_start))) = LAST_DAY.try_with(Cell::get) {
        if last_key == key {
            return Ok(day_start);
        }
    }
    let day_start = clf_day_start_uncached(date, zone)?;
    // Only a failure to reach the thread-local (thread teardown) is ignored.
    let _ = LAST_DAY.try_with(|last| last.set(Some((key, day_start))));
    Ok(day_start)
}

fn clf_day_start_uncached(date: &[u8], zone: &[u8]) -> Result<i64, BadLine> {
    if date[2] != b'/' || date[6] != b'/' {
        return Err(BadLine::BadTime);
    }
    let day = digits(&date[..2])?;
    let month = month_number(&date[3..6])?;
    let year = digits(&date[7..])?;
    Ok(civil_days(year, month, day)? * MS_PER_DAY - zone_offset_ms(zone)?)
}

/// nginx's `$time_iso8601`: `2015-05-17T10:05:03+00:00`, or `Z` for the zone.
fn parse_iso_timestamp(text: &[u8]) -> Result<i64, BadLine> {
    if text.len() < 20 || text[4] != b'-' || text[7] != b'-' || text[10] != b'T' {
        return Err(BadLine::BadTime);
    }
    let year = digits(&text[..4])?;
    let month = digits(&text[5..7])?;
    let day = digits(&text[8..10])?;
    let seconds = seconds_of_day(&text[11..19])?;
    let offset = match text[19..] {
        [b'Z'] => 0,
        [sign, h1, h2, b':', m1, m2] => zone_offset_ms(&[sign, h1, h2, m1, m2])?,
        _ => return Err(BadLine::BadTime),
    };
    Ok(civil_days(year, month, day)? * MS_PER_DAY + seconds * 1000 - offset)
}

/// `10:05:03`; second 60 is allowed for leap seconds.
fn seconds_of_day(text: &[u8]) -> Result<i64, BadLine> {
    if text.len() != 8 || text[2] != b':' || text[5] != b':' {
        return Err(BadLine::BadTime);
    }
    let (h, m, s) = (
        digits(&text[..2])?,
        digits(&text[3..5])?,
        digits(&text[6..])?,
    );
    if h > 23 || m > 59 || s > 60 {
        return Err(BadLine::BadTime);
    }
    Ok(i64::from(h * 3600 + m * 60 + s))
}

/// `+0200` → the offset in ms, to subtract from local time to get UTC.
fn zone_offset_ms(zone: &[u8]) -> Result<i64, BadLine> {
    let sign = match zone.first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(BadLine::BadTime),
    };
    if zone.len() != 5 {
        return Err(BadLine::BadTime);
    }
    let (h, m) = (digits(&zone[1..3])?, digits(&zone[3..])?);
    if h > 23 || m > 59 {
        return Err(BadLine::BadTime);
    }
    Ok(sign * i64::from(h * 60 + m) * 60_000)
}

/// At most four decimal digits, so no overflow.
fn digits(text: &[u8]) -> Result<u32, BadLine> {
    text.iter().try_fold(0u32, |value, &b| {
        if b.is_ascii_digit() {
            Ok(value * 10 + u32::from(b - b'0'))
        } else {
            Err(BadLine::BadTime)
        }
    })
}

/// English abbreviations only: Apache and Nginx log in the C locale.
fn month_number(name: &[u8]) -> Result<u32, BadLine> {
    Ok(match name {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return Err(BadLine::BadTime),
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date. Counting
/// from March makes the leap day the last day of the year, so the month
/// lengths follow a fixed pattern and no table is needed.
fn civil_days(year: u32, month: u32, day: u32) -> Result<i64, BadLine> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(BadLine::BadTime);
    }
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Ok(era * 146_097 + day_of_era - 719_468)
}

/// One line of the sequence format (UCI MSNBC `.seq`): space-separated
/// positive page ids. `None` for a blank line; `Err(BadLine::Mismatch)` for a
/// token that is not a positive `u32` (e.g. the file's header lines).
pub fn parse_seq_line(line: &[u8]) -> Result<Option<Vec<u32>>, BadLine> {
    let mut ids = Vec::new();
    for token in line.split(|b| b.is_ascii_whitespace()) {
        if !token.is_empty() {
            ids.push(parse_page_id(token).ok_or(BadLine::Mismatch)?);
        }
    }
    Ok(if ids.is_empty() { None } else { Some(ids) })
}

fn parse_page_id(token: &[u8]) -> Option<u32> {
    let id = token.iter().try_fold(0u32, |value, &b| {
        if b.is_ascii_digit() {
            value.checked_mul(10)?.checked_add(u32::from(b - b'0'))
        } else {
            None
        }
    })?;
    (id > 0).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};
    use std::time::Instant;

    /// Real traffic of semicomplete.com, 17-20 May 2015; see the README next to it.
    const APACHE_LOG: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/logs/apache_combined_semicomplete_2015.log"
    );

    /// The first line of the fixture, used wherever a well-formed line is needed.
    const FIRST: &[u8] = br#"83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36""#;

    /// 2015-05-17T10:05:03Z: `date -u -d '2015-05-17 10:05:03' +%s` → 1431857103.
    const FIRST_TS: i64 = 1_431_857_103_000;

    fn fixture() -> Vec<u8> {
        std::fs::read(APACHE_LOG).expect("fixture log is readable")
    }

    fn fixture_lines(data: &[u8]) -> Vec<&[u8]> {
        data.strip_suffix(b"\n")
            .unwrap_or(data)
            .split(|&b| b == b'\n')
            .collect()
    }

    fn format(spec: &str) -> LogFormat {
        LogFormat::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    fn combined(line: &[u8]) -> Result<LogLine<'_>, BadLine> {
        format("combined").parse_line(line)
    }

    /// A combined line around the given request, for request-field cases.
    fn with_request(request: &str) -> String {
        format!(r#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "{request}" 200 5 "-" "ua""#)
    }

    /// The time of a combined line around the given timestamp.
    fn ts_at(time: &str) -> Result<i64, BadLine> {
        let line = format!(r#"1.2.3.4 - - [{time}] "GET / HTTP/1.1" 200 5 "-" "ua""#);
        combined(line.as_bytes()).map(|l| l.ts)
    }

    #[test]
    fn fixture_counts_match_independent_tools() {
        let data = fixture();
        let lines = fixture_lines(&data);
        let format = format("combined");
        // `wc -l < apache_combined_semicomplete_2015.log` → 10000
        assert_eq!(lines.len(), 10_000);

        let mut bad = BTreeMap::new();
        let mut bad_lines = Vec::new();
        let mut parsed = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            match format.parse_line(line) {
                Ok(parsed_line) => parsed.push(parsed_line),
                Err(reason) => {
                    *bad.entry(reason).or_insert(0) += 1;
                    bad_lines.push((i + 1, reason));
                }
            }
        }
        // Lines whose count of `"` is not 6 (no line has an escaped quote:
        // `grep -c '\\"'` → 0):
        // awk '{n=gsub(/"/,"\"")} n!=6 {print NR": "n}' FILE → "8899: 5"
        // The data README says "line 8900"; it is line 8899 counting from 1.
        assert_eq!(parsed.len(), 9_999);
        assert_eq!(bad, BTreeMap::from([(BadLine::UnclosedQuote, 1)]));
        assert_eq!(bad_lines, vec![(8_899, BadLine::UnclosedQuote)]);

        // awk 'NR!=8899 {print $9}' FILE | sort | uniq -c
        let mut statuses = BTreeMap::new();
        for line in &parsed {
            *statuses.entry(line.status).or_insert(0) += 1;
        }
        let expected = [
            (200, 9_125),
            (206, 45),
            (301, 164),
            (304, 445),
            (403, 2),
            (404, 213),
            (416, 2),
            (500, 3),
        ];
        assert_eq!(statuses, BTreeMap::from(expected));

        // awk 'NR!=8899 {print $1}' FILE | sort -u | wc -l → 1753
        // (the same with line 8899 included; the data README says 1,753)
        let ips: HashSet<IpAddr> = parsed.iter().map(|l| l.ip).collect();
        assert_eq!(ips.len(), 1_753);

        // awk -F'"' 'NR!=8899 && $6 ~ /Googlebot/' FILE | wc -l → 542
        // (`grep -c Googlebot FILE` → 543: line 8899 is Googlebot too)
        let googlebot = parsed
            .iter()
            .filter(|l| memchr::memmem::find(l.user_agent, b"Googlebot").is_some())
            .count();
        assert_eq!(googlebot, 542);

        // awk -F'"' 'NR!=8899 {split($2,a," "); print a[1]}' FILE | sort | uniq -c
        let mut methods = BTreeMap::new();
        for line in &parsed {
            *methods.entry(line.method).or_insert(0) += 1;
        }
        let expected: [(&[u8], i32); 4] = [
            (b"GET", 9_951),
            (b"HEAD", 42),
            (b"OPTIONS", 1),
            (b"POST", 5),
        ];
        assert_eq!(methods, BTreeMap::from(expected));

        // awk -F'"' 'NR!=8899 {split($2,a," "); print a[3]}' FILE | sort | uniq -c
        // → 700 HTTP/1.0, 9299 HTTP/1.1
        let http10 = parsed.iter().filter(|l| l.protocol == b"HTTP/1.0").count();
        assert_eq!(http10, 700);

        // awk -F'"' 'NR!=8899 && $4=="-"' FILE | wc -l → 4072 (none is empty)
        assert_eq!(
            parsed.iter().filter(|l| l.referrer.is_none()).count(),
            4_072
        );
        // awk -F'"' 'NR!=8899 && $6=="-"' FILE | wc -l → 190
        assert_eq!(parsed.iter().filter(|l| l.user_agent == b"-").count(), 190);

        // awk 'NR!=8899 && $10=="-"' FILE | wc -l → 669 (no line logs "0")
        // awk 'NR!=8899 && $10!="-" {s+=$10} END {printf "%.0f\n", s}' FILE → 2747282505
        assert_eq!(parsed.iter().filter(|l| l.bytes == 0).count(), 669);
        assert_eq!(parsed.iter().map(|l| l.bytes).sum::<u64>(), 2_747_282_505);

        // awk 'NR!=8899 {print substr($4,2,11)}' FILE | sort | uniq -c
        let mut days = BTreeMap::new();
        for line in &parsed {
            *days
                .entry((line.ts - FIRST_TS + 36_303_000) / MS_PER_DAY)
                .or_insert(0) += 1;
        }
        assert_eq!(
            days,
            BTreeMap::from([(0, 1_632), (1, 2_893), (2, 2_896), (3, 2_578)])
        );
        assert!(parsed.iter().all(|l| l.vhost.is_none()));
    }

    #[test]
    fn normal_line_has_every_field() {
        let line = combined(FIRST).unwrap();
        let expected = LogLine {
            ip: IpAddr::V4(Ipv4Addr::new(83, 149, 9, 216)),
            ts: FIRST_TS,
            method: b"GET",
            target: b"/presentations/logstash-monitorama-2013/images/kibana-search.png",
            protocol: b"HTTP/1.1",
            status: 200,
            bytes: 203_023,
            referrer: Some(b"http://semicomplete.com/presentations/logstash-monitorama-2013/"),
            user_agent: b"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36",
            vhost: None,
        };
        assert_eq!(line, expected);
    }

    #[test]
    fn line_ends_are_ignored() {
        let mut crlf = FIRST.to_vec();
        crlf.extend_from_slice(b"\r\n");
        assert_eq!(combined(&crlf).unwrap(), combined(FIRST).unwrap());
    }

    #[test]
    fn path_and_query_split_the_target() {
        let text = with_request("GET /search?q=shoes&page=2 HTTP/1.1");
        let line = combined(text.as_bytes()).unwrap();
        assert_eq!(line.target, b"/search?q=shoes&page=2");
        assert_eq!(line.path(), b"/search");
        assert_eq!(line.query(), Some(&b"q=shoes&page=2"[..]));
        assert_eq!(combined(FIRST).unwrap().query(), None);
    }

    #[test]
    fn escaped_quotes_stay_inside_their_field() {
        let text = br#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /a\"b HTTP/1.1" 200 5 "http://x/\"q\"" "Mozilla \"quoted\" \\""#;
        let line = combined(text).unwrap();
        assert_eq!(line.target, br#"/a\"b"#);
        assert_eq!(line.referrer, Some(&br#"http://x/\"q\""#[..]));
        // Two backslashes escape each other, so the quote after them closes.
        assert_eq!(line.user_agent, br#"Mozilla \"quoted\" \\"#);
    }

    #[test]
    fn escapes_are_decoded_by_unescape() {
        let cases: [(&[u8], &[u8]); 7] = [
            (br#"plain"#, b"plain"),
            (br#"http://x/\"q\""#, br#"http://x/"q""#),
            (br#"a\\b"#, br#"a\b"#),
            (br#"Mozilla\x22 \xC3\xA9\x2"#, "Mozilla\" é\\x2".as_bytes()),
            (br#"tab\tnl\n"#, b"tab\tnl\n"),
            (br#"odd\q end\"#, br#"odd\q end\"#),
            (br#"\xZZ\x"#, br#"\xZZ\x"#),
        ];
        for (logged, sent) in cases {
            assert_eq!(
                &*unescape(logged),
                sent,
                "{}",
                String::from_utf8_lossy(logged)
            );
        }
    }

    #[test]
    fn unclosed_quote_is_reported() {
        let text = br#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla (compatible"#;
        assert_eq!(combined(text), Err(BadLine::UnclosedQuote));
        let escaped_end =
            br#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "ua\""#;
        assert_eq!(combined(escaped_end), Err(BadLine::UnclosedQuote));
    }

    #[test]
    fn tls_handshake_junk_is_a_bad_request() {
        // Apache escapes the binary ClientHello sent to a plain-HTTP port.
        let junk = r#"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xa7"#;
        assert_eq!(
            combined(with_request(junk).as_bytes()),
            Err(BadLine::BadRequest)
        );
        let spaced = r#"\x16\x03\x01 \x00 \xa5"#;
        assert_eq!(
            combined(with_request(spaced).as_bytes()),
            Err(BadLine::BadRequest)
        );
    }

    #[test]
    fn dash_request_is_a_bad_request() {
        let timeout = br#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "-" 408 - "-" "-""#;
        assert_eq!(combined(timeout), Err(BadLine::BadRequest));
        assert_eq!(
            combined(with_request("").as_bytes()),
            Err(BadLine::BadRequest)
        );
        assert_eq!(
            combined(with_request("GET ").as_bytes()),
            Err(BadLine::BadRequest)
        );
        assert_eq!(
            combined(with_request("GET /a b").as_bytes()),
            Err(BadLine::BadRequest)
        );
    }

    #[test]
    fn unusual_but_valid_requests_parse() {
        let connect = with_request("CONNECT example.com:443 HTTP/1.1");
        let line = combined(connect.as_bytes()).unwrap();
        assert_eq!(
            (line.method, line.target),
            (&b"CONNECT"[..], &b"example.com:443"[..])
        );
        let options = with_request("OPTIONS * HTTP/1.0");
        assert_eq!(combined(options.as_bytes()).unwrap().target, b"*");
        let http09 = with_request("GET /old");
        let http09 = combined(http09.as_bytes()).unwrap();
        assert_eq!((http09.target, http09.protocol), (&b"/old"[..], &b""[..]));
        let spaced = with_request("GET /a b HTTP/1.1");
        let spaced = combined(spaced.as_bytes()).unwrap();
        assert_eq!(spaced.target, b"/a b");
    }

    #[test]
    fn ipv6_clients_parse() {
        let text =
            br#"2001:db8::1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#;
        let expected: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(combined(text).unwrap().ip, expected);
        let mapped =
            br#"::ffff:10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#;
        assert_eq!(
            combined(mapped).unwrap().ip,
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))
        );
    }

    #[test]
    fn hostnames_and_malformed_addresses_are_bad_addresses() {
        for host in [
            "crawl-66-249-73-135.googlebot.com",
            "localhost",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "01.2.3.4",
            "1..2.3",
            "2001:db8::zz",
            "-",
        ] {
            let text = format!(r#"{host} - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5"#);
            assert_eq!(
                format("common").parse_line(text.as_bytes()),
                Err(BadLine::BadAddress),
                "{host}"
            );
        }
    }

    #[test]
    fn zone_offset_is_applied() {
        // 13:55:36 at -0700 is 20:55:36 UTC:
        // `date -u -d '2000-10-10 20:55:36' +%s` → 971211336
        assert_eq!(ts_at("10/Oct/2000:13:55:36 -0700"), Ok(971_211_336_000));
        // 00:30 at +0530 is the previous day 19:00 UTC:
        // `date -u -d '2015-05-16 19:00:00' +%s` → 1431802800
        assert_eq!(ts_at("17/May/2015:00:30:00 +0530"), Ok(1_431_802_800_000));
    }

    #[test]
    fn day_cache_follows_date_and_zone_changes() {
        // `date -u -d '2016-02-29 23:59:59' +%s` → 1456790399
        let cases = [
            ("17/May/2015:10:05:03 +0000", FIRST_TS),
            ("29/Feb/2016:23:59:59 +0000", 1_456_790_399_000),
            ("17/May/2015:10:05:03 +0100", FIRST_TS - 3_600_000),
            ("17/May/2015:10:05:03 +0000", FIRST_TS),
            ("18/May/2015:10:05:03 +0000", FIRST_TS + MS_PER_DAY),
            ("01/Jan/1970:00:00:00 +0000", 0),
            ("31/Dec/1969:23:59:59 +0000", -1_000),
        ];
        for _ in 0..2 {
            for (time, ts) in cases {
                assert_eq!(ts_at(time), Ok(ts), "{time}");
            }
        }
    }

    #[test]
    fn impossible_times_are_bad_times() {
        for time in [
            "17/Foo/2015:10:05:03 +0000",
            "17/may/2015:10:05:03 +0000",
            "17/May/2015:25:05:03 +0000",
            "17/May/2015:10:60:03 +0000",
            "17/May/2015:10:05:61 +0000",
            "32/May/2015:10:05:03 +0000",
            "00/May/2015:10:05:03 +0000",
            "31/Apr/2015:10:05:03 +0000",
            "29/Feb/2015:10:05:03 +0000",
            "29/Feb/1900:10:05:03 +0000",
            "17/May/2015:10:05:03 0000",
            "17/May/2015:10:05:03 +2400",
            "17/May/2015:10:05:03 +0060",
            "17/May/2015:10:05:03 +00",
            "17/May/2015 10:05:03 +0000",
            "7/May/2015:10:05:03 +0000",
            "17/May/15:10:05:03 +0000",
            "",
        ] {
            assert_eq!(ts_at(time), Err(BadLine::BadTime), "{time}");
        }
        // `date -u -d '2000-02-29 10:05:03' +%s` → 951818703
        assert_eq!(ts_at("29/Feb/2000:10:05:03 +0000"), Ok(951_818_703_000));
    }

    #[test]
    fn bad_status_and_bytes_are_reported() {
        let line = |status: &str, bytes: &str| {
            format!(
                r#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" {status} {bytes} "-" "ua""#
            )
        };
        for status in ["abc", "20", "2000", "099", "-", "2x0"] {
            assert_eq!(
                combined(line(status, "5").as_bytes()),
                Err(BadLine::BadStatus),
                "{status}"
            );
        }
        for bytes in ["12x", "-1", "", "99999999999999999999", "1.5"] {
            assert_eq!(
                combined(line("200", bytes).as_bytes()),
                Err(BadLine::BadBytes),
                "{bytes}"
            );
        }
        let max = line("599", "18446744073709551615");
        let max = combined(max.as_bytes()).unwrap();
        assert_eq!((max.status, max.bytes), (599, u64::MAX));
    }

    #[test]
    fn empty_truncated_and_mismatched_lines() {
        for empty in [&b""[..], b"\n", b"\r\n", b"   \t\r\n"] {
            assert_eq!(combined(empty), Err(BadLine::Empty));
        }
        assert_eq!(combined(b"1.2.3.4"), Err(BadLine::Truncated));
        assert_eq!(
            combined(b"1.2.3.4 - - [17/May/2015:10:0"),
            Err(BadLine::Truncated)
        );
        assert_eq!(
            combined(&FIRST[..FIRST.len() - 1]),
            Err(BadLine::UnclosedQuote)
        );
        let no_bracket =
            br#"1.2.3.4 - - 17/May/2015:10:05:03 +0000 "GET / HTTP/1.1" 200 5 "-" "ua""#;
        assert_eq!(combined(no_bracket), Err(BadLine::Mismatch));
        let common_line = br#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5"#;
        assert_eq!(combined(common_line), Err(BadLine::Truncated));
        let json = br#"{"remote_addr": "1.2.3.4"}"#;
        assert_eq!(combined(json), Err(BadLine::BadAddress));
    }

    #[test]
    fn builtin_formats_tolerate_extra_fields() {
        let mut extended = FIRST.to_vec();
        extended.extend_from_slice(b" 1234 \"extra\"");
        assert_eq!(combined(&extended).unwrap(), combined(FIRST).unwrap());
        // The same line is too long for a user's format describing combined.
        let custom = format(r#"%h %^[%x] "%r" %s %b "%R" "%u""#);
        assert!(custom.parse_line(FIRST).is_ok());
        assert_eq!(custom.parse_line(&extended), Err(BadLine::Mismatch));
    }

    #[test]
    fn common_format_has_no_referrer_or_agent() {
        let common = format("common");
        let text = br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
        let line = common.parse_line(text).unwrap();
        assert_eq!(line.ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(line.ts, 971_211_336_000);
        assert_eq!(line.target, b"/apache_pb.gif");
        assert_eq!((line.status, line.bytes), (200, 2326));
        assert_eq!((line.referrer, line.user_agent), (None, &b""[..]));
        // A combined line read as common keeps the common part.
        assert_eq!(common.parse_line(FIRST).unwrap().bytes, 203_023);
    }

    #[test]
    fn vhost_combined_parses() {
        let text = br#"www.example.com:80 1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 123 "-" "ua""#;
        let line = format("vcombined").parse_line(text).unwrap();
        assert_eq!(line.vhost, Some(&b"www.example.com"[..]));
        assert_eq!(line.ip, IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(
            (line.ts, line.target, line.bytes),
            (FIRST_TS, &b"/"[..], 123)
        );
        assert_eq!((line.referrer, line.user_agent), (None, &b"ua"[..]));
        assert_eq!(format("VCombined"), format("vcombined"));
    }

    #[test]
    fn goaccess_format_strings_parse() {
        // GoAccess's own COMBINED definition: the zone is skipped, times are UTC.
        let goaccess = format(r#"%h %^[%d:%t %^] "%r" %s %b "%R" "%u""#);
        assert_eq!(
            goaccess.parse_line(FIRST).unwrap(),
            combined(FIRST).unwrap()
        );

        let split = format(r#"%v %h [%x] "%m %U %H" %s %b %T "%u""#);
        let text = br#"shop.example 10.1.2.3 [17/May/2015:10:05:03 +0000] "POST /cart?add=7 HTTP/2.0" 302 0 0.004 "curl/8.0""#;
        let line = split.parse_line(text).unwrap();
        assert_eq!(line.vhost, Some(&b"shop.example"[..]));
        assert_eq!(
            (line.method, line.target),
            (&b"POST"[..], &b"/cart?add=7"[..])
        );
        assert_eq!((line.protocol, line.status), (&b"HTTP/2.0"[..], 302));
        assert_eq!((line.ts, line.user_agent), (FIRST_TS, &b"curl/8.0"[..]));
        let bad_method = br#"shop.example 10.1.2.3 [17/May/2015:10:05:03 +0000] "\x16 /cart HTTP/2.0" 302 0 0.004 "curl/8.0""#;
        assert_eq!(split.parse_line(bad_method), Err(BadLine::BadRequest));

        let percent = format("%h [%x] '%r' %s 100%%");
        let text = b"1.2.3.4 [17/May/2015:10:05:03 +0000] 'GET / HTTP/1.1' 200 100%";
        assert_eq!(percent.parse_line(text).unwrap().status, 200);
    }

    #[test]
    fn nginx_format_strings_parse() {
        let nginx = format(
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
        );
        assert_eq!(nginx.parse_line(FIRST).unwrap(), combined(FIRST).unwrap());

        let split = format(
            r#"$host ${remote_addr} [$time_iso8601] "$request_method $request_uri $server_protocol" $status $bytes_sent $request_time "$http_x_forwarded_for""#,
        );
        let text = br#"shop.example 2001:db8::7 [2000-10-10T13:55:36-07:00] "GET /p/1?x=2 HTTP/1.1" 404 512 0.001 "-""#;
        let line = split.parse_line(text).unwrap();
        assert_eq!(line.vhost, Some(&b"shop.example"[..]));
        assert_eq!(line.ip, "2001:db8::7".parse::<IpAddr>().unwrap());
        assert_eq!(line.ts, 971_211_336_000);
        assert_eq!((line.method, line.target), (&b"GET"[..], &b"/p/1?x=2"[..]));
        assert_eq!((line.status, line.bytes), (404, 512));
        let utc = br#"shop.example 1.2.3.4 [2015-05-17T10:05:03Z] "GET / HTTP/1.1" 200 1 0.1 "-""#;
        assert_eq!(split.parse_line(utc).unwrap().ts, FIRST_TS);
    }

    #[test]
    fn unknown_directives_and_incomplete_formats_are_refused() {
        let error = LogFormat::parse(r#"%h %^[%x] "%r" %s %Z"#).unwrap_err();
        assert!(error.contains("unknown directive %Z"), "{error}");
        let error =
            LogFormat::parse("$remote_addr [$time_local] \"$request\" $status $foo").unwrap_err();
        assert!(error.contains("unknown variable $foo"), "{error}");
        for (spec, needle) in [
            ("", "empty"),
            ("%h [%x] \"%r\" %s %", "lone '%'"),
            ("${remote_addr [$time_local]", "closing '}'"),
            ("[%x] \"%r\" %s", "client address"),
            ("%h \"%r\" %s", "no time"),
            ("%h [%d] \"%r\" %s", "%d without %t"),
            ("%h [%x] %s", "no request"),
            ("%h [%x] \"%r\"", "no status"),
            ("%h [%x] \"%r\" %s%b", "%s and %b"),
        ] {
            let error = LogFormat::parse(spec).unwrap_err();
            assert!(error.contains(needle), "{spec}: {error}");
        }
        assert!("combined".parse::<LogFormat>().is_ok());
    }

    #[test]
    fn bad_line_names_are_snake_case_and_distinct() {
        let names: HashSet<&str> = BadLine::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), BadLine::ALL.len());
        assert!(names
            .iter()
            .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        assert_eq!(BadLine::UnclosedQuote.to_string(), "unclosed_quote");
    }

    #[test]
    fn seq_lines_parse() {
        assert_eq!(parse_seq_line(b"1 1 2 \r"), Ok(Some(vec![1, 1, 2])));
        assert_eq!(parse_seq_line(b"17\r\n"), Ok(Some(vec![17])));
        assert_eq!(parse_seq_line(b""), Ok(None));
        assert_eq!(parse_seq_line(b" \r\n"), Ok(None));
        assert_eq!(parse_seq_line(b"1 x"), Err(BadLine::Mismatch));
        assert_eq!(parse_seq_line(b"1 0"), Err(BadLine::Mismatch));
        assert_eq!(parse_seq_line(b"4294967296"), Err(BadLine::Mismatch));
        assert_eq!(parse_seq_line(b"% Sequences:\r"), Err(BadLine::Mismatch));
    }

    /// xorshift64*: deterministic, so a failure can be replayed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn all_formats() -> Vec<LogFormat> {
        [
            "combined",
            "common",
            "vcombined",
            r#"%h %^[%d:%t %^] "%r" %s %b "%R" "%u""#,
            r#"%v %h [%x] "%m %U %H" %s %b %T "%u""#,
            r#"$host $remote_addr [$time_iso8601] "$request" $status $bytes_sent"#,
        ]
        .iter()
        .map(|spec| format(spec))
        .collect()
    }

    #[test]
    fn never_panics_on_random_bytes_truncations_or_mutations() {
        let formats = all_formats();
        let data = fixture();
        let lines = fixture_lines(&data);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

        // Bytes drawn from the ones the parser cares about reach deeper paths
        // than uniform noise does.
        let alphabet = b" \"\\[]:/-+.0123456789abcdefGETHTPMayFeb\r\n\t\x00\xff";
        for _ in 0..20_000 {
            let len = rng.below(120);
            let uniform = rng.below(2) == 0;
            let line: Vec<u8> = (0..len)
                .map(|_| {
                    if uniform {
                        rng.next() as u8
                    } else {
                        alphabet[rng.below(alphabet.len())]
                    }
                })
                .collect();
            for format in &formats {
                let _ = format.parse_line(&line);
            }
        }

        // Every proper prefix of a combined line lacks its final quote, so
        // none of them may parse as combined.
        let combined = format("combined");
        for line in lines.iter().step_by(40).chain([&FIRST]) {
            for cut in 0..line.len() {
                assert!(combined.parse_line(&line[..cut]).is_err());
                for format in &formats {
                    let _ = format.parse_line(&line[..cut]);
                }
            }
        }

        let samples = [
            FIRST.to_vec(),
            with_request(r#"\x16\x03\x01 \x00"#).into_bytes(),
            br#"2001:db8::1 - - [17/May/2015:10:05:03 +0000] "GET /a\"b HTTP/1.1" 200 5 "-" "ua\\""#.to_vec(),
        ];
        for sample in samples.iter().chain(
            lines
                .iter()
                .take(300)
                .map(|l| l.to_vec())
                .collect::<Vec<_>>()
                .iter(),
        ) {
            for _ in 0..50 {
                let mut line = sample.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(line.len());
                    line[at] = alphabet[rng.below(alphabet.len())];
                }
                for format in &formats {
                    let _ = format.parse_line(&line);
                }
            }
        }
    }

    /// `cargo test --release -- --ignored --nocapture parse_throughput`
    #[test]
    #[ignore = "benchmark; run in release"]
    fn parse_throughput() {
        const TARGET_LINES: usize = 2_000_000;
        // Real copies, not 2M views of the same 10k lines, so that the timing
        // includes reading ~470 MB from memory as an import would.
        let data = fixture();
        let copies = TARGET_LINES / fixture_lines(&data).len();
        let big = data.repeat(copies);
        let all = fixture_lines(&big);
        assert_eq!(all.len(), TARGET_LINES);
        let format = format("combined");

        let start = Instant::now();
        let mut parsed = 0usize;
        let mut checksum = 0u64;
        for line in &all {
            if let Ok(line) = format.parse_line(line) {
                parsed += 1;
                checksum = checksum
                    .wrapping_add(line.ts as u64)
                    .wrapping_add(line.bytes)
                    .wrapping_add(line.user_agent.len() as u64);
            }
        }
        let elapsed = start.elapsed();
        std::hint::black_box(checksum);

        let rate = all.len() as f64 / elapsed.as_secs_f64();
        let megabytes: usize = all.iter().map(|l| l.len() + 1).sum();
        println!(
            "parse_throughput: {} lines ({:.0} MB) in {:.3} s: {:.0} lines/s, {:.0} MB/s ({} parsed)",
            all.len(),
            megabytes as f64 / 1e6,
            elapsed.as_secs_f64(),
            rate,
            megabytes as f64 / 1e6 / elapsed.as_secs_f64(),
            parsed
        );
        assert_eq!(parsed, TARGET_LINES - TARGET_LINES / 10_000);
    }
}
