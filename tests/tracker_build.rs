//! The tracker's own checks (tracker-js `npm test`): the committed build in
//! tracker-js/dist is what the source builds to, and it stays within the
//! 2,048-byte gzip budget. Run from here so that `cargo test` is the one
//! test command. Skipped locally without node or tracker-js/node_modules;
//! under CI=true that is a failure.

use std::path::Path;
use std::process::Command;

#[test]
fn tracker_build_is_fresh_and_within_budget() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tracker-js");
    let ready = dir.join("node_modules/terser").exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !ready {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "tracker tests cannot run under CI: node or tracker-js/node_modules is missing"
        );
        eprintln!("skipping tracker build test: run `npm ci` in tracker-js");
        return;
    }
    let out = Command::new("npm")
        .arg("test")
        .current_dir(&dir)
        .output()
        .expect("run npm test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "tracker-js npm test failed:\n{text}");
    println!("{text}");
}
