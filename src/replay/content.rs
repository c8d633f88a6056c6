//! What a page says and how it is built, read from a stored layout, and
//! how much of that two layouts of one page differ in: what `changes`
//! records when a page's layout is replaced ("Shipping: $19.95" appeared
//! at the second checkout step), a short diff a person reads, and a share
//! a threshold holds.
//!
//! The text is the visible text nodes (not `<head>`, `<script>`,
//! `<style>`, `<template>` or `<noscript>`), one line per text node,
//! whitespace collapsed; the structure is the sequence of element names.
//! Both are compared as multisets: a line moved elsewhere is no change,
//! a line shown once more is.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use lol_html::{element, rewrite_str, text, RewriteStrSettings};

/// Lines listed per side of a diff.
pub const DIFF_LINES: usize = 5;
/// Characters kept of a listed line.
pub const LINE_CHARS: usize = 120;

/// A layout's text lines and element names, in document order. Read once,
/// when the layout is stored, and kept beside it (as JSON) for the reports
/// that compare layouts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Content {
    pub lines: Vec<String>,
    pub tags: Vec<String>,
}

/// How two layouts of one page differ.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentChange {
    /// Lines and elements not in both, over all of them in both (0: the
    /// same content and structure; 1: nothing in common): the larger of
    /// the text's share and the structure's.
    pub share: f64,
    /// Lines only the new layout has, in its order (at most
    /// [`DIFF_LINES`], each cut to [`LINE_CHARS`]).
    pub added: Vec<String>,
    /// Lines only the old layout had.
    pub removed: Vec<String>,
}

/// What a view showed that the view before it did not (`why`'s new
/// content): the lines only the later one has, and the share of the
/// earlier one's lines it still shows, which tells the same page (or a
/// step of the same form) with something new on it from another page.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLines {
    /// Of the earlier view's lines, the share still shown (1 when it had
    /// none).
    pub kept: f64,
    /// Lines only the later view has, in its order (at most
    /// [`DIFF_LINES`], each cut to [`LINE_CHARS`]).
    pub added: Vec<String>,
}

/// The share of an earlier view's lines a later view must still show for
/// what it adds to count as new content on the same page, not another
/// page.
pub const SAME_PAGE_KEPT: f64 = 0.5;

/// Elements whose text no visitor sees as the page.
const HIDDEN: &str = "head, script, style, template, noscript";

/// The text and structure of a layout's HTML (as the recorder stored it).
pub fn content(html: &str) -> Content {
    let lines = Rc::new(RefCell::new(Vec::<String>::new()));
    let tags = Rc::new(RefCell::new(Vec::<String>::new()));
    let hidden = Rc::new(RefCell::new(0usize));
    let current = Rc::new(RefCell::new(String::new()));
    let (l, t, h, c) = (lines.clone(), tags.clone(), hidden.clone(), current.clone());
    let (h2, h3) = (hidden.clone(), hidden.clone());
    let settings = RewriteStrSettings {
        element_content_handlers: vec![
            element!("*", move |el| {
                t.borrow_mut().push(el.tag_name());
                Ok(())
            }),
            // Hidden elements count while open: their text is skipped.
            element!(HIDDEN, move |el| {
                *h2.borrow_mut() += 1;
                let h = h3.clone();
                if let Some(handlers) = el.end_tag_handlers() {
                    handlers.push(
                        Box::new(move |_end: &mut lol_html::html_content::EndTag<'_>| {
                            let mut n = h.borrow_mut();
                            *n = n.saturating_sub(1);
                            Ok(())
                        }) as _,
                    );
                } else {
                    // A void element has no end: nothing inside it.
                    let mut n = h3.borrow_mut();
                    *n = n.saturating_sub(1);
                }
                Ok(())
            }),
            text!("*", move |chunk| {
                if *h.borrow() == 0 {
                    c.borrow_mut().push_str(chunk.as_str());
                }
                if chunk.last_in_text_node() {
                    // As written in the HTML: entities decoded (a text
                    // that does not decode is kept as written).
                    let raw = c.borrow().clone();
                    let decoded = htmlescape::decode_html(&raw).unwrap_or(raw);
                    let line = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
                    c.borrow_mut().clear();
                    if !line.is_empty() {
                        l.borrow_mut().push(line);
                    }
                }
                Ok(())
            }),
        ],
        ..RewriteStrSettings::new()
    };
    // A layout that does not parse has no content to compare.
    if rewrite_str(html, settings).is_err() {
        return Content::default();
    }
    let lines = lines.borrow().clone();
    let tags = tags.borrow().clone();
    Content { lines, tags }
}

/// How `new` differs from `old`.
pub fn compare(old: &Content, new: &Content) -> ContentChange {
    let (removed, added) = only_in_each(&old.lines, &new.lines);
    let (tags_removed, tags_added) = only_in_each(&old.tags, &new.tags);
    let share = |gone: usize, came: usize, a: usize, b: usize| {
        if a + b == 0 {
            0.0
        } else {
            (gone + came) as f64 / (a + b) as f64
        }
    };
    let text = share(removed.len(), added.len(), old.lines.len(), new.lines.len());
    let structure = share(
        tags_removed.len(),
        tags_added.len(),
        old.tags.len(),
        new.tags.len(),
    );
    ContentChange {
        share: text.max(structure),
        added: listed(added),
        removed: listed(removed),
    }
}

/// What `later` shows that `earlier` did not, by text lines (multisets, as
/// [`compare`]).
pub fn new_lines(earlier: &[String], later: &[String]) -> NewLines {
    let (gone, added) = only_in_each(earlier, later);
    let kept = if earlier.is_empty() {
        1.0
    } else {
        (earlier.len() - gone.len()) as f64 / earlier.len() as f64
    };
    NewLines {
        kept,
        added: listed(added),
    }
}

/// The first [`DIFF_LINES`] lines, each cut to [`LINE_CHARS`].
fn listed(lines: Vec<&String>) -> Vec<String> {
    lines
        .into_iter()
        .take(DIFF_LINES)
        .map(|l| match l.char_indices().nth(LINE_CHARS) {
            Some((end, _)) => format!("{}…", &l[..end]),
            None => l.clone(),
        })
        .collect()
}

/// The items of `a` not matched in `b` and of `b` not matched in `a`,
/// as multisets, each in its own order.
fn only_in_each<'a>(a: &'a [String], b: &'a [String]) -> (Vec<&'a String>, Vec<&'a String>) {
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for x in a {
        *counts.entry(x).or_default() += 1;
    }
    for x in b {
        *counts.entry(x).or_default() -= 1;
    }
    // Positive: more in a; negative: more in b. Hand out the surplus in
    // document order.
    let mut left = counts.clone();
    let only_a = a
        .iter()
        .filter(|x| {
            let n = left.get_mut(x.as_str()).expect("counted");
            let keep = *n > 0;
            if keep {
                *n -= 1;
            }
            keep
        })
        .collect();
    let mut left = counts;
    let only_b = b
        .iter()
        .filter(|x| {
            let n = left.get_mut(x.as_str()).expect("counted");
            let keep = *n < 0;
            if keep {
                *n += 1;
            }
            keep
        })
        .collect();
    (only_a, only_b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"<!DOCTYPE html><html><head><title>Shipping</title>
        <style>.x { color: red }</style></head><body><h1>Shipping</h1>
        <p>Standard   delivery:
        free</p><script>var secret = 1;</script><button>Continue</button>
        <p>&lt;b&gt; &amp; more</p></body></html>"#;

    #[test]
    fn the_visible_text_is_read_line_by_line() {
        let c = content(OLD);
        assert_eq!(
            c.lines,
            [
                "Shipping",
                "Standard delivery: free",
                "Continue",
                "<b> & more"
            ]
        );
        assert!(c
            .tags
            .starts_with(&["html".to_string(), "head".to_string()]));
        assert!(c.tags.contains(&"button".to_string()));
    }

    #[test]
    fn a_new_shipping_cost_is_a_change_and_a_moved_line_is_not() {
        let new = OLD.replace("free", "$19.95");
        let ch = compare(&content(OLD), &content(&new));
        assert_eq!(ch.added, ["Standard delivery: $19.95"]);
        assert_eq!(ch.removed, ["Standard delivery: free"]);
        assert!((ch.share - 2.0 / 8.0).abs() < 1e-9, "{}", ch.share);
        let same = compare(&content(OLD), &content(OLD));
        assert_eq!((same.share, same.added.len()), (0.0, 0));
        // The same lines in another order: no text change.
        let a = Content {
            lines: vec!["a".into(), "b".into(), "b".into()],
            tags: vec![],
        };
        let b = Content {
            lines: vec!["b".into(), "a".into(), "b".into()],
            tags: vec![],
        };
        assert_eq!(compare(&a, &b).share, 0.0);
        let c = Content {
            lines: vec!["b".into(), "a".into()],
            tags: vec![],
        };
        let ch = compare(&a, &c);
        assert_eq!((ch.removed.len(), ch.added.len()), (1, 0));
    }

    #[test]
    fn new_lines_tell_something_new_on_a_page_from_another_page() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // The second checkout step: the order summary stays, a cost appears.
        let address = lines(&["Checkout", "Daypack $89", "Subtotal $89", "Street"]);
        let shipping = lines(&["Checkout", "Daypack $89", "Subtotal $89", "Shipping $19.95"]);
        let n = new_lines(&address, &shipping);
        assert_eq!(n.added, ["Shipping $19.95"]);
        assert!((n.kept - 0.75).abs() < 1e-9 && n.kept >= SAME_PAGE_KEPT);
        // Another page altogether: most of what was there is gone.
        let home = lines(&["Shop", "Sale", "Boots", "Bags"]);
        assert!(new_lines(&home, &shipping).kept < SAME_PAGE_KEPT);
        // Nothing new: nothing added, everything kept.
        let same = new_lines(&shipping, &shipping);
        assert_eq!((same.kept, same.added.len()), (1.0, 0));
        assert_eq!(new_lines(&[], &home).kept, 1.0);
    }

    #[test]
    fn long_lines_are_cut_and_lists_bounded() {
        let long = "x".repeat(500);
        let old = Content::default();
        let new = Content {
            lines: (0..20).map(|i| format!("{long}{i}")).collect(),
            tags: vec![],
        };
        let ch = compare(&old, &new);
        assert_eq!(ch.added.len(), DIFF_LINES);
        assert_eq!(ch.added[0].chars().count(), LINE_CHARS + 1);
        assert_eq!(ch.share, 1.0);
    }
}
