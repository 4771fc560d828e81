//! The lock file (`<library>/library.lock`): what `verify --approve` approved, so that
//! approval means something at install time. `run` refuses a plugin that is not in it, whose
//! component changed since (a different sha256), or whose manifest changed in anything that
//! changes behaviour or authority (a different manifest digest), naming what changed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::HarnessError;
use crate::model::{HARNESS_VERSION, Verdict, WASMTIME_VERSION};
use crate::plugin::LoadedPlugin;

/// The lock file's name in a library directory.
pub const LOCK_FILE: &str = "library.lock";

/// The one rule for where a library's lock lives: `library.lock` in the library directory.
/// `verify --approve` writes it and `run` reads it (both default to the library `plugins`),
/// whatever directory or git URL a plugin was loaded from.
pub fn lock_path_for_library(library: &Path) -> PathBuf {
    library.join(LOCK_FILE)
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub harness: String,
    pub wasmtime: String,
    /// The library's pipeline order (plugin names), from `pipeline.toml` when there is one.
    #[serde(default)]
    pub pipeline: Vec<String>,
    /// What the last approval ran under: environment policy, seeds, corpus digest, engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<crate::model::Conditions>,
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
    /// The requests verification answered (`METHOD URL`, `*` a prefix): in `run`, the only
    /// requests the plugin may send (a request verification never saw is refused, so a
    /// plugin cannot behave otherwise on the real network than it did in `verify`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_requests: Vec<String>,
    pub fuel_per_event: u64,
    /// The cost model's allowance per KiB of input, as approved.
    #[serde(default)]
    pub fuel_per_kib: u64,
    pub memory_mib: u64,
    /// sha256 of the manifest's canonical form (`Manifest::digest`); empty in a lock written
    /// before manifests were pinned, which `run` then refuses until approved again.
    #[serde(default)]
    pub manifest_sha256: String,
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
             # `run` refuses a plugin that is missing here, or whose component or manifest digest differs.\n\n{body}"
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
                http_requests: component.http_requests.clone(),
                fuel_per_event: component.limits.fuel_budget,
                fuel_per_kib: component.limits.fuel_per_kib,
                memory_mib: component.limits.memory_bytes >> 20,
                manifest_sha256: component.manifest_sha256.clone(),
            });
            written.push(verdict.plugin.clone());
        }
        written
    }

    /// Whether `plugin` may run: it is in the lock with the same component.
    pub fn check(&self, plugin: &LoadedPlugin, lock_path: &Path) -> Result<&LockedPlugin, String> {
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
        let digest = plugin.manifest.digest();
        if locked.manifest_sha256 != digest {
            return Err(format!(
                "{}: the manifest of `{}` changed since it was approved ({}); verify and approve it again",
                plugin
                    .source
                    .dir()
                    .join(crate::plugin::MANIFEST_FILE)
                    .display(),
                plugin.name,
                locked.what_changed(plugin).join("; ")
            ));
        }
        Ok(locked)
    }
}

impl LockedPlugin {
    /// What differs between the approval and `plugin`'s manifest, in words.
    fn what_changed(&self, plugin: &LoadedPlugin) -> Vec<String> {
        let mut changes = Vec::new();
        let capabilities: Vec<String> = plugin
            .manifest
            .capabilities
            .names()
            .iter()
            .map(|c| c.to_string())
            .collect();
        if capabilities != self.capabilities {
            changes.push(format!(
                "capabilities [{}] approved, [{}] now",
                self.capabilities.join(", "),
                capabilities.join(", ")
            ));
        }
        let hosts = plugin
            .manifest
            .capabilities
            .http
            .as_ref()
            .map_or_else(Vec::new, |http| http.hosts.clone());
        if hosts != self.http_hosts {
            changes.push(format!(
                "http hosts [{}] approved, [{}] now",
                self.http_hosts.join(", "),
                hosts.join(", ")
            ));
        }
        let limits = plugin.manifest.limits.effective();
        if limits.fuel_budget != self.fuel_per_event {
            changes.push(format!(
                "fuel per event {} approved, {} now",
                self.fuel_per_event, limits.fuel_budget
            ));
        }
        if limits.memory_bytes >> 20 != self.memory_mib {
            changes.push(format!(
                "memory {} MiB approved, {} MiB now",
                self.memory_mib,
                limits.memory_bytes >> 20
            ));
        }
        if changes.is_empty() {
            changes.push(
                "config fields, verifyConfig, declarations, schemas or main differ".to_owned(),
            );
        }
        changes
    }
}

/// Records approved verdicts in the lock at `lock_path`, with the library's pipeline order
/// (from `<library>/pipeline.toml` when there is one). Returns the names written.
pub fn approve(
    lock_path: &Path,
    library: &Path,
    verdicts: &[Verdict],
    conditions: &crate::model::Conditions,
) -> Result<Vec<String>, HarnessError> {
    let mut lock = LockFile::load(lock_path)?.unwrap_or_default();
    lock.conditions = Some(conditions.clone());
    let pipeline_path = library.join("pipeline.toml");
    if pipeline_path.is_file() {
        lock.pipeline = crate::pipeline::file::PipelineFile::load(&pipeline_path)?
            .iter()
            .map(|entry| crate::pipeline::file::plugin_name(&entry.path))
            .collect();
    }
    let written = lock.record(verdicts);
    lock.save(lock_path)?;
    Ok(written)
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
