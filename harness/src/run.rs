//! `run`: JSONL events through an ordered pipeline of approved plugins, as an operator runs
//! them. Returns the summary; the command line renders it.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::corpus::read_jsonl;
use crate::error::HarnessError;
use crate::pipeline::file::{PipelineEntry, PipelineFile, load_pipeline, load_pipeline_in};
use crate::pipeline::{Disposition, Pipeline, Summary};
use crate::plugin::LoadedPlugin;

/// What `run` is asked to do.
#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    /// A pipeline file whose plugins run first.
    pub pipeline: Option<PathBuf>,
    /// Plugins after the pipeline file's, in order.
    pub plugins: Vec<PathBuf>,
    /// Run plugins that are not approved.
    pub allow_unapproved: bool,
    /// The lock to check plugins against; `None`: the library's (`lock::lock_path_for_library`).
    pub lock: Option<PathBuf>,
    /// The library whose lock governs (default `plugins`).
    pub library: Option<PathBuf>,
    pub seed: u64,
    /// Give plugins verification's environment (the logical clock from 2024, `seed`) instead
    /// of the real one (the wall clock at real speed, random numbers seeded from the OS), to
    /// reproduce a verdict.
    pub deterministic: bool,
    /// Runtime health (`pipeline::health`); `None` runs every plugin on every event.
    pub health: Option<crate::pipeline::health::HealthConfig>,
}

/// The pipeline's plugins, loaded and checked against the lock.
pub fn load(config: &RunConfig) -> Result<Vec<Arc<LoadedPlugin>>, HarnessError> {
    let mut entries = match &config.pipeline {
        Some(file) => PipelineFile::load(file)?,
        None => Vec::new(),
    };
    entries.extend(config.plugins.iter().map(|path| PipelineEntry {
        path: path.clone(),
        config: BTreeMap::new(),
    }));
    if entries.is_empty() {
        return Err(HarnessError::Other(
            "no plugins given (name them, or use --pipeline)".into(),
        ));
    }
    let plugins = if config.deterministic {
        load_pipeline(&entries, config.seed)?
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let clock = crate::host::ClockSetting {
            start_seconds: now,
            real_speed: true,
        };
        load_pipeline_in(&entries, os_seed()?, clock)?
    };
    if !config.allow_unapproved {
        let lock_path = config.lock.clone().unwrap_or_else(|| {
            crate::lock::lock_path_for_library(
                config.library.as_deref().unwrap_or(Path::new("plugins")),
            )
        });
        check_approved(&plugins, &lock_path)?;
    }
    Ok(plugins)
}

/// A seed from the operating system's random numbers (`/dev/urandom`).
fn os_seed() -> Result<u64, HarnessError> {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| HarnessError::io(Path::new("/dev/urandom"), e))?;
    Ok(u64::from_le_bytes(bytes))
}

/// Refuses plugins that are not approved in the lock file, or changed since.
fn check_approved(plugins: &[Arc<LoadedPlugin>], lock_path: &Path) -> Result<(), HarnessError> {
    let lock = crate::lock::LockFile::load(lock_path)?.unwrap_or_default();
    for plugin in plugins {
        lock.check(plugin, lock_path).map_err(HarnessError::Other)?;
    }
    Ok(())
}

/// Runs every event of `input` (named `input_name` in messages) through `plugins`, writing
/// emitted events as JSONL to `output`; `warn` gets each warning (a line that is not an event,
/// a plugin disabled at start). A failed write is a harness error: `run` never exits 0 having
/// lost output.
pub fn run_events(
    plugins: Vec<Arc<LoadedPlugin>>,
    health: Option<crate::pipeline::health::HealthConfig>,
    input_name: &Path,
    input: impl BufRead,
    output: &mut dyn Write,
    warn: &mut dyn FnMut(String),
) -> Result<Summary, HarnessError> {
    let mut pipeline = Pipeline::new(plugins);
    if let Some(health) = health {
        pipeline = pipeline.with_health(health);
    }
    for (name, failure) in pipeline.start() {
        warn(format!("{name} is disabled: {}", failure.message));
    }
    let mut write_error: Option<std::io::Error> = None;
    // Each emitted event is serialised into this buffer (reused) and written in one call.
    let mut line: Vec<u8> = Vec::new();
    let stats = read_jsonl(input_name, input, |parsed| match parsed {
        Ok(sourced) => {
            let ingested = pipeline.ingest(sourced.event);
            for result in ingested.results() {
                if let Disposition::Emitted { event } = &result.disposition
                    && write_error.is_none()
                {
                    line.clear();
                    serde_json::to_writer(&mut line, event)
                        .expect("a JSON value always serialises");
                    line.push(b'\n');
                    if let Err(e) = output.write_all(&line) {
                        write_error = Some(e);
                    }
                }
            }
        }
        Err(bad) => {
            warn(bad.to_string());
            pipeline.count_invalid_input();
        }
    })?;
    if let Some(e) = write_error {
        return Err(HarnessError::Other(format!("writing the output: {e}")));
    }
    if stats.surrogates_replaced > 0 {
        warn(format!(
            "{}: {} unpaired UTF-16 surrogate escape(s) replaced by U+FFFD, as PostHog's capture does",
            input_name.display(),
            stats.surrogates_replaced
        ));
    }
    output
        .flush()
        .map_err(|e| HarnessError::Other(format!("writing the output: {e}")))?;
    let mut summary = pipeline.finish();
    for (name, counts) in &summary.per_plugin {
        for t in &counts.health_transitions {
            warn(format!(
                "{name}: health {:?} -> {:?} at event {}",
                t.from, t.to, t.event
            ));
        }
    }
    summary.surrogates_replaced = stats.surrogates_replaced as u64;
    Ok(summary)
}
