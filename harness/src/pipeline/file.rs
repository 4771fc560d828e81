//! Pipeline files (`pipeline.toml`): the plugins of a pipeline in order, each with optional
//! config values, and loading them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::error::HarnessError;
use crate::manifest::Manifest;
use crate::plugin::{LoadOptions, LoadedPlugin};

/// A pipeline file: the plugins in order, each with optional config values.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    pub plugins: Vec<PipelineEntry>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineEntry {
    /// The plugin, relative to the pipeline file's directory.
    pub path: PathBuf,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

impl PipelineFile {
    /// Reads a pipeline file; entries' paths come back relative to the current directory.
    pub fn load(path: &Path) -> Result<Vec<PipelineEntry>, HarnessError> {
        let text = crate::error::read_to_string(path)?;
        let file: PipelineFile = toml::from_str(&text).map_err(|e| {
            HarnessError::bad_file(path, e.to_string().replace('\n', " ").trim().to_owned())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Ok(file
            .plugins
            .into_iter()
            .map(|entry| PipelineEntry {
                path: base.join(entry.path),
                config: entry.config,
            })
            .collect())
    }
}

/// Loads the plugins of a pipeline, in order. A plugin that does not load stops the run: a
/// pipeline with a plugin missing is not the pipeline that was asked for.
pub fn load_pipeline(
    entries: &[PipelineEntry],
    seed: u64,
) -> Result<Vec<Arc<LoadedPlugin>>, HarnessError> {
    load_pipeline_in(entries, seed, crate::host::ClockSetting::default(), None)
}

/// [`load_pipeline`] with the clock the plugins see (`run` gives them the wall clock) and
/// `run`'s real network and storage.
pub fn load_pipeline_in(
    entries: &[PipelineEntry],
    seed: u64,
    clock: crate::host::ClockSetting,
    runtime: Option<Arc<crate::runtime::Runtime>>,
) -> Result<Vec<Arc<LoadedPlugin>>, HarnessError> {
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let source = crate::sources::resolve(&entry.path)?;
            let options = LoadOptions {
                config: entry.config.clone(),
                random_seed: seed.wrapping_add(if clock.real_speed { index as u64 } else { 0 }),
                measure_fuel: false,
                verify_config: false,
                build: Default::default(),
                clock,
                runtime: runtime.clone(),
            };
            crate::plugin::load(&source, &options)
                .map(Arc::new)
                .map_err(|e| HarnessError::Other(format!("{} ({})", e.message, e.rule)))
        })
        .collect()
}

/// The name in a plugin directory's manifest, or the directory's name.
pub fn plugin_name(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(crate::plugin::MANIFEST_FILE))
        .ok()
        .and_then(|text| Manifest::parse(dir, &text).ok())
        .map(|manifest| manifest.name)
        .unwrap_or_else(|| {
            dir.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        })
}
