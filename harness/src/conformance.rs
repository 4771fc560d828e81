//! Conformance suites: a plugin's `conformance.jsonl` (cases restated from the upstream
//! PostHog plugin's own tests, each citing its source) run through the real host. The corpus
//! stage runs them for every plugin that has the file (rule `run/conformance`), and the
//! integration tests run the example library's suites.
//!
//! A line: `{"case", "source", "config", "input", "expect": {"outcome": "emitted", "event"} |
//! {"outcome": "dropped"} | {"outcome": "error"}, "differs"?}`; config values are strings, as
//! PostHog passed them, laid over the manifest's defaults (what an install gets, without
//! `verifyConfig`). `differs` marks a deliberate difference from upstream: its `expect` is what
//! this plugin does, and the reason is in the plugin's README.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::manifest::Manifest;
use crate::pipeline::{Disposition, Pipeline, StepOutcome};
use crate::plugin::{Artifact, LoadOptions, PluginSource};

/// The suite's file name in a plugin directory.
pub const FILE: &str = "conformance.jsonl";

/// The largest suite read (cases are small; a larger file is an error, not read whole).
const MAX_FILE_BYTES: u64 = 4 << 20;

/// What one case expects.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    Emitted(Value),
    Dropped,
    Error,
}

/// One case.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub line: usize,
    pub name: String,
    pub source: String,
    pub config: BTreeMap<String, String>,
    pub input: Value,
    pub expect: Expect,
    pub differs: Option<String>,
}

/// A case that did not give what it expects.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    pub file: PathBuf,
    pub line: usize,
    pub case: String,
    pub message: String,
}

/// Reads the suite at `path`; the error names the file and line.
pub fn read(path: &Path) -> Result<Vec<Case>, String> {
    let bytes = crate::plugin::read_capped(path, MAX_FILE_BYTES)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    let mut cases = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |message: String| format!("{}:{}: {message}", path.display(), index + 1);
        let value: Value = serde_json::from_str(line).map_err(|e| at(format!("not JSON: {e}")))?;
        let string = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| at(format!("`{key}` must be a string")))
        };
        let config = value
            .get("config")
            .and_then(Value::as_object)
            .ok_or_else(|| at("`config` must be an object".into()))?
            .iter()
            .map(|(k, v)| match v {
                Value::String(v) => Ok((k.clone(), v.clone())),
                _ => Err(at(format!("config value `{k}` must be a string"))),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        let expect = match value.pointer("/expect/outcome").and_then(Value::as_str) {
            Some("emitted") => Expect::Emitted(
                value
                    .pointer("/expect/event")
                    .cloned()
                    .ok_or_else(|| at("`expect.event` is missing".into()))?,
            ),
            Some("dropped") => Expect::Dropped,
            Some("error") => Expect::Error,
            _ => {
                return Err(at(
                    "`expect.outcome` must be emitted, dropped or error".into()
                ));
            }
        };
        cases.push(Case {
            line: index + 1,
            name: string("case")?,
            source: string("source")?,
            config,
            input: value
                .get("input")
                .cloned()
                .ok_or_else(|| at("`input` is missing".into()))?,
            expect,
            differs: value
                .get("differs")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    Ok(cases)
}

/// The event without the pipeline's bookkeeping.
fn without_bookkeeping(mut event: Value) -> Value {
    if let Some(properties) = event.get_mut("properties").and_then(Value::as_object_mut) {
        properties.remove("$plugins_succeeded");
        properties.remove("$plugins_failed");
    }
    event
}

/// Runs every case of `path` through the plugin (a fresh instance per case, set up with the
/// case's config) and returns the cases that did not give what they expect.
pub fn run(
    source: &PluginSource,
    manifest: &Manifest,
    artifact: &Artifact,
    path: &Path,
    options: &LoadOptions,
) -> Result<(usize, Vec<Mismatch>), String> {
    let cases = read(path)?;
    let mut mismatches = Vec::new();
    for case in &cases {
        let mismatch = |message: String| Mismatch {
            file: path.to_owned(),
            line: case.line,
            case: case.name.clone(),
            message,
        };
        let load = LoadOptions {
            config: case.config.clone(),
            verify_config: false,
            ..options.clone()
        };
        let plugin = match crate::plugin::load_artifact(source, manifest.clone(), artifact, &load) {
            Ok(plugin) => std::sync::Arc::new(plugin),
            Err(error) => {
                mismatches.push(mismatch(format!("does not load: {}", error.message)));
                continue;
            }
        };
        let mut pipeline = Pipeline::new(vec![plugin]);
        let setup_failed = !pipeline.start().is_empty();
        let result = pipeline.process(case.input.clone());
        let failed = setup_failed
            || result.steps.iter().any(|s| {
                matches!(
                    s.outcome,
                    StepOutcome::Failed { .. } | StepOutcome::Disabled
                )
            });
        let got = match (&result.disposition, failed) {
            (Disposition::Dropped { .. }, _) => "dropped".to_owned(),
            (Disposition::Emitted { .. }, true) => "an error".to_owned(),
            (Disposition::Emitted { event }, false) => {
                format!("emitted {}", without_bookkeeping(event.clone()))
            }
        };
        let ok = match (&case.expect, &result.disposition) {
            (Expect::Dropped, Disposition::Dropped { .. }) => true,
            (Expect::Error, Disposition::Emitted { event }) => {
                failed && without_bookkeeping(event.clone()) == case.input
            }
            (Expect::Emitted(expected), Disposition::Emitted { event }) => {
                !failed && &without_bookkeeping(event.clone()) == expected
            }
            _ => false,
        };
        if !ok {
            let wanted = match &case.expect {
                Expect::Dropped => "dropped".to_owned(),
                Expect::Error => "an error (the event unchanged)".to_owned(),
                Expect::Emitted(event) => format!("emitted {event}"),
            };
            mismatches.push(mismatch(format!(
                "{} ({}): expected {}, got {}",
                case.name,
                case.source,
                crate::model::json::shorten(&wanted, 300),
                crate::model::json::shorten(&got, 300)
            )));
        }
        let _ = pipeline.finish();
    }
    Ok((cases.len(), mismatches))
}
