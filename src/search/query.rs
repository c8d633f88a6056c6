//! From the user's query text to a tantivy query, with our field semantics.
//!
//! tantivy's grammar parses the text (after [`super::syntax::prepare`]),
//! but its `QueryParser` cannot express what our fields mean: one user
//! field maps to different index fields depending on the value
//! (`page:/checkout` is an exact path, `page:checkout` a word), `referrer:`
//! is a domain *or* a word of the URL, `start:` takes dates, `duration:`
//! takes units. So we walk the grammar's AST ourselves; that also gives
//! errors that name the field and the accepted values.
//!
//! Terms next to each other without an operator are ANDed (a search box
//! narrows down), unlike tantivy's default OR.

use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::query_grammar::{
    parse_query, parse_query_lenient, Delimiter, UserInputAst, UserInputBound, UserInputLeaf,
    UserInputLiteral,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::Term;

use super::schema::{self, Fields};
use super::syntax;
use super::values::{self, Moment};
use crate::event::DeviceClass;

/// The filters every view of the dashboards takes (the date range, channel,
/// device, country, referrer), applied beside the user's query as terms
/// built here, never as query text: the user's text is parsed alone, so its
/// nesting limit and its error columns are its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SearchFilters {
    /// Sessions that started at or after this (ms since the epoch).
    pub from: Option<i64>,
    /// Sessions that started before this (ms since the epoch).
    pub to: Option<i64>,
    /// The same values as the query's `channel:`, `device:`, `country:` and
    /// `referrer:` (a domain, or words of the URL).
    pub channel: Option<String>,
    pub device: Option<String>,
    pub country: Option<String>,
    pub referrer: Option<String>,
    /// Leave out sessions of bots (`device:bot`), unless the `device`
    /// filter or the query text asks for them.
    pub leave_out_bots: bool,
}

/// The user's query restricted to `site` and narrowed by `filters`, or a
/// one-line message for a bad query or filter.
pub(crate) fn build(
    f: &Fields,
    site: i64,
    input: &str,
    filters: &SearchFilters,
) -> Result<Box<dyn Query>, String> {
    // Messages quote what the user typed: its newlines and other control
    // characters become spaces, so a reason stays one line.
    build_query(f, site, input, filters).map_err(|message| {
        message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    })
}

fn build_query(
    f: &Fields,
    site: i64,
    input: &str,
    filters: &SearchFilters,
) -> Result<Box<dyn Query>, String> {
    let site_term = Term::from_field_i64(f.site_id, site);
    let site_query: Box<dyn Query> = Box::new(TermQuery::new(site_term, IndexRecordOption::Basic));
    let mut b = Builder {
        f,
        words: schema::words_analyzer(),
    };
    let mut subs = vec![(Occur::Must, site_query)];
    for filter in b.filters(filters)? {
        subs.push((Occur::Must, filter));
    }
    if filters.leave_out_bots && !asks_for_bots(filters, input) {
        let bot = Term::from_field_text(f.device, DeviceClass::Bot.as_str());
        subs.push((
            Occur::MustNot,
            Box::new(TermQuery::new(bot, IndexRecordOption::Basic)),
        ));
    }
    if !input.trim().is_empty() {
        let prepared = syntax::prepare(input)?;
        let ast = parse_query(&prepared).map_err(|_| grammar_error(&prepared))?;
        // A top level of only required and excluded terms is merged with the
        // site filter, so `-page:/x` needs no match-all scorer beside it.
        let clauses = match ast {
            UserInputAst::Clause(clauses)
                if clauses.iter().all(|(o, _)| *o != Some(Occur::Should)) =>
            {
                clauses
            }
            other => vec![(Some(Occur::Must), other)],
        };
        for (occur, ast) in clauses {
            subs.push((occur.unwrap_or(Occur::Must), b.ast(ast)?));
        }
    }
    if subs.len() == 1 {
        return Ok(subs.pop().expect("the site query").1);
    }
    Ok(Box::new(BooleanQuery::new(subs)))
}

/// Whether bots are what the search is after: the device filter is `bot`,
/// or the query names `device:bot` (a search for bots that left them out
/// would always find nothing).
fn asks_for_bots(filters: &SearchFilters, input: &str) -> bool {
    let bot = DeviceClass::Bot.as_str();
    filters.device.as_deref() == Some(bot)
        || input
            .to_ascii_lowercase()
            .split(|c: char| c.is_whitespace() || "()+-".contains(c))
            .any(|w| w.trim_matches('"') == "device:bot")
}

/// The grammar's strict parser says only "no"; its lenient one says what
/// and roughly where, in its own words.
fn grammar_error(prepared: &str) -> String {
    let (_, errors) = parse_query_lenient(prepared);
    let Some(e) = errors.first() else {
        return "syntax error: check the operators (AND, OR, NOT), brackets and quotes".into();
    };
    let what = match e.message.as_str() {
        "expected word" => "a value is missing (after a field, an operator or TO)",
        "Found unexpected boolean operator before term" => "the query starts with AND or OR",
        "parsed possible invalid field as term" => "a value contains `:` (put it in quotes)",
        other => other,
    };
    let near: String = prepared
        .get(e.pos..)
        .unwrap_or("")
        .chars()
        .take(24)
        .collect();
    if near.trim().is_empty() || e.pos == 0 {
        format!("syntax error: {what}")
    } else {
        format!("syntax error near `{}`: {what}", near.trim_end())
    }
}

/// What a user field name stands for.
#[derive(Clone, Copy)]
enum Target {
    /// A page path: exact field, word field.
    Page(Field, Field),
    Referrer,
    /// A whole value, case-insensitive.
    Keyword(Field),
    Flag(Field),
    Duration,
    Pages,
    Start,
    Session,
    /// `prop.KEY`: a property value of any of the session's events.
    Prop,
}

const FIELD_NAMES: &str = "page, entry, exit, referrer, channel, utm_source, utm_medium, \
    utm_campaign, country, city, browser, os, device, source, rage, dead, error, jserror, \
    converted, event, prop.KEY, duration, pages, start, session";

struct Builder<'a> {
    f: &'a Fields,
    words: TextAnalyzer,
}

type QueryResult = Result<Box<dyn Query>, String>;

impl Builder<'_> {
    fn target(&self, name: &str) -> Result<Target, String> {
        let f = self.f;
        Ok(match name.to_ascii_lowercase().as_str() {
            "page" => Target::Page(f.page, f.page_words),
            "entry" => Target::Page(f.entry, f.entry_words),
            "exit" => Target::Page(f.exit, f.exit_words),
            "referrer" => Target::Referrer,
            "channel" => Target::Keyword(f.channel),
            "utm_source" => Target::Keyword(f.utm_source),
            "utm_medium" => Target::Keyword(f.utm_medium),
            "utm_campaign" => Target::Keyword(f.utm_campaign),
            "country" => Target::Keyword(f.country),
            "city" => Target::Keyword(f.city),
            "browser" => Target::Keyword(f.browser),
            "os" => Target::Keyword(f.os),
            "device" => Target::Keyword(f.device),
            "source" => Target::Keyword(f.source),
            "rage" => Target::Flag(f.rage),
            "dead" => Target::Flag(f.dead),
            "error" => Target::Flag(f.error),
            "jserror" => Target::Flag(f.jserror),
            "converted" => Target::Flag(f.converted),
            "event" => Target::Keyword(f.event),
            n if n.starts_with("prop.") && n.len() > 5 => Target::Prop,
            "duration" => Target::Duration,
            "pages" => Target::Pages,
            "start" => Target::Start,
            "session" => Target::Session,
            _ => {
                return Err(format!(
                    "unknown field `{name}` (fields: {FIELD_NAMES}; put text that contains a colon in quotes)"
                ))
            }
        })
    }

    /// One query per filter given: the date range on the start, the others
    /// exactly as the same field's term in the query text would match.
    fn filters(&mut self, filters: &SearchFilters) -> Result<Vec<Box<dyn Query>>, String> {
        let mut out = Vec::new();
        if filters.from.is_some() || filters.to.is_some() {
            out.push(i64_range(
                self.f.start_ms,
                filters.from.map_or(Bound::Unbounded, Bound::Included),
                filters.to.map_or(Bound::Unbounded, Bound::Excluded),
            ));
        }
        for (name, value) in [
            ("channel", &filters.channel),
            ("device", &filters.device),
            ("country", &filters.country),
            ("referrer", &filters.referrer),
        ] {
            let Some(value) = value.as_deref().filter(|v| !v.is_empty()) else {
                continue;
            };
            let lit = UserInputLiteral {
                field_name: Some(name.to_string()),
                phrase: value.to_string(),
                delimiter: Delimiter::DoubleQuotes,
                slop: 0,
                prefix: false,
            };
            let target = self.target(name)?;
            out.push(self.literal(name, target, &lit)?);
        }
        Ok(out)
    }

    fn ast(&mut self, ast: UserInputAst) -> QueryResult {
        match ast {
            UserInputAst::Clause(clauses) => {
                let mut subs = Vec::with_capacity(clauses.len() + 1);
                for (occur, ast) in clauses {
                    subs.push((occur.unwrap_or(Occur::Must), self.ast(ast)?));
                }
                // Only exclusions (`(-a -b)`) match nothing in tantivy:
                // exclude from everything instead.
                if subs.iter().all(|(o, _)| *o == Occur::MustNot) {
                    subs.push((Occur::Must, Box::new(AllQuery)));
                }
                Ok(Box::new(BooleanQuery::new(subs)))
            }
            // No scoring, so boosts mean nothing.
            UserInputAst::Boost(inner, _) => self.ast(*inner),
            UserInputAst::Leaf(leaf) => self.leaf(*leaf),
        }
    }

    fn leaf(&mut self, leaf: UserInputLeaf) -> QueryResult {
        match leaf {
            UserInputLeaf::Literal(mut lit) => {
                // The grammar keeps a trailing `*` of an unquoted word in
                // the word (`page:prod*`); it means a prefix.
                if lit.delimiter == Delimiter::None && lit.phrase.len() > 1 {
                    if let Some(stem) = lit.phrase.strip_suffix('*') {
                        lit.phrase = stem.to_string();
                        lit.prefix = true;
                    }
                }
                self.literal_leaf(lit)
            }
            UserInputLeaf::All => Ok(Box::new(AllQuery)),
            UserInputLeaf::Range {
                field,
                lower,
                upper,
            } => {
                let name = field.ok_or("a range needs a field, e.g. duration:>60")?;
                let target = self.target(&name)?;
                self.range(&name, target, &lower, &upper)
            }
            UserInputLeaf::Set { field, elements } => {
                let mut subs = Vec::with_capacity(elements.len());
                for element in elements {
                    let lit = UserInputLiteral {
                        field_name: field.clone(),
                        phrase: element,
                        delimiter: Delimiter::None,
                        slop: 0,
                        prefix: false,
                    };
                    subs.push(self.leaf(UserInputLeaf::Literal(lit))?);
                }
                Ok(any(subs))
            }
            UserInputLeaf::Exists { field } => match self.target(&field)? {
                Target::Page(exact, _) | Target::Keyword(exact) => Ok(exists(exact)),
                Target::Referrer => Ok(exists(self.f.referrer_domain)),
                // Every session has these.
                Target::Prop => Err(format!(
                    "`{field}:*`: give the value to look for ({field}:VALUE)"
                )),
                Target::Flag(_)
                | Target::Duration
                | Target::Pages
                | Target::Start
                | Target::Session => Ok(Box::new(AllQuery)),
            },
            // `syntax::prepare` quotes values starting with `/`, so this is
            // only reached through an escaped form.
            UserInputLeaf::Regex { pattern, .. } => Err(format!(
                "`/{pattern}/`: regular expressions are not supported"
            )),
        }
    }

    fn literal_leaf(&mut self, lit: UserInputLiteral) -> QueryResult {
        match &lit.field_name {
            None => self.free_text(&lit),
            Some(name) => {
                let target = self.target(name)?;
                self.literal(name, target, &lit)
            }
        }
    }

    fn literal(&mut self, name: &str, target: Target, lit: &UserInputLiteral) -> QueryResult {
        let v = lit.phrase.as_str();
        let f = self.f;
        match target {
            Target::Page(exact, words) => {
                if v.starts_with('/') {
                    // A prefix is typed as it starts (`/product/*`).
                    let term = if lit.prefix {
                        schema::exact(v)
                    } else {
                        schema::path(v)
                    };
                    Ok(keyword(exact, &term, lit.prefix))
                } else {
                    self.words(name, words, lit)?
                        .ok_or_else(|| no_words(name, v))
                }
            }
            Target::Referrer => {
                let by_domain = keyword(f.referrer_domain, &schema::domain(v), lit.prefix);
                // A dotted value is a domain (or a parent domain): matching
                // it as a phrase of URL words too would add little but cost
                // a positions check over most referrers ("com").
                if v.contains('.') {
                    return Ok(by_domain);
                }
                let mut subs = vec![by_domain];
                if let Some(q) = self.words(name, f.referrer_words, lit)? {
                    subs.push(q);
                }
                Ok(any(subs))
            }
            Target::Keyword(field) => Ok(keyword(field, &schema::exact(v), lit.prefix)),
            Target::Flag(field) => {
                let b = values::boolean(name, v)?;
                Ok(term(Term::from_field_bool(field, b)))
            }
            Target::Duration => {
                let s = values::duration(v)?;
                Ok(u64_range(
                    f.duration_s,
                    Bound::Included(s),
                    Bound::Included(s),
                ))
            }
            Target::Pages => {
                let n = values::count(v)?;
                Ok(u64_range(
                    f.page_count,
                    Bound::Included(n),
                    Bound::Included(n),
                ))
            }
            Target::Start => {
                let m = values::moment(v)?;
                Ok(i64_range(
                    f.start_ms,
                    Bound::Included(m.first_ms()),
                    Bound::Excluded(m.end_ms()),
                ))
            }
            Target::Session => Ok(term(Term::from_field_i64(
                f.session_id,
                values::session_id(v)?,
            ))),
            Target::Prop => {
                let key = &name["prop.".len()..];
                Ok(keyword(
                    f.prop,
                    &schema::exact(&format!("{key}={v}")),
                    lit.prefix,
                ))
            }
        }
    }

    /// A bare word: any word of a visited page or of the referrer URL, or
    /// the whole value of any text attribute.
    fn free_text(&mut self, lit: &UserInputLiteral) -> QueryResult {
        let f = self.f;
        let v = lit.phrase.as_str();
        let mut subs = Vec::new();
        for field in [f.page_words, f.referrer_words] {
            if let Some(q) = self.words("text", field, lit)? {
                subs.push(q);
            }
        }
        if subs.is_empty() {
            return Err(format!(
                "`{v}` has no words to search for (for a page path use page:{v})"
            ));
        }
        subs.push(keyword(f.referrer_domain, &schema::domain(v), lit.prefix));
        let exact = schema::exact(v);
        for field in [
            f.channel,
            f.utm_source,
            f.utm_medium,
            f.utm_campaign,
            f.country,
            f.city,
            f.browser,
            f.os,
            f.device,
            f.source,
            f.event,
        ] {
            subs.push(keyword(field, &exact, lit.prefix));
        }
        Ok(any(subs))
    }

    /// The value's words in a word field: a term, a prefix, or a phrase.
    /// `None` when the value has no words (`page:-`).
    fn words(
        &mut self,
        name: &str,
        field: Field,
        lit: &UserInputLiteral,
    ) -> Result<Option<Box<dyn Query>>, String> {
        let mut terms = Vec::new();
        let mut stream = self.words.token_stream(&lit.phrase);
        while let Some(token) = stream.next() {
            terms.push(Term::from_field_text(field, &token.text));
        }
        Ok(match (terms.len(), lit.prefix) {
            (0, _) => None,
            (1, false) => terms.pop().map(term),
            (1, true) => terms
                .pop()
                .map(|t| prefix(field, t.value().as_str().unwrap_or(""))),
            (_, true) => {
                if lit.slop > 0 {
                    return Err(format!(
                        "{name}: a phrase cannot be both a prefix (*) and sloppy (~)"
                    ));
                }
                Some(Box::new(PhrasePrefixQuery::new(terms)))
            }
            (_, false) => {
                let mut q = PhraseQuery::new(terms);
                q.set_slop(lit.slop);
                Some(Box::new(q))
            }
        })
    }

    fn range(
        &self,
        name: &str,
        target: Target,
        lower: &UserInputBound,
        upper: &UserInputBound,
    ) -> QueryResult {
        let f = self.f;
        match target {
            Target::Duration => Ok(u64_range(
                f.duration_s,
                bound(lower, values::duration)?,
                bound(upper, values::duration)?,
            )),
            Target::Pages => Ok(u64_range(
                f.page_count,
                bound(lower, values::count)?,
                bound(upper, values::count)?,
            )),
            Target::Session => Ok(i64_range(
                f.session_id,
                bound(lower, values::session_id)?,
                bound(upper, values::session_id)?,
            )),
            Target::Start => {
                // A day stands for all of it: `>2026-11-01` starts on the
                // 2nd, `<=2026-11-01` ends with the 1st.
                let lo = match bound(lower, values::moment)? {
                    Bound::Included(m) => Bound::Included(m.first_ms()),
                    Bound::Excluded(m) => Bound::Included(m.end_ms()),
                    Bound::Unbounded => Bound::Unbounded,
                };
                let hi = match bound(upper, values::moment)? {
                    Bound::Included(m) => Bound::Excluded(m.end_ms()),
                    Bound::Excluded(m) => Bound::Excluded(Moment::first_ms(m)),
                    Bound::Unbounded => Bound::Unbounded,
                };
                Ok(i64_range(f.start_ms, lo, hi))
            }
            _ => Err(format!(
                "{name}: ranges work on duration, pages, start and session only"
            )),
        }
    }
}

fn no_words(name: &str, v: &str) -> String {
    format!("{name}: `{v}` has no words to search for (a path starts with /)")
}

fn bound<T>(
    b: &UserInputBound,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Bound<T>, String> {
    Ok(match b {
        UserInputBound::Unbounded => Bound::Unbounded,
        UserInputBound::Inclusive(s) if s == "*" => Bound::Unbounded,
        UserInputBound::Exclusive(s) if s == "*" => Bound::Unbounded,
        UserInputBound::Inclusive(s) => Bound::Included(parse(s)?),
        UserInputBound::Exclusive(s) => Bound::Excluded(parse(s)?),
    })
}

fn term(t: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(t, IndexRecordOption::Basic))
}

/// An exact (already normalised) value, or every value starting with it.
fn keyword(field: Field, value: &str, is_prefix: bool) -> Box<dyn Query> {
    if is_prefix {
        prefix(field, value)
    } else {
        term(Term::from_field_text(field, value))
    }
}

/// Every term of `field` that starts with `p`: a range over the term
/// dictionary, from `p` up to `p` followed by the largest char.
fn prefix(field: Field, p: &str) -> Box<dyn Query> {
    let upper = format!("{p}{}", char::MAX);
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_text(field, p)),
        Bound::Excluded(Term::from_field_text(field, &upper)),
    ))
}

/// Documents with any value in a text field.
fn exists(field: Field) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_text(field, "")),
        Bound::Unbounded,
    ))
}

fn any(mut subs: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if subs.len() == 1 {
        if let Some(q) = subs.pop() {
            return q;
        }
    }
    Box::new(BooleanQuery::new(
        subs.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

fn u64_range(field: Field, lo: Bound<u64>, hi: Bound<u64>) -> Box<dyn Query> {
    if matches!((&lo, &hi), (Bound::Unbounded, Bound::Unbounded)) {
        // tantivy's RangeQuery needs at least one bound; every session has
        // the value.
        return Box::new(AllQuery);
    }
    let t = |v| Term::from_field_u64(field, v);
    Box::new(RangeQuery::new(lo.map(t), hi.map(t)))
}

fn i64_range(field: Field, lo: Bound<i64>, hi: Bound<i64>) -> Box<dyn Query> {
    if matches!((&lo, &hi), (Bound::Unbounded, Bound::Unbounded)) {
        return Box::new(AllQuery);
    }
    let t = |v| Term::from_field_i64(field, v);
    Box::new(RangeQuery::new(lo.map(t), hi.map(t)))
}

/// No query text may panic the parser, the grammar or the builder: any
/// string, and strings made of the language's own pieces (fields, ranges,
/// quotes, escapes, operators, deep nesting, huge numbers, multibyte
/// characters next to every delimiter).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::super::schema;
    use super::build;

    const PIECES: &[&str] = &[
        "page:",
        "entry:",
        "exit:",
        "referrer:",
        "channel:",
        "country:",
        "city:",
        "rage:",
        "converted:",
        "duration:",
        "pages:",
        "start:",
        "session:",
        "event:",
        "nope:",
        "/",
        "/a",
        "/é/",
        "*",
        "\"",
        "'",
        "\\",
        "\\\"",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        " TO ",
        "TO",
        ">",
        ">=",
        "<",
        "<=",
        " AND ",
        " OR ",
        " NOT ",
        " and ",
        " or ",
        "not ",
        "+",
        "-",
        " ",
        ":",
        "true",
        "yes",
        "1d",
        "90s",
        "5m",
        "2h",
        "7",
        "-1",
        "1e400",
        "99999999999999999999999",
        "18446744073709551616",
        "2024-02-30",
        "2024-01-01T00:00:00Z",
        "now-7d",
        "é",
        "😀",
        "\u{0}",
        "\t",
        "ß",
        "İ",
        "google.com",
        "O'Fallon",
        "^",
        "~2",
        "IN [",
        "$",
    ];

    /// An index in memory with one session, built once for all cases.
    fn one_session_index() -> &'static (tantivy::Searcher, schema::Fields) {
        static INDEX: std::sync::OnceLock<(tantivy::Searcher, schema::Fields)> =
            std::sync::OnceLock::new();
        INDEX.get_or_init(|| {
            let (tantivy_schema, f) = schema::build();
            let index = tantivy::Index::create_in_ram(tantivy_schema);
            schema::register_tokenizers(index.tokenizers());
            let mut writer: tantivy::IndexWriter = index.writer(15_000_000).expect("writer");
            let doc = crate::search::SessionDoc {
                session_id: 1,
                site_id: 1,
                start_ms: 1_793_491_200_000,
                duration_s: 30,
                page_count: 2,
                pages: vec!["/".into(), "/café/42".into()],
                entry_page: Some("/".into()),
                exit_page: Some("/café/42".into()),
                referrer: Some("https://www.google.com/search".into()),
                referrer_domain: Some("google.com".into()),
                channel: "organic_search".into(),
                utm_source: Some("news".into()),
                utm_medium: None,
                utm_campaign: None,
                country: Some("SE".into()),
                city: Some("Linköping".into()),
                browser: "Firefox".into(),
                os: "Linux".into(),
                device: "desktop".into(),
                rage: true,
                dead: false,
                error: false,
                jserror: false,
                converted: true,
                events: Vec::new(),
                props: Vec::new(),
                source: "tracker".into(),
            };
            writer
                .add_document(schema::to_document(&f, &doc))
                .expect("add");
            writer.commit().expect("commit");
            let searcher = index.reader().expect("reader").searcher();
            (searcher, f)
        })
    }

    fn query() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => prop::sample::select(PIECES).prop_map(str::to_string),
            1 => any::<char>().prop_map(String::from),
            1 => "[a-z0-9]{1,6}",
        ];
        prop_oneof![
            6 => prop::collection::vec(piece, 0..24).prop_map(|p| p.concat()),
            1 => (1usize..40).prop_map(|n| format!("{}page:/a{}", "(".repeat(n), ")".repeat(n))),
            1 => (1usize..40).prop_map(|n| "NOT ".repeat(n) + "rage:true"),
            1 => any::<String>(),
        ]
    }

    #[test]
    fn messages_quoting_the_query_stay_one_line() {
        let (_, f) = one_session_index();
        // Found by the property below: the user's newline was echoed.
        for q in ["+\n:x", "IN [:\npage:"] {
            let message =
                build(f, 1, q, &super::SearchFilters::default()).expect_err("a bad query");
            assert!(!message.contains('\n'), "{q:?}: {message}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 1000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn no_query_text_panics(q in query()) {
            let (searcher, f) = one_session_index();
            match build(f, 1, &q, &super::SearchFilters::default()) {
                // Built queries also run: some only fail when they execute.
                Ok(query) => {
                    let _ = searcher.search(&*query, &tantivy::collector::Count);
                }
                Err(message) => prop_assert!(!message.contains('\n'), "{q:?}: {message}"),
            }
        }
    }
}
