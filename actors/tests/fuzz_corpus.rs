//! Replays the committed fuzz seed corpora (`fuzz/corpus/<target>/`) through the fuzz targets' own code, so the
//! ordinary test suite checks the same properties as `make fuzz` on every input that ever mattered, without
//! building libFuzzer or sanitizers.

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

/// Runs every file of `fuzz/corpus/<target>/` through `check`; fails if the directory is empty.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("{}", path.display());
        check(&data);
        files += 1;
    }
    assert!(files > 0, "no seeds in {}", dir.display());
}

#[test]
fn fuzz_corpus_token() {
    replay("token", harness::token);
}

#[test]
fn fuzz_corpus_ws_message() {
    replay("ws_message", harness::ws_message);
}

#[test]
fn fuzz_corpus_flag_eval() {
    replay("flag_eval", harness::flag_eval);
}

#[test]
fn fuzz_corpus_track_body() {
    replay("track_body", harness::track_body);
}
