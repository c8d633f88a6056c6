//! Helpers for the render tests: decoding PNGs and reading SVG structure.

/// Decodes a PNG to ((width, height, channels), raw bytes).
pub(crate) fn decode(bytes: &[u8]) -> ((u32, u32, usize), Vec<u8>) {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    buf.truncate(info.buffer_size());
    let channels = info.color_type.samples();
    ((info.width, info.height, channels), buf)
}

/// Counts occurrences of `needle` in `haystack`.
pub(crate) fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Writes a chart to `target/charts/NAME` so a person can look at it.
pub(crate) fn save(name: &str, bytes: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/charts");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(name), bytes);
}

/// The (still XML-escaped) contents of the `<text>` elements of an SVG.
pub(crate) fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}
