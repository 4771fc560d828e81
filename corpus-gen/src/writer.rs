//! The writer: events rendered as JSONL, and the generated files written into a directory.

use std::path::Path;

use anyhow::Context;
use serde_json::{Map, Value};

use crate::{EDGE_CASES, GeneratedFile};

/// `events` as JSONL: one compact JSON object per line, each line ending in `\n`.
pub(crate) fn jsonl(events: &[Map<String, Value>]) -> String {
    let mut contents = String::new();
    for event in events {
        contents.push_str(&serde_json::to_string(event).expect("a JSON object serialises"));
        contents.push('\n');
    }
    contents
}

/// Generates every file of [`crate::FILES`] from `seed` and writes them into `dir` (created if
/// missing), replacing files of the same names and leaving every other file there (such as
/// [`EDGE_CASES`]) as it is. Returns the files written, in order.
pub fn write(dir: &Path, seed: u64) -> anyhow::Result<Vec<GeneratedFile>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let files = crate::generate(seed);
    for file in &files {
        anyhow::ensure!(
            file.name != EDGE_CASES,
            "the generator must not write {EDGE_CASES}"
        );
        let path = dir.join(file.name);
        std::fs::write(&path, &file.contents)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(files)
}
