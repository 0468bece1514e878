//! Replays every file of the fuzz corpus (`fuzz/corpus/<target>/`) through the
//! checks the fuzz targets run, so `make test` catches a regression on any
//! input the fuzzer once found worth keeping, on the stable toolchain and
//! without building libFuzzer.

use std::path::{Path, PathBuf};

use super::fuzz_properties::TARGETS;

/// A target whose corpus shrank below this was emptied by mistake, and the
/// replay would pass without checking anything.
const MIN_FILES: usize = 5;

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let Some((_, check)) = TARGETS.iter().find(|(name, _)| *name == target) else { panic!("no fuzz target named {target}") };
    let files = corpus_files(target);
    assert!(files.len() >= MIN_FILES, "fuzz/corpus/{target} has {} files, fewer than {MIN_FILES}", files.len());
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: {} of {} corpus files fail (the panics are printed above): {failed:?}",
        failed.len(),
        files.len()
    );
    println!("fuzz corpus {target}: {} files replayed, none failed", files.len());
}

#[test]
fn every_target_has_a_corpus_and_every_corpus_a_target() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    on_disk.sort();
    let mut targets: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    targets.sort();
    assert_eq!(on_disk, targets);
}

#[test]
fn filter_corpus() {
    replay("filter");
}

#[test]
fn path_corpus() {
    replay("path");
}

#[test]
fn patch_corpus() {
    replay("patch");
}

#[test]
fn user_json_corpus() {
    replay("user_json");
}

#[test]
fn group_json_corpus() {
    replay("group_json");
}
