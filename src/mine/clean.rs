//! Path cleaning: many raw paths are one page to a product team
//! (`/product/123` and `/product/456` are "the product page"). A site's
//! ordered rules rewrite paths by regex; trailing slashes are merged
//! (`/cart/` is `/cart`); consecutive repeats are collapsed later, on the
//! journey. Query strings are dropped at ingest, but for the parameters a
//! site keeps (`/search?q=shoes`): those are part of the page, and rules
//! may rewrite them like the path (`\?q=.*` → `?q=:term`).
//! Cleaning maps raw page ids to cleaned ones once per query, so the cost
//! is per distinct page, not per page view. Rules are compiled within the
//! budgets of [`super::budget`], and a cleaned path never grows past
//! [`budget::Budgets::max_path_kib`]: rules that could make it are refused when they are
//! set, and a path that reaches it anyway (rules stored before the budget)
//! is cut there rather than grown.

use regex::Regex;
use rustc_hash::FxHashMap;

use super::budget::{self, budgets};
use super::cancel::Cancel;
use super::PageId;

/// One rewrite: every match of `pattern` becomes `replacement` (`$1` etc.
/// refer to groups).
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub pattern: Regex,
    pub replacement: String,
}

/// A site's rules, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cleaner {
    rules: Vec<Rule>,
}

impl Cleaner {
    /// Compiles `(pattern, replacement)` pairs within the budgets
    /// ([`budget::compile_rules`]); the error names the rule.
    pub(crate) fn new(rules: &[(String, String)]) -> Result<Cleaner, String> {
        let compiled = budget::compile_rules(rules)?;
        let rules = compiled
            .into_iter()
            .zip(rules)
            .map(|(pattern, (_, r))| Rule {
                pattern,
                replacement: r.clone(),
            })
            .collect();
        Ok(Cleaner { rules })
    }

    /// The cleaned form of a path, at most [`budget::Budgets::max_path_kib`] long.
    pub(crate) fn clean(&self, path: &str) -> String {
        let mut out = cut(path.to_string());
        for rule in &self.rules {
            if rule.pattern.is_match(&out) {
                let (replaced, full) = replace_within(&rule.pattern, &out, &rule.replacement);
                out = replaced;
                if full {
                    // The rules that follow would only work on a cut path.
                    break;
                }
            }
        }
        // Slashes merge on the path, before any kept query.
        let (path, query) = match out.find('?') {
            Some(q) => out.split_at(q),
            None => (out.as_str(), ""),
        };
        let path = path.trim_end_matches('/');
        let path = if path.is_empty() { "/" } else { path };
        format!("{path}{query}")
    }
}

/// `path` cut to at most [`budget::Budgets::max_path_kib`], on a character boundary.
fn cut(mut path: String) -> String {
    let max = budgets().max_path_bytes();
    if path.len() > max {
        let mut end = max;
        while !path.is_char_boundary(end) {
            end -= 1;
        }
        path.truncate(end);
    }
    path
}

/// `Regex::replace_all`, but the output stops growing at
/// [`budget::Budgets::max_path_kib`] (whatever the rule, memory stays bounded by that and
/// one expansion); returns the output and whether it was cut.
fn replace_within(pattern: &Regex, text: &str, replacement: &str) -> (String, bool) {
    let max = budgets().max_path_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in pattern.captures_iter(text) {
        let m = caps.get(0).expect("group 0 is the match");
        out.push_str(&text[last..m.start()]);
        caps.expand(replacement, &mut out);
        last = m.end();
        if out.len() > max {
            return (cut(out), true);
        }
    }
    out.push_str(&text[last..]);
    let full = out.len() > max;
    (cut(out), full)
}

/// Raw page ids mapped to cleaned ones, and the cleaned pages' names.
/// Cleaned ids are dense, from 1 (0 is reserved as "no page").
#[derive(Debug, Clone, Default)]
pub(crate) struct PageMap {
    clean_of: FxHashMap<u32, PageId>,
    names: Vec<String>,
}

impl PageMap {
    /// Cleans every raw page `(id, path)` of a site.
    #[cfg(test)]
    pub(crate) fn build(pages: &[(u32, String)], cleaner: &Cleaner) -> PageMap {
        PageMap::build_until(pages, cleaner, &Cancel::never())
    }

    /// [`PageMap::build`], leaving the pages not yet cleaned out when
    /// `cancel` says so (the caller then discards the map).
    pub(crate) fn build_until(
        pages: &[(u32, String)],
        cleaner: &Cleaner,
        cancel: &Cancel,
    ) -> PageMap {
        let mut by_name: FxHashMap<String, PageId> = FxHashMap::default();
        let mut map = PageMap {
            clean_of: FxHashMap::default(),
            names: vec![String::new()],
        };
        // Sorted so cleaned ids do not depend on the store's order.
        let mut sorted: Vec<&(u32, String)> = pages.iter().collect();
        sorted.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        let mut ticker = cancel.ticker();
        for (raw, path) in sorted {
            if ticker.stop() {
                break;
            }
            let clean = cleaner.clean(path);
            let id = *by_name.entry(clean.clone()).or_insert_with(|| {
                map.names.push(clean);
                (map.names.len() - 1) as PageId
            });
            map.clean_of.insert(*raw, id);
        }
        map
    }

    /// The cleaned id of a raw page id (0 if unknown).
    #[cfg(test)]
    pub(crate) fn clean(&self, raw: u32) -> PageId {
        self.clean_of.get(&raw).copied().unwrap_or(0)
    }

    /// The cleaned id of every raw id, indexed by raw id (0 where a raw id
    /// is not this site's): one array lookup per page view instead of a
    /// hash lookup.
    pub(crate) fn dense(&self) -> Vec<PageId> {
        let len = self.clean_of.keys().max().map_or(0, |m| *m as usize + 1);
        let mut dense = vec![0; len];
        for (raw, clean) in &self.clean_of {
            dense[*raw as usize] = *clean;
        }
        dense
    }

    /// The raw page ids that clean to `clean`.
    pub(crate) fn raw_ids(&self, clean: PageId) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .clean_of
            .iter()
            .filter(|(_, c)| **c == clean)
            .map(|(raw, _)| *raw)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The cleaned page of a path, if any raw page cleans to it.
    pub(crate) fn id_of(&self, clean_path: &str) -> Option<PageId> {
        self.names
            .iter()
            .position(|n| n == clean_path)
            .map(|i| i as PageId)
    }

    /// Cleaned pages whose name matches `pattern`.
    #[cfg(test)]
    pub(crate) fn matching(&self, pattern: &Regex) -> Vec<PageId> {
        self.matching_until(pattern, &Cancel::never())
    }

    /// [`PageMap::matching`], stopping early when `cancel` says so.
    pub(crate) fn matching_until(&self, pattern: &Regex, cancel: &Cancel) -> Vec<PageId> {
        let mut ticker = cancel.ticker();
        (1..self.names.len())
            .take_while(|_| !ticker.stop())
            .filter(|i| pattern.is_match(&self.names[*i]))
            .map(|i| i as PageId)
            .collect()
    }

    pub(crate) fn name(&self, id: PageId) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }

    /// How many cleaned pages there are, plus one (ids are below this).
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[(&str, &str)]) -> Cleaner {
        let owned: Vec<(String, String)> = list
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Cleaner::new(&owned).unwrap()
    }

    #[test]
    fn rules_apply_in_order_and_slashes_merge() {
        let c = rules(&[
            (r"^/product/\d+", "/product/:id"),
            (r"^/product/:id/reviews$", "/product/:id"),
        ]);
        assert_eq!(c.clean("/product/123"), "/product/:id");
        assert_eq!(c.clean("/product/9/reviews"), "/product/:id");
        assert_eq!(c.clean("/cart/"), "/cart");
        assert_eq!(c.clean("/"), "/");
        assert_eq!(c.clean("//"), "/");
        assert_eq!(c.clean("/search/?q=a/"), "/search?q=a/");
        assert_eq!(c.clean("/?q=a"), "/?q=a");
    }

    #[test]
    fn a_bad_rule_names_itself() {
        let err = Cleaner::new(&[("ok".into(), "x".into()), ("(".into(), "y".into())]).unwrap_err();
        assert!(err.starts_with("rule 1"), "{err}");
    }

    #[test]
    fn a_path_stops_growing_at_the_cap() {
        // As a rule stored before the budget would: it is not checked here.
        let bomb = Cleaner {
            rules: vec![
                Rule {
                    pattern: Regex::new("^(.*)$").unwrap(),
                    replacement: "$1$1$1$1$1$1$1$1".into(),
                };
                20
            ],
        };
        let out = bomb.clean("/abcdefgh");
        assert!(
            out.len() <= budgets().max_path_bytes() && out.len() > budgets().max_path_bytes() - 9
        );
        let wide = Cleaner {
            rules: vec![Rule {
                pattern: Regex::new("").unwrap(),
                replacement: "é".repeat(500),
            }],
        };
        let out = wide.clean(&"/x".repeat(1000));
        assert!(out.len() <= budgets().max_path_bytes(), "{}", out.len());
        assert_eq!(
            cut("é".repeat(budgets().max_path_bytes())).len(),
            budgets().max_path_bytes()
        );
    }

    #[test]
    fn raw_pages_map_to_dense_cleaned_ids() {
        let c = rules(&[(r"^/p/\d+$", "/p/:id")]);
        let pages = vec![
            (10, "/p/1".to_string()),
            (11, "/p/2".to_string()),
            (12, "/cart/".to_string()),
            (13, "/cart".to_string()),
        ];
        let m = PageMap::build(&pages, &c);
        assert_eq!(m.len(), 3);
        assert_eq!(m.clean(10), m.clean(11));
        assert_eq!(m.clean(12), m.clean(13));
        assert_ne!(m.clean(10), m.clean(12));
        assert_eq!(m.name(m.clean(10)), "/p/:id");
        assert_eq!(m.id_of("/cart"), Some(m.clean(13)));
        assert_eq!(m.matching(&Regex::new("^/p").unwrap()), vec![m.clean(10)]);
        assert_eq!(m.clean(99), 0);
    }
}
