//! `why`'s new content: what the exit view of a session that left showed
//! and the view before it did not, read from the replay recorder's layouts
//! (which layout each page view showed, [`crate::store::layouts`]'s
//! `view_layouts`, and each layout's text, read once when it was stored).
//!
//! The view before is the previous view of the same page when the session
//! had one (the layout changed under a visitor who came back), else the
//! view just before (a step of a form that shows something new: a shipping
//! cost at the second checkout step). What the exit view adds counts as new
//! content only while it still shows at least
//! [`content::SAME_PAGE_KEPT`] of the earlier view's lines; a different
//! page altogether is not news.
//!
//! A shop's header, menu and footer are on every page, and would make any
//! two pages look alike: the lines on most of the latest layouts of the
//! site's recently seen pages ([`CHROME_PAGES`] of them, when at least
//! [`CHROME_MIN_PAGES`] have one) are the site's chrome, left out of both
//! sides before they are compared.
//!
//! Only the sessions that left are read (two keyed reads each), each
//! layout's text once and each pair of layouts compared once per answer,
//! and a site without layouts costs one read.

use std::rc::Rc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::layouts::stored_content;
use super::Result;
use crate::mine::cancel::Cancel;
use crate::replay::content;
use crate::store::layouts::{self, ViewLayout};

/// Per session whose exit view showed something new: the lines it added
/// (at most [`content::DIFF_LINES`]).
pub(crate) type NewContent = FxHashMap<i64, Vec<String>>;

/// Pages whose latest layouts tell the site's chrome.
pub(crate) const CHROME_PAGES: usize = 50;
/// Fewer pages with a layout than this: no chrome is told.
pub(crate) const CHROME_MIN_PAGES: usize = 3;

/// The lines on more than half of the latest layouts of the site's
/// recently seen pages.
fn chrome(conn: &rusqlite::Connection, site_id: i64) -> Result<FxHashSet<String>> {
    let hashes = layouts::recent_pages(conn, site_id, CHROME_PAGES)?;
    let mut on: FxHashMap<String, usize> = FxHashMap::default();
    let mut pages = 0;
    for hash in hashes {
        let Some(c) = stored_content(conn, site_id, &hash)? else {
            continue;
        };
        pages += 1;
        let once: FxHashSet<String> = c.lines.into_iter().collect();
        for line in once {
            *on.entry(line).or_default() += 1;
        }
    }
    if pages < CHROME_MIN_PAGES {
        return Ok(FxHashSet::default());
    }
    Ok(on
        .into_iter()
        .filter(|(_, n)| *n * 2 > pages)
        .map(|(line, _)| line)
        .collect())
}

/// Whether any page view of the site has a layout (else there is no
/// evidence to read, and `why` walks its sessions once).
pub(crate) fn any(conn: &rusqlite::Connection, site_id: i64) -> Result<bool> {
    Ok(layouts::any_view(conn, site_id)?)
}

/// The sessions of `sessions` whose exit view showed something new.
pub(crate) fn find(
    conn: &rusqlite::Connection,
    site_id: i64,
    sessions: &[i64],
    cancel: &Cancel,
) -> Result<NewContent> {
    let chrome = chrome(conn, site_id)?;
    let mut texts: FxHashMap<String, Option<Rc<Vec<String>>>> = FxHashMap::default();
    let mut pairs: FxHashMap<(String, String), Option<Vec<String>>> = FxHashMap::default();
    let mut out = NewContent::default();
    for (i, id) in sessions.iter().enumerate() {
        if i % 1024 == 0 {
            cancel.check()?;
        }
        let Some((page_count, views)) = layouts::views_of(conn, site_id, *id)? else {
            continue;
        };
        let Some((before, exit)) = compared_views(page_count, &views) else {
            continue;
        };
        let key = (before.hash.clone(), exit.hash.clone());
        let added = match pairs.get(&key) {
            Some(added) => added.clone(),
            None => {
                let mut text = |hash: &str| -> Result<Option<Rc<Vec<String>>>> {
                    if let Some(t) = texts.get(hash) {
                        return Ok(t.clone());
                    }
                    let t = stored_content(conn, site_id, hash)?.map(|c| {
                        let own = c.lines.into_iter().filter(|l| !chrome.contains(l));
                        Rc::new(own.collect())
                    });
                    texts.insert(hash.to_string(), t.clone());
                    Ok(t)
                };
                let added = match (text(&before.hash)?, text(&exit.hash)?) {
                    (Some(a), Some(b)) => {
                        let n = content::new_lines(&a, &b);
                        (!n.added.is_empty() && n.kept >= content::SAME_PAGE_KEPT)
                            .then_some(n.added)
                    }
                    // A layout no longer stored (the quota made room): no
                    // evidence either way.
                    _ => None,
                };
                pairs.insert(key, added.clone());
                added
            }
        };
        if let Some(added) = added {
            out.insert(*id, added);
        }
    }
    Ok(out)
}

/// The exit view and the view it is held against, when the exit view (the
/// session's last of `page_count`) has a layout and so does the earlier
/// one, and the two differ.
fn compared_views(page_count: u32, views: &[ViewLayout]) -> Option<(&ViewLayout, &ViewLayout)> {
    let (exit, earlier) = views.split_last()?;
    if exit.view + 1 != page_count {
        return None;
    }
    let same_page = earlier
        .iter()
        .rev()
        .find(|v| v.page_id.is_some() && v.page_id == exit.page_id);
    let before = same_page.or_else(|| earlier.last().filter(|v| v.view + 1 == exit.view))?;
    (before.hash != exit.hash).then_some((before, exit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(view: u32, page: u32, hash: &str) -> ViewLayout {
        ViewLayout {
            view,
            page_id: Some(page),
            hash: hash.into(),
        }
    }

    #[test]
    fn the_exit_view_is_held_against_the_same_page_else_the_view_before() {
        // Cart (1), address (2), shipping (3): the step before.
        let steps = [view(0, 1, "c"), view(1, 2, "a"), view(2, 3, "s")];
        let (before, exit) = compared_views(3, &steps).unwrap();
        assert_eq!((before.hash.as_str(), exit.hash.as_str()), ("a", "s"));
        // Back on the cart, which shows another layout now: the cart before.
        let back = [view(0, 1, "c1"), view(1, 2, "a"), view(2, 1, "c2")];
        let (before, _) = compared_views(3, &back).unwrap();
        assert_eq!(before.hash, "c1");
        // The same layout as then: nothing new to compare.
        let same = [view(0, 1, "c"), view(1, 2, "a"), view(2, 1, "c")];
        assert!(compared_views(3, &same).is_none());
        // The exit view has no layout (the last view is 3, not 2).
        assert!(compared_views(4, &steps).is_none());
        // No layout for the view just before, nor for the page earlier.
        let gap = [view(0, 1, "c"), view(2, 3, "s")];
        assert!(compared_views(3, &gap).is_none());
        assert!(compared_views(1, &[view(0, 1, "c")]).is_none());
    }
}
