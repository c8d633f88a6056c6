//! Compresses the assets the binary embeds (the dashboards and the tracker
//! builds) with brotli and gzip at their best settings, once per build, so
//! that the server sends each browser the smallest form it accepts without
//! compressing on any request. Writes the compressed files into OUT_DIR
//! and `precompressed.rs`, a table from an asset's path in the repository
//! to its gzip and brotli bytes, included by `src/http/encoding.rs`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Files smaller than this are served as they are: compressing them saves
/// less than the header that says so.
const MIN_BYTES: usize = 256;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut files = Vec::new();
    collect(Path::new("dashboards"), &mut files);
    for js in [
        "tracker-js/dist/t.min.js",
        "tracker-js/dist/errors.min.js",
        "tracker-js/dist/replay.min.js",
    ] {
        files.push(PathBuf::from(js));
    }
    println!("cargo:rerun-if-changed=dashboards");
    println!("cargo:rerun-if-changed=tracker-js/dist");
    let mut table = String::from("&[\n");
    for (i, file) in files.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", file.display());
        let raw = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if raw.len() < MIN_BYTES || !compressible(file) {
            continue;
        }
        let gz = out.join(format!("asset{i}.gz"));
        let br = out.join(format!("asset{i}.br"));
        std::fs::write(&gz, gzip(&raw)).expect("OUT_DIR is writable");
        std::fs::write(&br, brotli(&raw)).expect("OUT_DIR is writable");
        let key = file.to_string_lossy().replace('\\', "/");
        writeln!(
            table,
            "    ({key:?}, include_bytes!({:?}), include_bytes!({:?})),",
            gz.display().to_string(),
            br.display().to_string()
        )
        .expect("writing to a String");
    }
    table.push(']');
    std::fs::write(out.join("precompressed.rs"), table).expect("OUT_DIR is writable");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Text formats; images such as PNG are compressed already.
fn compressible(file: &Path) -> bool {
    matches!(
        file.extension().and_then(|e| e.to_str()),
        Some("html" | "css" | "js" | "svg" | "json" | "txt")
    )
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(raw).expect("writing to memory");
    e.finish().expect("writing to memory")
}

fn brotli(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &raw[..], &mut out, &params).expect("writing to memory");
    out
}
