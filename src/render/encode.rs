//! Turning pixel buffers into files: PNG through the `png` crate with fast
//! settings (a 1280×4000 heat overlay must encode in a few tens of ms), and
//! raster-only charts wrapped in a minimal SVG that embeds the PNG as a
//! `data:` URI, so every chart can be asked for in either format.

use super::error::RenderError;

/// Encodes 8-bit RGB (`channels` = 3) or RGBA (4) pixels, row by row.
pub(crate) fn png(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u8,
) -> Result<Vec<u8>, RenderError> {
    let color = match channels {
        3 => png::ColorType::Rgb,
        4 => png::ColorType::Rgba,
        n => return Err(RenderError::Encode(format!("{n} channels"))),
    };
    let mut out = Vec::with_capacity(pixels.len() / 8 + 1024);
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    // fdeflate plus the "up" filter: charts and heat rasters are smooth
    // or flat, which this pair compresses well at a fraction of the
    // cost of adaptive filtering.
    enc.set_compression(png::Compression::Fast);
    enc.set_filter(png::Filter::Up);
    let enc_err = |e: png::EncodingError| RenderError::Encode(e.to_string());
    let mut writer = enc.write_header().map_err(enc_err)?;
    writer.write_image_data(pixels).map_err(enc_err)?;
    writer.finish().map_err(enc_err)?;
    Ok(out)
}

/// An SVG document of `width`×`height` showing `png_bytes`, with `title`
/// as its accessible name (XML-escaped: titles can come from visitors).
pub(crate) fn svg_with_png(png_bytes: &[u8], width: u32, height: u32, title: &str) -> Vec<u8> {
    let mut svg = String::with_capacity(png_bytes.len() * 4 / 3 + 512);
    svg.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n<title>"
    ));
    push_escaped(&mut svg, title);
    svg.push_str(&format!(
        "</title>\n<image x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" href=\"data:image/png;base64,"
    ));
    base64(&mut svg, png_bytes);
    svg.push_str("\"/>\n</svg>\n");
    svg.into_bytes()
}

/// XML text escaping (also safe inside attribute values).
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// Standard base64 with padding (a few lines instead of a dependency).
fn base64(out: &mut String, bytes: &[u8]) {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (raw, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut s = String::new();
            base64(&mut s, raw.as_bytes());
            assert_eq!(s, want);
        }
    }

    #[test]
    fn svg_wrapper_escapes_the_title() {
        let svg = String::from_utf8(svg_with_png(b"x", 3, 4, "<script>&\"'")).unwrap();
        assert!(svg.contains("<title>&lt;script&gt;&amp;&quot;&apos;</title>"));
        assert!(svg.contains("data:image/png;base64,eA=="));
    }

    #[test]
    fn png_round_trips() {
        let px = vec![10u8; 5 * 2 * 4];
        let bytes = png(&px, 5, 2, 4).unwrap();
        let (info, data) = crate::render::testutil::decode(&bytes);
        assert_eq!((info.0, info.1), (5, 2));
        assert_eq!(data, px);
        assert!(png(&px, 5, 2, 2).is_err());
    }
}
