//! Helpers shared by the benchmarks that read `../shared/data`.

use std::path::{Path, PathBuf};

/// The SNIPS 2017 JSON files in `dir` whose names start with `prefix`
/// (`train_` or `validate_`), sorted so every run reads them in one order.
pub fn snips_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("SNIPS folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".json"))
        })
        .collect();
    names.sort();
    names
}
