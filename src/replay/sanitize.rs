//! Makes a stored layout safe to show: the recorder strips scripts in the
//! browser, but a layout is whatever a client sent, so the server strips
//! again before it shows one. Removed: elements that run or embed things
//! (scripts, frames, objects, refresh metas, preload links), every
//! `on*` handler attribute, and every URL attribute that does not point
//! at one of the site's registered origins (or, for images, a `data:`
//! image): a hostile layout cannot reach the dashboard's origin or any
//! other server through its markup. The page's own `<base>` is replaced
//! by one naming the page it was captured on, so relative URLs resolve to
//! the shop. The frame's Content-Security-Policy is the second wall, for
//! what markup rewriting cannot see (CSS `url()`s).

use lol_html::html_content::{ContentType, Element};
use lol_html::{element, rewrite_str, RewriteStrSettings};
use url::Url;

/// Elements removed with their content.
const REMOVED: &str = "script, noscript, iframe, frame, frameset, object, embed, applet, portal, \
    base, meta[http-equiv], template, svg script, svg foreignObject, math";

/// Attributes that hold one URL.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "poster",
    "data",
    "background",
    "xlink:href",
    "ping",
    "cite",
    "longdesc",
    "manifest",
    "codebase",
    "lowsrc",
    "dynsrc",
];

/// Whether a `data:` URL's body (`image/png;base64,...`) names an image type.
fn is_image_type(body: &str) -> bool {
    body.get(..6)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("image/"))
}

/// Which URLs a layout may keep.
struct Allowed<'a> {
    base: &'a Url,
    origins: &'a [String],
}

impl Allowed<'_> {
    /// The absolute form of `value` if it may stay, else `None`.
    fn url(&self, value: &str, image: bool) -> Option<String> {
        let value = value.trim();
        if value.starts_with('#') {
            return Some(value.to_string());
        }
        let url = self.base.join(value).ok()?;
        match url.scheme() {
            "http" | "https" => {
                let origin = url.origin().ascii_serialization();
                self.origins.contains(&origin).then(|| url.to_string())
            }
            // The media type is read from the parsed URL, never by byte
            // offsets into the visitor's text (which may split a character).
            "data" if image && is_image_type(url.path()) => Some(value.to_string()),
            _ => None,
        }
    }

    /// A `srcset` with only the candidates that may stay.
    fn srcset(&self, value: &str) -> Option<String> {
        let kept: Vec<String> = value
            .split(',')
            .filter_map(|candidate| {
                let mut parts = candidate.split_whitespace();
                let url = self.url(parts.next()?, true)?;
                let descriptor: Vec<&str> = parts.collect();
                Some(if descriptor.is_empty() {
                    url
                } else {
                    format!("{url} {}", descriptor.join(" "))
                })
            })
            .collect();
        (!kept.is_empty()).then(|| kept.join(", "))
    }

    fn clean(&self, el: &mut Element<'_, '_>) {
        let tag = el.tag_name();
        let image = matches!(tag.as_str(), "img" | "image" | "source" | "input" | "video");
        let names: Vec<String> = el.attributes().iter().map(|a| a.name()).collect();
        for name in names {
            let lower = name.to_ascii_lowercase();
            let value = el.get_attribute(&name).unwrap_or_default();
            let keep = if lower.starts_with("on") {
                None
            } else if lower == "srcset" || lower == "imagesrcset" {
                self.srcset(&value)
            } else if URL_ATTRIBUTES.contains(&lower.as_str()) {
                self.url(&value, image || lower == "poster")
            } else if lower == "style" && value.to_ascii_lowercase().contains("expression(") {
                None
            } else {
                continue;
            };
            match keep {
                Some(v) => {
                    let _ = el.set_attribute(&name, &v);
                }
                None => el.remove_attribute(&name),
            }
        }
        if tag == "link" {
            let rel = el
                .get_attribute("rel")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let harmless = rel
                .split_whitespace()
                .all(|r| matches!(r, "stylesheet" | "icon" | "shortcut" | "apple-touch-icon"));
            if !harmless {
                el.remove();
            }
        }
    }
}

/// The layout `html`, captured at `page_url`, with only what may be shown
/// and a `<base>` naming the page. `origins` are the site's registered
/// origins (`scheme://host[:port]`).
pub fn sanitize(html: &str, page_url: &str, origins: &[String]) -> String {
    let fallback = origins
        .first()
        .and_then(|o| Url::parse(o).ok())
        .unwrap_or_else(|| Url::parse("https://invalid.invalid/").expect("a valid URL"));
    let base = Url::parse(page_url)
        .ok()
        .filter(|u| {
            origins
                .iter()
                .any(|o| *o == u.origin().ascii_serialization())
        })
        .unwrap_or(fallback);
    let allowed = Allowed {
        base: &base,
        origins,
    };
    let base_tag = format!(
        "<base href=\"{}\">",
        base.as_str().replace('&', "&amp;").replace('"', "&quot;")
    );
    let result = rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!(REMOVED, |el| {
                    el.remove();
                    Ok(())
                }),
                element!("head", |el| {
                    el.prepend(&base_tag, ContentType::Html);
                    Ok(())
                }),
                element!("*", |el| {
                    allowed.clean(el);
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    );
    // The rewriter fails only on markup it cannot tokenise: show nothing
    // rather than something unchecked.
    result.unwrap_or_else(|_| {
        "<!DOCTYPE html><html><body><p>This layout could not be shown.</p></body></html>".into()
    })
}

/// The Content-Security-Policy of a layout frame: a sandbox (opaque
/// origin, no scripts, no forms, no navigation), and images, styles and
/// fonts only from the site's origins.
pub fn frame_policy(origins: &[String]) -> String {
    let sources: String = origins
        .iter()
        .filter(|o| {
            o.bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        })
        .map(|o| format!(" {o}"))
        .collect();
    format!(
        "sandbox; default-src 'none'; img-src{sources} data:; style-src{sources} 'unsafe-inline'; \
         font-src{sources} data:; media-src 'none'; script-src 'none'; base-uri{sources}; \
         form-action 'none'; frame-ancestors 'self'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Vec<String> {
        vec!["https://shop.example".to_string()]
    }

    fn clean(html: &str) -> String {
        sanitize(html, "https://shop.example/product/1?x=1", &shop())
    }

    #[test]
    fn scripts_handlers_and_active_elements_go() {
        let out = clean(
            r#"<!DOCTYPE html><html><head><script>alert(1)</script><base href="https://evil.example/">
            <meta http-equiv="refresh" content="0;url=https://evil.example/"></head>
            <body onload="alert(2)"><img src="/a.png" onerror="alert(3)">
            <a href="javascript:alert(4)">x</a><iframe src="/"></iframe><object data="/x"></object>
            <svg><script>alert(5)</script><a xlink:href="javascript:alert(6)"><text>t</text></a></svg>
            <div ONCLICK="alert(7)" style="color:red">kept</div></body></html>"#,
        );
        for bad in [
            "alert",
            "<script",
            "onerror",
            "onload",
            "onclick",
            "<iframe",
            "<object",
            "evil.example",
            "javascript:",
        ] {
            assert!(
                !out.to_ascii_lowercase().contains(bad),
                "{bad} survived: {out}"
            );
        }
        assert!(out.contains("style=\"color:red\">kept"), "{out}");
        assert!(
            out.contains(r#"<img src="https://shop.example/a.png">"#),
            "{out}"
        );
    }

    #[test]
    fn only_the_sites_origins_and_data_images_stay() {
        let out = clean(
            r##"<html><head><link rel="stylesheet" href="/s.css"><link rel="preload" href="/f.js">
            <link rel="stylesheet" href="https://cdn.evil.example/s.css"></head><body>
            <img src="data:image/png;base64,AAAA"><a href="data:text/html,x">d</a>
            <img srcset="/a.png 1x, https://other.example/b.png 2x, /c.png 2x">
            <a href="https://dashboard.example/api/sites">api</a><a href="#top">top</a>
            <a href="other.html">rel</a></body></html>"##,
        );
        assert!(out.contains(r#"<link rel="stylesheet" href="https://shop.example/s.css">"#));
        assert!(
            !out.contains("preload") && !out.contains("cdn.evil"),
            "{out}"
        );
        assert!(out.contains(r#"src="data:image/png;base64,AAAA""#));
        assert!(!out.contains("data:text/html"), "{out}");
        assert!(out
            .contains(r#"srcset="https://shop.example/a.png 1x, https://shop.example/c.png 2x""#));
        assert!(!out.contains("dashboard.example"), "{out}");
        assert!(out.contains(r##"href="#top""##));
        assert!(
            out.contains(r#"href="https://shop.example/product/other.html""#),
            "{out}"
        );
    }

    #[test]
    fn data_urls_with_multibyte_characters_do_not_panic() {
        for src in [
            "data:abcdeé,x",
            "data:imageé/png,x",
            "data:é",
            "data:ima\u{1F600}",
        ] {
            let out = clean(&format!(r#"<img src="{src}"><img srcset="{src} 1x">"#));
            assert!(!out.contains("data:"), "{src}: {out}");
        }
        let out = clean(r#"<img src="DATA:Image/PNG;base64,AAAA">"#);
        assert!(out.contains("Image/PNG"), "{out}");
    }

    #[test]
    fn the_base_names_the_captured_page_or_the_site() {
        let out = clean("<html><head><title>t</title></head><body></body></html>");
        assert!(
            out.contains(r#"<head><base href="https://shop.example/product/1?x=1">"#),
            "{out}"
        );
        // A page URL of another origin is not trusted as a base.
        let out = sanitize(
            "<html><head></head><body></body></html>",
            "https://evil.example/",
            &shop(),
        );
        assert!(
            out.contains(r#"<base href="https://shop.example/">"#),
            "{out}"
        );
        let policy = frame_policy(&shop());
        assert!(
            policy.starts_with("sandbox;") && policy.contains("img-src https://shop.example data:")
        );
        assert!(policy.contains("script-src 'none'"));
    }
}
