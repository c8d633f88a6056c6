//! Charts through the real binary: the API's `/charts/` endpoints and
//! `trailmap render`, over sessions posted to the collector.

mod common;

use common::*;

/// Width and height from a PNG's header.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let be = |o: usize| u32::from_be_bytes(bytes[o..o + 4].try_into().unwrap());
    (be(16), be(20))
}

fn get_bytes(s: &Server, path: &str) -> (u16, String, Vec<u8>) {
    match agent()
        .get(&s.url(path))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .call()
    {
        Ok(r) => {
            let (status, ct) = (r.status(), r.content_type().to_string());
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut r.into_reader(), &mut body).unwrap();
            (status, ct, body)
        }
        Err(ureq::Error::Status(code, r)) => (code, String::new(), r.into_string().unwrap().into()),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

/// Two visitors on the product page, at desktop width: one clicks the buy
/// button, one rage-clicks it; both go on to the cart.
fn shop() -> Server {
    let s = Server::start(&[]);
    let t = now_ms() - 600_000;
    for (sid, rage) in [("a", false), ("b", true)] {
        let events = [
            pageview(t, "/product/1", ""),
            click(t + 1000, 640.0, 900.0, "#buy", rage),
            format!(
                r#"{{"type":"scroll","ts":{},"depth":2400,"max_depth":2400,"dh":3000}}"#,
                t + 2000
            ),
            pageview(t + 5000, "/cart", ""),
        ];
        assert_eq!(s.collect(&batch(sid, &events)).status, 202);
    }
    s
}

#[test]
fn every_chart_over_the_api() {
    let s = shop();
    let (status, ct, png) = get_bytes(&s, "/api/sites/shop/charts/heatmap.png?page=/product/1");
    assert_eq!((status, ct.as_str()), (200, "image/png"));
    let (w, h) = png_size(&png);
    assert!(w >= 1280 && h >= 3000, "the page's layout size: {w}x{h}");
    let (status, _, overlay) = get_bytes(
        &s,
        "/api/sites/shop/charts/heatmap.png?page=/product/1&style=overlay&layer=frustration",
    );
    assert_eq!(status, 200);
    assert_eq!(
        png_size(&overlay),
        (1280, 3000),
        "an overlay is the page's size"
    );

    let (status, ct, svg) = get_bytes(&s, "/api/sites/shop/charts/sankey.svg?steps=3");
    assert_eq!((status, ct.as_str()), (200, "image/svg+xml"));
    let svg = String::from_utf8(svg).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{}",
        &svg[..80]
    );
    assert!(svg.contains("/product/1") && svg.contains("/cart"));

    let (status, _, funnel) = get_bytes(
        &s,
        "/api/sites/shop/charts/funnel.svg?step=^/product&step=^/cart&step=^/checkout",
    );
    assert_eq!(status, 200);
    let funnel = String::from_utf8(funnel).unwrap();
    assert!(funnel.contains("^/checkout"), "the step labels");

    let (status, _, scroll) = get_bytes(&s, "/api/sites/shop/charts/scrollmap.png?page=/product/1");
    assert_eq!(status, 200);
    png_size(&scroll);

    // No data is a picture, not an error: no mobile views of the page.
    let (status, _, empty) = get_bytes(
        &s,
        "/api/sites/shop/charts/heatmap.png?page=/product/1&viewport=mobile",
    );
    assert_eq!(status, 200);
    png_size(&empty);
    let (status, _, empty) = get_bytes(&s, "/api/sites/shop/charts/sankey.png?channel=email");
    assert_eq!(status, 200);
    png_size(&empty);

    for (path, code) in [
        ("/api/sites/shop/charts/heatmap.png", 400),
        ("/api/sites/shop/charts/heatmap.png?page=/nope", 404),
        (
            "/api/sites/shop/charts/heatmap.png?page=/cart&count=all",
            400,
        ),
        ("/api/sites/shop/charts/sankey.gif", 404),
        ("/api/sites/shop/charts/pie.svg", 404),
        ("/api/sites/shop/charts/sankey.svg?width=5", 400),
        ("/api/sites/shop/charts/funnel.svg?step=(", 400),
        ("/api/sites/nope/charts/sankey.svg", 404),
    ] {
        let (status, _, body) = get_bytes(&s, path);
        assert_eq!(status, code, "{path}: {}", String::from_utf8_lossy(&body));
    }
    let no_token = ureq::get(&s.url("/api/sites/shop/charts/sankey.svg")).call();
    assert!(matches!(no_token, Err(ureq::Error::Status(401, _))));
}

#[test]
fn render_writes_files_by_extension() {
    let s = shop();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("heat.png");
    let (ok, out, err) = run_cli(
        &s.db,
        &[
            "render",
            "heatmap",
            "--site",
            "shop",
            "--page",
            "/product/1",
            "-o",
            png.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("wrote"), "{out}");
    let (w, _) = png_size(&std::fs::read(&png).unwrap());
    assert!(w >= 1280);
    let svg = dir.path().join("journeys.svg");
    let (ok, _, err) = run_cli(
        &s.db,
        &[
            "render",
            "sankey",
            "--site",
            "shop",
            "-o",
            svg.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("/cart"));
    let (ok, _, err) = run_cli(
        &s.db,
        &["render", "sankey", "--site", "shop", "-o", "chart.gif"],
    );
    assert!(!ok && err.contains(".svg or .png"), "{err}");
    let (ok, _, err) = run_cli(
        &s.db,
        &["render", "scrollmap", "--site", "shop", "-o", "x.png"],
    );
    assert!(!ok && err.contains("--page"), "{err}");
}
