//! The demo shop as a browser lays it out: each page's layout (its DOM
//! after its own scripts ran, as the replay recorder stores it), its
//! document height at each width the demo's devices have, and the box,
//! text and tracker selector of every element a simulated visitor clicks.
//!
//! Why: a heatmap is only believable when its clicks sit on the elements
//! they name. Nothing here lays out HTML, so the boxes were measured in
//! Chromium by `examples/storefront/capture.mjs` and committed as
//! `shop_layouts.json`; rerun it after changing the shop or the targets.
//! tests/browser.rs checks the demo's stored clicks against the stored
//! layouts in a real browser.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// The measured shop, parsed once.
static SHOP: LazyLock<ShopLayouts> = LazyLock::new(|| {
    serde_json::from_str(include_str!("shop_layouts.json"))
        .expect("src/demo/shop_layouts.json is the output of capture.mjs")
});

#[derive(Deserialize)]
struct ShopLayouts {
    pages: HashMap<String, PageLayout>,
}

/// One page of the shop, laid out at every device width.
#[derive(Deserialize)]
pub(crate) struct PageLayout {
    /// The DOM as the recorder stores it, scripts removed.
    pub html: String,
    /// Document height by viewport width.
    dh: HashMap<u32, u32>,
    pub targets: Vec<Target>,
}

/// An element the personas click.
#[derive(Deserialize)]
pub(crate) struct Target {
    /// The CSS query that found it (`a.card-link` for every card).
    pub query: String,
    /// Its selector as t.js computes it.
    pub sel: String,
    /// The path its link goes to, if it is (in) a link.
    pub href: Option<String>,
    /// Its text as t.js reads it; `None` for typed-in areas.
    pub text: Option<String>,
    /// Its box in document px (left, top, width, height) by viewport
    /// width; absent where it is hidden at that width.
    at: HashMap<u32, [f64; 4]>,
}

impl Target {
    /// The box at viewport width `vw`.
    pub(crate) fn at(&self, vw: u32) -> Option<[f64; 4]> {
        self.at.get(&vw).copied()
    }
}

impl PageLayout {
    /// The document height at viewport width `vw`, or at the nearest width
    /// measured (crawlers report other widths).
    pub(crate) fn height(&self, vw: u32) -> u32 {
        self.dh
            .iter()
            .min_by_key(|(w, _)| w.abs_diff(vw))
            .map_or(2400, |(_, h)| *h)
    }

    /// The target found by `query`, for link targets the one going to
    /// `href`.
    pub(crate) fn target(&self, query: &str, href: Option<&str>) -> Option<&Target> {
        self.targets
            .iter()
            .find(|t| t.query == query && (href.is_none() || t.href.as_deref() == href))
    }

    /// Where the page's product cards go.
    pub(crate) fn card_links(&self) -> Vec<&str> {
        self.targets
            .iter()
            .filter(|t| t.query == CARD)
            .filter_map(|t| t.href.as_deref())
            .collect()
    }
}

/// The query of the product cards' links.
pub(crate) const CARD: &str = "a.card-link";

/// The layout of the page at `path` (the query is not part of the page),
/// if it was captured.
pub(crate) fn page(path: &str) -> Option<&'static PageLayout> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    SHOP.pages.get(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_a_visitor_sees_is_measured_at_every_width() {
        for path in [
            "/",
            "/product/105.html?utm_source=x",
            "/gifts/who",
            "/cart.html",
        ] {
            let p = page(path).unwrap_or_else(|| panic!("{path} is not captured"));
            assert!(p.html.contains("<body"), "{path}");
            assert!(!p.html.contains("<script"), "{path}: scripts stay out");
            for w in [1280, 1440, 1920, 390, 412, 820] {
                assert!(p.height(w) >= 800, "{path} at {w}");
            }
        }
        let cart = page("/cart.html").unwrap();
        let checkout = cart.target("#checkout", None).unwrap();
        assert_eq!(checkout.text.as_deref(), Some("Checkout"));
        // Phones stack the summary under the items.
        assert!(checkout.at(390).unwrap()[1] > checkout.at(1280).unwrap()[1]);
        assert!(!page("/category/bags.html").unwrap().card_links().is_empty());
    }
}
