//! Prepares what a user typed for tantivy's query grammar.
//!
//! The grammar is good but has sharp edges for our values, so one pass over
//! the text, outside quotes, fixes them before parsing:
//!
//! * A value that starts with `/` (`page:/checkout`, `-exit:/thank-you`, a
//!   bare `/cart`) is a path here, but the grammar reads `/…/` as a regular
//!   expression, which can swallow the rest of the query
//!   (`page:/a OR exit:/` is one regex). Such values are quoted up to the
//!   next space or `)`; a trailing `*` stays outside the quotes, so
//!   `page:/product/*` is a prefix search.
//! * An apostrophe inside a word (`city:O'Fallon`) would open a quoted
//!   phrase: it is escaped.
//! * Lowercase `and`, `or`, `not` between terms become operators, as people
//!   type them in a search box.
//! * Unbalanced parentheses and quotes, too long and too deeply nested
//!   queries are reported here with a column, because the grammar's strict
//!   parser only says "no", and its nesting is recursive.

/// Longest query accepted, in bytes.
pub(crate) const MAX_QUERY_LEN: usize = 4096;
/// Deepest parenthesis nesting accepted, and most NOT operators: the
/// grammar recurses on both, and a deep recursion would overflow the stack.
pub(crate) const MAX_DEPTH: usize = 32;

/// The query rewritten for the grammar, or a one-line message.
pub(crate) fn prepare(input: &str) -> Result<String, String> {
    if input.len() > MAX_QUERY_LEN {
        return Err(format!(
            "the query is too long ({} bytes, at most {MAX_QUERY_LEN})",
            input.len()
        ));
    }
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len() + 8);
    // Columns (1-based, in characters) of the open parentheses.
    let mut open: Vec<usize> = Vec::new();
    let mut nots = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        let at_term_start = is_term_start(&chars, i);
        match c {
            '\\' => {
                out.push(c);
                if let Some(&next) = chars.get(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            '"' | '\'' if c == '"' || at_term_start => {
                let end = closing_quote(&chars, i)
                    .ok_or_else(|| format!("the quote {c} at column {col} is never closed"))?;
                out.extend(&chars[i..=end]);
                i = end + 1;
                continue;
            }
            '\'' => out.push_str("\\'"),
            '(' => {
                open.push(col);
                if open.len() > MAX_DEPTH {
                    return Err(format!(
                        "the query nests parentheses too deeply (at most {MAX_DEPTH})"
                    ));
                }
                out.push(c);
            }
            ')' => {
                if open.pop().is_none() {
                    return Err(format!("the ) at column {col} has no matching ("));
                }
                out.push(c);
            }
            '/' if at_term_start => {
                let end = value_end(&chars, i);
                quote_path(&chars[i..end], &mut out);
                i = end;
                continue;
            }
            _ if at_term_start && c.is_alphabetic() => {
                let end = (i..chars.len())
                    .find(|&j| !chars[j].is_alphabetic())
                    .unwrap_or(chars.len());
                let word: String = chars[i..end].iter().collect();
                // Each NOT is a level of the grammar's recursion, like a (.
                if word.eq_ignore_ascii_case("not") {
                    nots += 1;
                    if nots > MAX_DEPTH {
                        return Err(format!(
                            "the query has too many NOT operators (at most {MAX_DEPTH})"
                        ));
                    }
                }
                if let Some(op) = operator(&word, &chars, i, end) {
                    out.push_str(op);
                    i = end;
                    continue;
                }
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    if let Some(col) = open.pop() {
        return Err(format!("the ( at column {col} is never closed"));
    }
    Ok(out)
}

/// Whether a value may start at `i`: at the start, after a space, a `(`,
/// an occur sign at a term start, or a field's `:`.
fn is_term_start(chars: &[char], i: usize) -> bool {
    if i == 0 {
        return true;
    }
    match chars[i - 1] {
        c if c.is_whitespace() => true,
        '(' | ':' => true,
        '+' | '-' => is_term_start(chars, i - 1),
        _ => false,
    }
}

/// Index of the quote closing the one at `start` (backslash escapes skip).
fn closing_quote(chars: &[char], start: usize) -> Option<usize> {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Where an unquoted value starting at `start` ends: a space, a `)`, or the
/// end of the query.
fn value_end(chars: &[char], start: usize) -> usize {
    let mut i = start;
    while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ')' {
        if chars[i] == '\\' {
            i += 1;
        }
        i += 1;
    }
    i.min(chars.len())
}

/// Emits `"path"`, or `"prefix"*` for a trailing `*`.
fn quote_path(value: &[char], out: &mut String) {
    let (body, star) = match value.split_last() {
        Some(('*', body)) if !body.is_empty() => (body, true),
        _ => (value, false),
    };
    out.push('"');
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            // An escape the user typed keeps its meaning inside the quotes.
            '\\' if i + 1 < body.len() => {
                out.push('\\');
                out.push(body[i + 1]);
                i += 1;
            }
            '"' | '\\' => {
                out.push('\\');
                out.push(body[i]);
            }
            c => out.push(c),
        }
        i += 1;
    }
    out.push('"');
    if star {
        out.push('*');
    }
}

/// A lowercase `and`/`or` between two terms, or `not` before one, as the
/// grammar's uppercase operator.
fn operator(word: &str, chars: &[char], start: usize, end: usize) -> Option<&'static str> {
    let op = match word {
        "and" => "AND",
        "or" => "OR",
        "not" => "NOT",
        _ => return None,
    };
    // Something must follow, after whitespace.
    let followed = chars.get(end).is_some_and(|c| c.is_whitespace())
        && chars[end..].iter().any(|c| !c.is_whitespace());
    // `and`/`or` also need a term before them; a field value (`page:and`)
    // is never an operator.
    let preceded = start > 0
        && chars[start - 1].is_whitespace()
        && chars[..start].iter().any(|c| !c.is_whitespace());
    let ok = match op {
        "NOT" => {
            followed && (start == 0 || chars[start - 1].is_whitespace() || chars[start - 1] == '(')
        }
        _ => followed && preceded,
    };
    ok.then_some(op)
}

#[cfg(test)]
mod tests {
    use super::prepare;

    fn ok(q: &str) -> String {
        match prepare(q) {
            Ok(s) => s,
            Err(e) => panic!("{q}: {e}"),
        }
    }

    #[test]
    fn path_values_are_quoted() {
        assert_eq!(ok("page:/checkout"), r#"page:"/checkout""#);
        assert_eq!(ok("-page:/thank-you"), r#"-page:"/thank-you""#);
        assert_eq!(
            ok("page:/a OR exit:/"),
            r#"page:"/a" OR exit:"/""#,
            "a later / must not close a regex"
        );
        assert_eq!(ok("(page:/a OR /b)"), r#"(page:"/a" OR "/b")"#);
        assert_eq!(ok("page:/product/*"), r#"page:"/product/"*"#);
        assert_eq!(ok(r#"page:/say"hi""#), r#"page:"/say\"hi\"""#);
        assert_eq!(ok(r#"page:"/already quoted""#), r#"page:"/already quoted""#);
    }

    #[test]
    fn apostrophes_and_operators() {
        assert_eq!(ok("city:O'Fallon"), r"city:O\'Fallon");
        assert_eq!(ok("rage:true and country:se"), "rage:true AND country:se");
        assert_eq!(ok("a or b"), "a OR b");
        assert_eq!(ok("not a"), "NOT a");
        assert_eq!(ok("page:and"), "page:and");
        assert_eq!(ok("checkout and"), "checkout and");
        assert_eq!(ok("'two words'"), "'two words'");
    }

    #[test]
    fn balance_errors_name_the_column() {
        assert_eq!(
            prepare("(rage:true OR dead:true").unwrap_err(),
            "the ( at column 1 is never closed"
        );
        assert_eq!(
            prepare("rage:true)").unwrap_err(),
            "the ) at column 10 has no matching ("
        );
        assert_eq!(
            prepare("city:\"New York").unwrap_err(),
            "the quote \" at column 6 is never closed"
        );
        assert!(prepare(&"(".repeat(40)).unwrap_err().contains("too deeply"));
        assert!(prepare(&"NOT ".repeat(40))
            .unwrap_err()
            .contains("too many NOT"));
        assert!(prepare(&"a ".repeat(3000))
            .unwrap_err()
            .contains("too long"));
    }
}
