//! The demo shop as a browser lays it out: each page's layout (its DOM
//! after its own scripts ran, as the replay recorder stores it), its
//! document height at each width the demo's devices have, and the box,
//! text and tracker selector of every element a simulated visitor clicks.
//! The pages that show the cart are captured once per product in it (the
//! demo's visitors hold one), and the home page once more as it is after
//! the demo's planted change ([`Variant`]).
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
    /// With an empty cart, before the planted change.
    pages: HashMap<String, PageLayout>,
    /// After the planted change.
    changed: HashMap<String, PageLayout>,
    /// By the product in the cart: the pages that show it.
    carts: HashMap<u32, HashMap<String, PageLayout>>,
}

/// Which capture of a page a view shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Variant {
    /// The product in the visitor's cart, if any.
    pub cart: Option<u32>,
    /// Whether the demo's planted change had happened.
    pub changed: bool,
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

/// The layout of the page at `path` (the query is not part of the page)
/// as a view of `variant` shows it, if it was captured: the capture with
/// the cart's product for a page that shows the cart, the one after the
/// planted change for a page it changed, else the page's only one.
pub(crate) fn layout(path: &str, variant: Variant) -> Option<&'static PageLayout> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let with_cart = variant
        .cart
        .and_then(|sku| SHOP.carts.get(&sku))
        .and_then(|pages| pages.get(path));
    let changed = Some(&SHOP.changed)
        .filter(|_| variant.changed)
        .and_then(|pages| pages.get(path));
    with_cart.or(changed).or_else(|| SHOP.pages.get(path))
}

/// Whether a view of the page at `path` shows something of `variant`'s:
/// the cart's product, or the planted change (else its layout is the
/// page's only one, whatever the view).
pub(crate) fn varies(path: &str, variant: Variant) -> Variant {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    Variant {
        cart: variant
            .cart
            .filter(|sku| SHOP.carts.get(sku).is_some_and(|p| p.contains_key(path))),
        changed: variant.changed && SHOP.changed.contains_key(path),
    }
}

/// The layout of the page at `path` with an empty cart, before the planted
/// change.
pub(crate) fn page(path: &str) -> Option<&'static PageLayout> {
    layout(path, Variant::default())
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

    #[test]
    fn the_cart_pages_show_the_product_in_the_cart_and_the_home_page_its_change() {
        let with = |sku| Variant {
            cart: Some(sku),
            changed: false,
        };
        for path in ["/cart.html", "/checkout/payment.html", "/thank-you.html"] {
            let daypack = layout(path, with(105)).unwrap();
            let cap = layout(path, with(110)).unwrap();
            assert!(daypack.html.contains("Basecamp 28L Daypack"), "{path}");
            assert!(cap.html.contains("Trail Five-Panel Cap"), "{path}");
            assert!(!cap.html.contains("Basecamp 28L Daypack"), "{path}");
            assert_eq!(varies(path, with(105)), with(105));
        }
        // The order the thank-you page confirms.
        assert!(layout("/thank-you.html", with(107))
            .unwrap()
            .html
            .contains("$186.95"));
        // A page without the cart is the same capture whatever the cart.
        assert_eq!(varies("/product/101.html", with(105)), Variant::default());
        let changed = Variant {
            cart: None,
            changed: true,
        };
        let home = layout("/", changed).unwrap();
        assert!(home.html.contains("On sale this spring"));
        assert!(!page("/").unwrap().html.contains("On sale this spring"));
        assert_eq!(varies("/?utm_source=x", changed), changed);
        assert_eq!(varies("/cart.html", changed), Variant::default());
        assert!(home.target("#promo-banner", None).is_some());
    }
}
