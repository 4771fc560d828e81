//! Knowing, without running cargo, that a plugin crate's component is what cargo would build
//! now: the record of a build's inputs.
//!
//! Asking cargo (`cargo metadata`, `cargo fetch`, the sandboxed `cargo build`) costs 0.3-1.5 s
//! of spawning and checking per plugin even when nothing changed, which dominated `run` over a
//! library of plugin directories. After a successful build the harness writes a record, in its
//! private cache, of everything the build depended on:
//! - every file rustc read, from the build's dep-info (the crate's sources, whatever they
//!   `include_str!`, the registry crates' sources), with its sha256;
//! - every path package's `Cargo.toml` and whether it has a `build.rs` (cargo finds one by
//!   itself), the workspace's `Cargo.lock`, and each `.cargo/config*` and `rust-toolchain*` that
//!   cargo or rustup would read, present or absent;
//! - the settings that are not files: `rustc -vV` (the toolchain), the build policy (which
//!   crates' build code may run, whether unsandboxed builds are trusted), the profile
//!   overrides and the target;
//! - the component's path and sha256.
//!
//! The next load checks the record against the files (hashing them, a few milliseconds) and
//! the settings; when everything matches, the recorded component is used without cargo. Any
//! difference, an unreadable record, or a component whose bytes changed, and cargo runs as
//! before (which rewrites the record). Content, not timestamps, decides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped when what a record holds changes.
const FORMAT: u32 = 1;

/// What stands for a file that does not exist.
const ABSENT: &str = "absent";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    format: u32,
    settings: String,
    component: PathBuf,
    component_sha256: String,
    /// Each input file and its sha256, or [`ABSENT`] for a file whose appearance would change
    /// the build.
    files: BTreeMap<PathBuf, String>,
}

/// sha256 of a file's bytes, or [`ABSENT`] when it does not exist (`None`: unreadable).
fn digest_of(path: &Path) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => Some(hex::encode(Sha256::digest(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(ABSENT.to_owned()),
        Err(_) => None,
    }
}

impl BuildRecord {
    /// The record of a build that wrote `component` from `inputs` under `settings`; `None`
    /// when an input cannot be read (then nothing is recorded and cargo runs next time).
    pub fn new(
        settings: String,
        component: &Path,
        inputs: impl IntoIterator<Item = PathBuf>,
    ) -> Option<BuildRecord> {
        let component_sha256 = digest_of(component).filter(|d| d != ABSENT)?;
        let mut files = BTreeMap::new();
        for path in inputs {
            let digest = digest_of(&path)?;
            files.insert(path, digest);
        }
        Some(BuildRecord {
            format: FORMAT,
            settings,
            component: component.to_owned(),
            component_sha256,
            files,
        })
    }

    /// The recorded component when the record still holds: same settings, every file as it
    /// was (absent ones still absent), the component's bytes unchanged.
    pub fn fresh_component(&self, settings: &str) -> Option<&Path> {
        let holds = self.format == FORMAT
            && self.settings == settings
            && self
                .files
                .iter()
                .all(|(path, digest)| digest_of(path).as_ref() == Some(digest))
            && digest_of(&self.component).as_ref() == Some(&self.component_sha256);
        holds.then_some(self.component.as_path())
    }

    /// Where the record of the crate at `manifest` (canonical) is kept: the private cache.
    pub fn path_for(manifest: &Path) -> Option<PathBuf> {
        let key = hex::encode(Sha256::digest(manifest.as_os_str().as_encoded_bytes()));
        crate::plugin::private_cache_dir().map(|dir| dir.join(format!("build-{}.json", &key[..32])))
    }

    pub fn load(path: &Path) -> Option<BuildRecord> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// Writes the record whole (a partial file does not parse, so it is never trusted).
    pub fn save(&self, path: &Path) {
        let partial = path.with_extension(format!("tmp{}", std::process::id()));
        if let Ok(text) = serde_json::to_vec(self)
            && std::fs::write(&partial, text).is_ok()
        {
            let _ = std::fs::rename(&partial, path);
        }
    }
}

/// The files a make-style dep-info file (`target: dep dep ...`, spaces in names escaped with
/// a backslash) lists, for every target in it.
pub fn dep_info_files(text: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for line in text.lines() {
        // `out: deps`; a line without a target separator (a continuation) is not written by
        // rustc.
        let Some((_, deps)) = split_target(line) else {
            continue;
        };
        let mut current = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                ' ' | '\t' => {
                    if !current.is_empty() {
                        files.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            files.push(PathBuf::from(current));
        }
    }
    files.sort();
    files.dedup();
    files
}

/// `target: deps` split at the first `: ` that is not escaped.
fn split_target(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i] == b':' && bytes[i + 1] == b' ' && (i == 0 || bytes[i - 1] != b'\\'))
        .map(|i| (&line[..i], &line[i + 2..]))
}

/// The configuration and toolchain files cargo and rustup would read for a crate in `dir`:
/// in `dir` and each of its ancestors, and in the cargo home. Whether present or not, each is
/// recorded: one appearing later is a change.
pub fn config_candidates(dir: &Path, cargo_home: &Path) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    for ancestor in dir.ancestors() {
        for name in [
            ".cargo/config.toml",
            ".cargo/config",
            "rust-toolchain.toml",
            "rust-toolchain",
        ] {
            candidates.push(ancestor.join(name));
        }
    }
    candidates.push(cargo_home.join("config.toml"));
    candidates.push(cargo_home.join("config"));
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_lists_every_file_with_escaped_spaces() {
        let text = "/t/release/plugin.wasm: /w/src/lib.rs /w/src/my\\ file.rs /r/serde-1.0/src/lib.rs\n\n\
                    /t/release/libplugin.rlib: /w/src/lib.rs /w/data/table.json\n";
        let files = dep_info_files(text);
        let names: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "/r/serde-1.0/src/lib.rs",
                "/w/data/table.json",
                "/w/src/lib.rs",
                "/w/src/my file.rs",
            ]
        );
    }

    /// The record holds until any input, the settings or the component change; content
    /// decides (a file changed and changed back holds again); a file that appears where the
    /// record saw none (a `build.rs`, a config) breaks it.
    #[test]
    fn a_record_holds_exactly_while_nothing_it_depends_on_changed() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("lib.rs");
        let build_rs = dir.path().join("build.rs");
        let component = dir.path().join("plugin.wasm");
        std::fs::write(&source, "pub fn f() {}").unwrap();
        std::fs::write(&component, b"\0asm component").unwrap();
        let record = BuildRecord::new(
            "rustc 1.95.0; policy".to_owned(),
            &component,
            [source.clone(), build_rs.clone()],
        )
        .unwrap();
        let settings = "rustc 1.95.0; policy";
        assert_eq!(record.fresh_component(settings), Some(component.as_path()));

        // Saved and loaded, it is the same record.
        let saved = dir.path().join("record.json");
        record.save(&saved);
        assert_eq!(BuildRecord::load(&saved).as_ref(), Some(&record));

        type Change = (&'static str, Box<dyn Fn()>, Box<dyn Fn()>);
        let (s1, s2, b, c) = (
            source.clone(),
            source.clone(),
            build_rs.clone(),
            component.clone(),
        );
        let (b2, c2) = (build_rs.clone(), component.clone());
        let changes: Vec<Change> = vec![
            (
                "a source's content",
                Box::new(move || std::fs::write(&s1, "pub fn f() { evil() }").unwrap()),
                Box::new(move || std::fs::write(&s2, "pub fn f() {}").unwrap()),
            ),
            (
                "a build.rs appearing",
                Box::new(move || std::fs::write(&b, "fn main() {}").unwrap()),
                Box::new(move || std::fs::remove_file(&b2).unwrap()),
            ),
            (
                "the component's bytes",
                Box::new(move || std::fs::write(&c, b"\0asm other").unwrap()),
                Box::new(move || std::fs::write(&c2, b"\0asm component").unwrap()),
            ),
        ];
        for (what, change, undo) in changes {
            change();
            assert_eq!(record.fresh_component(settings), None, "{what}");
            undo();
            assert_eq!(
                record.fresh_component(settings),
                Some(component.as_path()),
                "{what} undone"
            );
        }
        assert_eq!(record.fresh_component("rustc 1.96.0; policy"), None);
        std::fs::remove_file(&source).unwrap();
        assert_eq!(record.fresh_component(settings), None, "a source removed");
        // A damaged record is no record.
        std::fs::write(&saved, "{\"format\": 1, ").unwrap();
        assert_eq!(BuildRecord::load(&saved), None);
    }
}
