//! The lock file (`plugins/library.lock`): what `verify --approve` approved, so that approval
//! means something at install time. `run` refuses a plugin that is not in it, or whose
//! component changed since (a different sha256).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::HarnessError;
use crate::plugin::LoadedPlugin;
use crate::verify::Verdict;

/// The lock file's name in a library directory.
pub const LOCK_FILE: &str = "library.lock";

/// The harness's version, written into the lock beside the engine's.
pub const HARNESS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The wasmtime version the harness is built with (a test checks it against Cargo.lock): fuel
/// figures are deterministic for one engine version, so the lock pins it.
pub const WASMTIME_VERSION: &str = "48.0.8";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub harness: String,
    pub wasmtime: String,
    /// The library's pipeline order (plugin names), from `pipeline.toml` when there is one.
    #[serde(default)]
    pub pipeline: Vec<String>,
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<LockedPlugin>,
}

/// One approved plugin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPlugin {
    pub name: String,
    pub version: String,
    pub sha256: String,
    /// Granted capabilities besides `log`.
    pub capabilities: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_hosts: Vec<String>,
    pub fuel_per_event: u64,
    pub memory_mib: u64,
}

impl LockFile {
    /// Reads a lock file; `None` when there is none.
    pub fn load(path: &Path) -> Result<Option<LockFile>, HarnessError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(HarnessError::io(path, e)),
        };
        toml::from_str(&text).map(Some).map_err(|e| {
            HarnessError::bad_file(path, e.to_string().replace('\n', " ").trim().to_owned())
        })
    }

    /// Writes the lock file, plugins sorted by name.
    pub fn save(&self, path: &Path) -> Result<(), HarnessError> {
        let mut sorted = self.clone();
        sorted.plugins.sort_by(|a, b| a.name.cmp(&b.name));
        let body = toml::to_string_pretty(&sorted)
            .map_err(|e| HarnessError::Other(format!("serialising the lock file: {e}")))?;
        let text = format!(
            "# Written by `cargo xtask verify --approve`: the plugins approved for installation.\n\
             # `run` refuses a plugin that is missing here or whose component's sha256 differs.\n\n{body}"
        );
        std::fs::write(path, text).map_err(|e| HarnessError::io(path, e))
    }

    /// Records the approved verdicts (replacing earlier entries of the same name) and removes
    /// plugins that were rejected this time. Returns the names written.
    pub fn record(&mut self, verdicts: &[Verdict]) -> Vec<String> {
        self.harness = HARNESS_VERSION.to_owned();
        self.wasmtime = WASMTIME_VERSION.to_owned();
        let mut written = Vec::new();
        for verdict in verdicts {
            self.plugins.retain(|p| p.name != verdict.plugin);
            let (true, Some(component)) = (verdict.approved, &verdict.component) else {
                continue;
            };
            self.plugins.push(LockedPlugin {
                name: verdict.plugin.clone(),
                version: verdict.version.clone().unwrap_or_default(),
                sha256: component.sha256.clone(),
                capabilities: component
                    .capabilities
                    .iter()
                    .map(|c| c.to_string())
                    .collect(),
                http_hosts: component.http_hosts.clone(),
                fuel_per_event: component.limits.fuel_budget,
                memory_mib: component.limits.memory_bytes >> 20,
            });
            written.push(verdict.plugin.clone());
        }
        written
    }

    /// Whether `plugin` may run: it is in the lock with the same component.
    pub fn check(&self, plugin: &LoadedPlugin, lock_path: &Path) -> Result<(), String> {
        let Some(locked) = self.plugins.iter().find(|p| p.name == plugin.name) else {
            return Err(format!(
                "{}: plugin `{}` is not approved in {} (run `cargo xtask verify --approve`, or pass --allow-unapproved)",
                plugin.source.dir().display(),
                plugin.name,
                lock_path.display()
            ));
        };
        if locked.sha256 != plugin.sha256 {
            return Err(format!(
                "{}: the component of `{}` changed since it was approved (sha256 {}… approved, {}… now); verify and approve it again",
                plugin.component_path.display(),
                plugin.name,
                &locked.sha256[..12.min(locked.sha256.len())],
                &plugin.sha256[..12]
            ));
        }
        Ok(())
    }
}

/// The lock file that governs a plugin directory: `library.lock` in its parent directory.
pub fn lock_path_for(plugin_dir: &Path) -> PathBuf {
    plugin_dir
        .canonicalize()
        .unwrap_or_else(|_| plugin_dir.to_owned())
        .parent()
        .unwrap_or(Path::new("."))
        .join(LOCK_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_wasmtime_version_is_the_one_in_cargo_lock() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        let expected = format!("name = \"wasmtime\"\nversion = \"{WASMTIME_VERSION}\"");
        assert!(lock.contains(&expected), "Cargo.lock has another wasmtime");
    }

    #[test]
    fn a_lock_that_is_not_toml_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        std::fs::write(&path, "harness = [").unwrap();
        let err = LockFile::load(&path).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
        assert_eq!(LockFile::load(&dir.path().join("none.lock")).unwrap(), None);
    }
}
