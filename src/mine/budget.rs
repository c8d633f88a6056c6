//! The budgets of user-defined patterns, defined once for every door.
//!
//! Path rules, funnel steps, journey stages and goals are regexes a token
//! holder writes; left unbounded they are a way to crash the server: 1,349
//! rules of `\w{100}N` take gigabytes to compile, twenty chained rules of
//! `^(.*)$` → `$1$1$1$1$1$1$1$1` grow every path 8^20 times, and because
//! rules are stored the crash comes back after every restart. Everything
//! that compiles such patterns (the API's PUTs, the CLI, and every report
//! that uses stored ones) goes through this module, so the bounds are the
//! same whichever way a pattern comes in:
//!
//! * a cap on how many patterns a set holds ([`Budgets::max_rules`],
//!   [`Budgets::max_funnel_steps`], [`Budgets::max_stage_patterns`],
//!   [`Budgets::max_goal_patterns`]);
//! * a compiled-size budget per pattern ([`Budgets::pattern_compiled_kib`],
//!   the regex crate's own `size_limit`) and for a whole set or request
//!   ([`Budgets::set_compiled_kib`]), charged with the size of each pattern's
//!   compiled automaton as it is compiled ([`PatternBudget`]);
//! * a cap on a cleaned path's length ([`Budgets::max_path_kib`]): a rule set is
//!   refused when its worst case could grow a path past it
//!   ([`check_growth`]), and the cleaner cuts a path that reaches it anyway.
//!
//! They are settings (`[budgets]` in trailmap.toml, see [`Budgets`]) that
//! every command reads from the same file at start and installs once for
//! the process ([`install`]), so that stored rules mean the same to
//! `trailmap serve` and to the CLI beside it. A smaller budget does not
//! break anything already stored: rules or stages that break it do not
//! run, and the reports say what to fix (409).

use regex::{Regex, RegexBuilder};
use regex_automata::nfa::thompson;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The budgets, as settings: each has a default and a `[budgets]` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Budgets {
    /// Most path cleaning rules a site may have.
    pub max_rules: usize,
    /// Most steps in one funnel (the funnel's fast matcher takes up to 64).
    pub max_funnel_steps: usize,
    /// Most page patterns over all of a site's journey stages.
    pub max_stage_patterns: usize,
    /// Most goal page patterns of a site.
    pub max_goal_patterns: usize,
    /// Longest pattern source, and longest replacement, in bytes.
    pub max_pattern_bytes: usize,
    /// Most KiB one pattern may compile to: the regex crate's
    /// `size_limit`, which bounds each of its automata (the reverse one,
    /// for Unicode classes, is about twice the forward one that the set
    /// budget is charged with).
    pub pattern_compiled_kib: usize,
    /// Most KiB a whole set of patterns (a site's rules, its stages and
    /// goals, one request's funnel steps) may compile to together.
    pub set_compiled_kib: usize,
    /// Longest cleaned page path (with its kept query), in KiB.
    pub max_path_kib: usize,
}

impl Budgets {
    pub(crate) const DEFAULT: Budgets = Budgets {
        max_rules: 100,
        max_funnel_steps: 32,
        max_stage_patterns: 64,
        max_goal_patterns: 32,
        max_pattern_bytes: 1024,
        pattern_compiled_kib: 512,
        set_compiled_kib: 4096,
        max_path_kib: 16,
    };

    /// Why these budgets cannot be used, if they cannot.
    pub(crate) fn check(&self) -> Result<(), String> {
        let within = |name: &str, v: usize, min: usize, max: usize| {
            if (min..=max).contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "budgets.{name}: {v} is out of range ({min} to {max})"
                ))
            }
        };
        within("max_rules", self.max_rules, 1, 10_000)?;
        within("max_funnel_steps", self.max_funnel_steps, 2, 64)?;
        within("max_stage_patterns", self.max_stage_patterns, 1, 10_000)?;
        within("max_goal_patterns", self.max_goal_patterns, 1, 10_000)?;
        within("max_pattern_bytes", self.max_pattern_bytes, 16, 64 * 1024)?;
        within(
            "pattern_compiled_kib",
            self.pattern_compiled_kib,
            16,
            64 * 1024,
        )?;
        within(
            "set_compiled_kib",
            self.set_compiled_kib,
            self.pattern_compiled_kib,
            1024 * 1024,
        )?;
        // A cleaned path must hold any raw path the collector keeps.
        within(
            "max_path_kib",
            self.max_path_kib,
            RAW_PATH_BYTES / 1024,
            1024,
        )
    }

    fn pattern_compiled_bytes(&self) -> usize {
        self.pattern_compiled_kib * 1024
    }

    fn set_compiled_bytes(&self) -> usize {
        self.set_compiled_kib * 1024
    }

    /// Longest cleaned page path, in bytes.
    pub(crate) fn max_path_bytes(&self) -> usize {
        self.max_path_kib * 1024
    }
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets::DEFAULT
    }
}

static INSTALLED: std::sync::OnceLock<Budgets> = std::sync::OnceLock::new();

/// Sets the process's budgets, once, at start (every command does, from
/// its settings); later calls keep the first.
pub(crate) fn install(b: Budgets) -> Result<(), String> {
    b.check()?;
    let _ = INSTALLED.set(b);
    Ok(())
}

/// The process's budgets: the installed ones, or the defaults.
pub(crate) fn budgets() -> &'static Budgets {
    INSTALLED.get().unwrap_or(&Budgets::DEFAULT)
}

/// The lazy DFA cache each pattern may grow while searching.
pub(crate) const PATTERN_DFA_BYTES: usize = 256 * 1024;
/// Longest raw page path a rule may meet: the collector keeps URLs of up
/// to this many bytes (`ingest::payload::limits::URL`, checked in a test).
pub(crate) const RAW_PATH_BYTES: usize = 2048;

/// Compiles patterns against a running budget of compiled bytes.
#[derive(Debug)]
pub(crate) struct PatternBudget {
    left: usize,
}

impl Default for PatternBudget {
    fn default() -> Self {
        PatternBudget::new(budgets().set_compiled_bytes())
    }
}

impl PatternBudget {
    pub(crate) fn new(bytes: usize) -> PatternBudget {
        PatternBudget { left: bytes }
    }

    /// Compiles `pattern` and charges its size; the error says why in a
    /// few words (the caller names the pattern).
    pub(crate) fn compile(&mut self, pattern: &str) -> Result<Regex, String> {
        let b = budgets();
        let (per_pattern, max_source) = (b.pattern_compiled_bytes(), b.max_pattern_bytes);
        if pattern.len() > max_source {
            return Err(format!(
                "is {} bytes long, over the {max_source} a pattern may have",
                pattern.len()
            ));
        }
        let limit = per_pattern.min(self.left);
        // The regex crate's `size_limit` bounds the same automaton that is
        // measured below, so a pattern over the limit fails fast here,
        // before any large allocation.
        let re = RegexBuilder::new(pattern)
            .size_limit(per_pattern)
            .dfa_size_limit(PATTERN_DFA_BYTES)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => too_big(per_pattern, "a pattern"),
                e => invalid_regex(pattern, &e),
            })?;
        let nfa = thompson::NFA::compiler()
            .configure(thompson::Config::new().nfa_size_limit(Some(limit)))
            .build(pattern)
            .map_err(|_| {
                if limit < per_pattern {
                    too_big(b.set_compiled_bytes(), "the whole set")
                } else {
                    too_big(per_pattern, "a pattern")
                }
            })?;
        self.left = self.left.saturating_sub(nfa.memory_usage());
        Ok(re)
    }
}

fn too_big(limit: usize, what: &str) -> String {
    format!(
        "compiles to more than the {} KiB {what} may take (use fewer or simpler patterns: \
         bounded repeats such as \\w{{100}} are costly)",
        limit / 1024
    )
}

/// Refuses a set of more than `max` patterns; `what` names them ("rules").
pub(crate) fn check_count(what: &str, count: usize, max: usize) -> Result<(), String> {
    if count > max {
        Err(format!("{count} {what} are more than the {max} allowed"))
    } else {
        Ok(())
    }
}

/// Compiles a site's path rules within the budgets: at most
/// [`Budgets::max_rules`], each replacement at most
/// [`Budgets::max_pattern_bytes`], all within [`Budgets::set_compiled_kib`],
/// and no chain of them able to grow a path past [`Budgets::max_path_kib`].
/// The error names the rule (from 0).
pub(crate) fn compile_rules(rules: &[(String, String)]) -> Result<Vec<Regex>, String> {
    check_count("rules", rules.len(), budgets().max_rules)?;
    let mut budget = PatternBudget::default();
    let mut compiled = Vec::with_capacity(rules.len());
    for (i, (pattern, replacement)) in rules.iter().enumerate() {
        let re = budget
            .compile(pattern)
            .map_err(|e| format!("rule {i} ({pattern:?}) {e}"))?;
        if replacement.len() > budgets().max_pattern_bytes {
            return Err(format!(
                "rule {i} ({pattern:?}): the replacement is over {} bytes",
                budgets().max_pattern_bytes
            ));
        }
        compiled.push(re);
    }
    check_growth(rules)?;
    Ok(compiled)
}

/// Why `pattern` is not a regex, on one line: what is wrong and at which
/// character (1-based), so a form can point at it (the regex crate's own
/// message draws a caret over several lines, which a one-line reason
/// cannot keep).
fn invalid_regex(pattern: &str, e: &regex::Error) -> String {
    match regex_syntax::ParserBuilder::new().build().parse(pattern) {
        Err(regex_syntax::Error::Parse(p)) => format!(
            "is not a valid regex: {} at character {}",
            p.kind(),
            p.span().start.column
        ),
        Err(regex_syntax::Error::Translate(t)) => format!(
            "is not a valid regex: {} at character {}",
            t.kind(),
            t.span().start.column
        ),
        _ => format!("is not a valid regex: {}", e.to_string().replace('\n', " ")),
    }
}

/// Refuses a chain of rules whose worst case could make a path of
/// [`RAW_PATH_BYTES`] longer than [`Budgets::max_path_kib`], naming the first
/// rule at which it could. Worst case means: as many matches as the
/// pattern allows (one when it is anchored with `^`), each as long as it
/// may be, every group reference as long as its group may be.
pub(crate) fn check_growth(rules: &[(String, String)]) -> Result<(), String> {
    let mut len = RAW_PATH_BYTES;
    let max = budgets().max_path_bytes();
    for (i, (pattern, replacement)) in rules.iter().enumerate() {
        let growth = Growth::of(pattern, replacement)
            .map_err(|e| format!("rule {i} ({pattern:?}) is not a valid regex: {e}"))?;
        len = growth.bound(len);
        if len > max {
            return Err(format!(
                "rule {i} ({pattern:?} → {replacement:?}) could grow a path past \
                 {max} bytes, the most a cleaned path may have (a replacement \
                 longer than what it replaces, or a group used more than once, grows paths \
                 at every rule that follows)"
            ));
        }
    }
    Ok(())
}

/// What one rule can do to a path's length, at worst.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Growth {
    /// The pattern can only match at the start (`^`, `\A`): one match.
    anchored: bool,
    /// A match runs to the end of the path (the pattern ends in a greedy
    /// `.*` or `.+`, and paths hold no newlines: URLs encode them).
    to_end: bool,
    /// The shortest match's length.
    min_match: usize,
    /// Bytes of the replacement that are not group references, plus the
    /// longest a referenced bounded group can be.
    fixed: usize,
    /// References to groups with no longest length (`(.*)`).
    unbounded: usize,
}

impl Growth {
    fn of(pattern: &str, replacement: &str) -> Result<Growth, String> {
        let hir = regex_syntax::parse(pattern).map_err(|e| e.to_string())?;
        let mut groups = vec![(0, None, hir.properties().maximum_len())];
        captures(&hir, &mut groups);
        let (literal, refs) = replacement_refs(replacement);
        let (mut fixed, mut unbounded) = (literal, 0usize);
        for r in refs {
            let group = groups.iter().find(|(index, name, _)| match &r {
                GroupRef::Index(i) => index == i,
                GroupRef::Name(n) => name.as_deref() == Some(n.as_str()),
            });
            match group {
                // A reference to no group expands to nothing.
                None => {}
                Some((_, _, Some(max))) => fixed = fixed.saturating_add(*max),
                Some((_, _, None)) => unbounded += 1,
            }
        }
        Ok(Growth {
            anchored: hir.properties().look_set_prefix().contains(Look::Start),
            to_end: runs_to_end(&hir),
            min_match: hir.properties().minimum_len().unwrap_or(0),
            fixed,
            unbounded,
        })
    }

    /// The longest a path of at most `len` bytes can be after the rule.
    fn bound(&self, len: usize) -> usize {
        // Matches do not overlap, and each starts at its own position.
        let matches = if self.anchored {
            1
        } else if self.to_end {
            // Then, at most an empty match at the very end.
            if self.min_match > 0 {
                1
            } else {
                2
            }
        } else {
            len.checked_div(self.min_match).unwrap_or(len + 1)
        };
        if self.unbounded > 0 {
            // Each match is replaced by at most `fixed` plus `unbounded`
            // copies of itself; all matches together are at most `len`.
            self.unbounded
                .saturating_mul(len)
                .saturating_add(matches.saturating_mul(self.fixed))
        } else {
            // Each match of at least `min_match` bytes becomes at most
            // `fixed` bytes.
            len.saturating_add(matches.saturating_mul(self.fixed.saturating_sub(self.min_match)))
        }
    }
}

/// Whether every match of `hir` ends at the end of a path without
/// newlines: it ends in a greedy unbounded repeat of any character.
fn runs_to_end(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Concat(list) => list.last().is_some_and(runs_to_end),
        HirKind::Capture(c) => runs_to_end(&c.sub),
        HirKind::Alternation(list) => list.iter().all(runs_to_end),
        HirKind::Repetition(r) if r.max.is_none() && r.greedy => match r.sub.kind() {
            // Everything, or everything but a newline: what it leaves out
            // is at most '\n'.
            HirKind::Class(Class::Unicode(c)) => {
                let mut left_out = c.clone();
                left_out.negate();
                left_out
                    .ranges()
                    .iter()
                    .all(|r| r.start() == '\n' && r.end() == '\n')
            }
            HirKind::Class(Class::Bytes(c)) => {
                let mut left_out = c.clone();
                left_out.negate();
                left_out
                    .ranges()
                    .iter()
                    .all(|r| r.start() == b'\n' && r.end() == b'\n')
            }
            _ => false,
        },
        _ => false,
    }
}

/// Every capture group of `hir`: (index, name, longest match).
fn captures(hir: &Hir, out: &mut Vec<(u32, Option<String>, Option<usize>)>) {
    match hir.kind() {
        HirKind::Capture(c) => {
            out.push((
                c.index,
                c.name.as_deref().map(str::to_string),
                c.sub.properties().maximum_len(),
            ));
            captures(&c.sub, out);
        }
        HirKind::Repetition(r) => captures(&r.sub, out),
        HirKind::Concat(list) | HirKind::Alternation(list) => {
            list.iter().for_each(|h| captures(h, out))
        }
        _ => {}
    }
}

#[derive(Debug, PartialEq, Eq)]
enum GroupRef {
    Index(u32),
    Name(String),
}

/// A replacement's literal bytes and group references, read as the regex
/// crate expands them: `$$` is `$`, `${name}` and `$name` (the longest
/// run of letters, digits and `_`; all digits is an index) are groups, and
/// a `$` followed by anything else is itself.
fn replacement_refs(rep: &str) -> (usize, Vec<GroupRef>) {
    let bytes = rep.as_bytes();
    let (mut literal, mut refs, mut i) = (0usize, Vec::new(), 0usize);
    let name_ref = |name: &str| match name.parse::<u32>() {
        Ok(n) => GroupRef::Index(n),
        Err(_) => GroupRef::Name(name.to_string()),
    };
    while i < bytes.len() {
        if bytes[i] != b'$' {
            literal += 1;
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                literal += 1;
                i += 2;
            }
            Some(b'{') => match rep[i + 2..].find('}') {
                Some(end) if end > 0 => {
                    refs.push(name_ref(&rep[i + 2..i + 2 + end]));
                    i += end + 3;
                }
                _ => {
                    literal += 1;
                    i += 1;
                }
            },
            _ => {
                let run = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                if run == 0 {
                    literal += 1;
                    i += 1;
                } else {
                    refs.push(name_ref(&rep[i + 1..i + 1 + run]));
                    i += run + 1;
                }
            }
        }
    }
    (literal, refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_raw_path_bound_is_the_collectors() {
        assert_eq!(RAW_PATH_BYTES, crate::ingest::payload::limits::URL);
    }

    #[test]
    fn replacements_read_like_the_regex_crate() {
        use GroupRef::*;
        assert_eq!(replacement_refs("/p/:id"), (6, vec![]));
        assert_eq!(replacement_refs("$1$1"), (0, vec![Index(1), Index(1)]));
        assert_eq!(
            replacement_refs("a${x}b$$c$y_1 $"),
            (6, vec![Name("x".into()), Name("y_1".into())])
        );
        assert_eq!(replacement_refs("${}"), (3, vec![]));
    }

    #[test]
    fn the_doubling_chain_is_refused_at_its_first_step_past_the_cap() {
        let bomb = vec![("^(.*)$".to_string(), "$1$1$1$1$1$1$1$1".to_string()); 20];
        let err = compile_rules(&bomb).unwrap_err();
        // 2048 → 16384 still fits; the second rule goes past it.
        assert!(err.starts_with("rule 1 "), "{err}");
        // An unanchored empty match with a literal grows at every position.
        let err = check_growth(&rules(&[("x*", "abcdefghij")])).unwrap_err();
        assert!(err.starts_with("rule 0 "), "{err}");
    }

    #[test]
    fn ordinary_rules_pass() {
        let ok = rules(&[
            (r"^/product/\d+", "/product/:id"),
            (r"\d+", ":id"),
            (r"[0-9a-f]{32}", ":hash"),
            (r"^/(?P<lang>en|de|fr)/(.*)$", "/$2?lang=$lang"),
            (r"^/blog/(\d{4})/\d{2}/(.*)", "/blog/$1/$2"),
            (r"\?q=.*", "?q=:term"),
        ]);
        compile_rules(&ok).unwrap();
    }

    #[test]
    fn growth_bounds_are_upper_bounds() {
        let cases = [
            ("^(.*)$", "$1$1", "/abc/def"),
            (r"\d+", ":id", "/1/2/3/4/5"),
            ("", "-", "/ab"),
            ("(b)", "$1$1$1", "/bbbbb"),
            (r"\?q=.*", "?q=:term:term", "/s?q=a?q=b"),
            ("(?s).*", "xy", "/abc"),
            (".*", "$0$0", "/abc"),
            (r"^/(\w+)", "/x/$1/$1", "/hello/world"),
        ];
        for (p, r, path) in cases {
            let out = Regex::new(p).unwrap().replace_all(path, r).len();
            let bound = Growth::of(p, r).unwrap().bound(path.len());
            assert!(out <= bound, "{p} → {r} on {path}: {out} > {bound}");
        }
    }

    #[test]
    fn too_many_or_too_costly_patterns_are_refused_fast() {
        let many = vec![(r"\w{100}N".to_string(), "x".to_string()); 1349];
        let t = std::time::Instant::now();
        let err = compile_rules(&many).unwrap_err();
        assert!(err.contains("more than the 100 allowed"), "{err}");
        let costly = vec![(r"\w{100}N".to_string(), "x".to_string()); 100];
        let err = compile_rules(&costly).unwrap_err();
        assert!(err.starts_with("rule "), "{err}");
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        let mut budget = PatternBudget::default();
        let err = budget.compile(&"a".repeat(2000)).unwrap_err();
        assert!(err.contains("bytes long"), "{err}");
        assert!(budget
            .compile("(")
            .unwrap_err()
            .contains("not a valid regex"));
    }

    #[test]
    fn a_bad_regex_says_what_and_where_on_one_line() {
        let err = PatternBudget::default().compile("^/a(b").unwrap_err();
        assert_eq!(err, "is not a valid regex: unclosed group at character 4");
        let err = PatternBudget::default().compile("[z-a]").unwrap_err();
        assert!(
            err.contains("at character 2") && !err.contains('\n'),
            "{err}"
        );
    }
}
