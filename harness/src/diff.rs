//! `harness diff OLD NEW`: what a new version of a plugin does differently from the old one,
//! over the corpus: changed outputs (as JSON pointers), drops, failures, fuel and manifest.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::corpus::Corpus;
use crate::error::HarnessError;
use crate::manifest::Manifest;
use crate::model::json::Change;
use crate::pipeline::{Disposition, EventResult, Pipeline, StepOutcome};
use crate::plugin::{LoadOptions, LoadedPlugin};

/// Properties the pipeline adds; they name positions, not behaviour, and are not compared.
pub const PIPELINE_PROPERTIES: [&str; 2] = ["$plugins_succeeded", "$plugins_failed"];

/// What one plugin (or pipeline) did with one event, as compared here.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The emitted event without the pipeline's own properties; `None` when dropped.
    pub output: Option<Value>,
    /// Rule ids of the failures of this event.
    pub failures: Vec<String>,
    /// Fuel spent over all `process-event` calls.
    pub fuel: u64,
}

/// The event without `$plugins_succeeded` and `$plugins_failed`.
pub fn normalized(mut event: Value) -> Value {
    if let Some(properties) = event.get_mut("properties").and_then(Value::as_object_mut) {
        for key in PIPELINE_PROPERTIES {
            properties.remove(key);
        }
    }
    event
}

/// The rule ids of every failure in `result`: `process-event` failures, then `on-event` ones.
pub fn failure_rules(result: &EventResult) -> impl Iterator<Item = String> + '_ {
    result
        .steps
        .iter()
        .filter_map(|step| match &step.outcome {
            StepOutcome::Failed { failure } => Some(failure.kind.rule().to_owned()),
            _ => None,
        })
        .chain(
            result
                .on_event_failures
                .iter()
                .map(|(_, failure)| failure.kind.on_event_rule().to_owned()),
        )
}

/// Runs every corpus event through a fresh pipeline of `plugins` (in order).
pub fn run_corpus(plugins: Vec<Arc<LoadedPlugin>>, corpus: &Corpus) -> (Vec<Outcome>, Vec<String>) {
    let mut pipeline = Pipeline::new(plugins);
    let warnings = pipeline
        .start()
        .into_iter()
        .map(|(name, failure)| format!("{name} is disabled: {}", failure.message))
        .collect();
    let outcomes = corpus
        .events
        .iter()
        .map(|sourced| {
            let ingested = pipeline.ingest(sourced.event.clone());
            let mut failures: Vec<String> = ingested.results().flat_map(failure_rules).collect();
            failures.sort();
            let fuel = ingested
                .results()
                .flat_map(|r| &r.steps)
                .map(|s| s.fuel)
                .sum();
            Outcome {
                output: match ingested.result.disposition {
                    Disposition::Emitted { event } => Some(normalized(event)),
                    Disposition::Dropped { .. } => None,
                },
                failures,
                fuel,
            }
        })
        .collect();
    let _ = pipeline.finish();
    (outcomes, warnings)
}

/// The comparison of two plugins over a corpus.
#[derive(Clone, Debug, Default)]
pub struct DiffReport {
    pub old_name: String,
    pub new_name: String,
    pub events: usize,
    /// Events emitted by both with different outputs: corpus location and changes.
    pub changed: Vec<(String, Vec<Change>)>,
    pub newly_dropped: Vec<String>,
    pub no_longer_dropped: Vec<String>,
    /// Rule id → events that fail with it now and did not before.
    pub new_failures: BTreeMap<String, Vec<String>>,
    /// Rule id → events that failed with it before and no longer do.
    pub fixed_failures: BTreeMap<String, Vec<String>>,
    /// (median, p99) fuel per event.
    pub fuel_old: (u64, u64),
    pub fuel_new: (u64, u64),
    pub manifest_changes: Vec<String>,
    pub warnings: Vec<String>,
}

impl DiffReport {
    /// Whether the two plugins behave the same over the corpus (fuel and manifest aside).
    pub fn identical(&self) -> bool {
        self.changed.is_empty()
            && self.newly_dropped.is_empty()
            && self.no_longer_dropped.is_empty()
            && self.new_failures.is_empty()
            && self.fixed_failures.is_empty()
    }
}

/// Compares the outcomes of the same corpus under two plugins.
pub fn compare(corpus: &Corpus, old: &[Outcome], new: &[Outcome]) -> DiffReport {
    let mut report = DiffReport {
        events: corpus.events.len(),
        ..Default::default()
    };
    for ((sourced, a), b) in corpus.events.iter().zip(old).zip(new) {
        let location = sourced.location();
        match (&a.output, &b.output) {
            (Some(x), Some(y)) if x != y => report.changed.push((
                location.clone(),
                crate::model::json::diff(x, y, crate::model::json::Arrays::ByElement),
            )),
            (Some(_), None) => report.newly_dropped.push(location.clone()),
            (None, Some(_)) => report.no_longer_dropped.push(location.clone()),
            _ => {}
        }
        for rule in &b.failures {
            if !a.failures.contains(rule) {
                report
                    .new_failures
                    .entry(rule.clone())
                    .or_default()
                    .push(location.clone());
            }
        }
        for rule in &a.failures {
            if !b.failures.contains(rule) {
                report
                    .fixed_failures
                    .entry(rule.clone())
                    .or_default()
                    .push(location.clone());
            }
        }
    }
    report.fuel_old =
        crate::model::json::median_p99(&old.iter().map(|o| o.fuel).collect::<Vec<_>>());
    report.fuel_new =
        crate::model::json::median_p99(&new.iter().map(|o| o.fuel).collect::<Vec<_>>());
    report
}

/// What changed between two manifests: version, capabilities, limits, config fields.
pub fn manifest_changes(old: &Manifest, new: &Manifest) -> Vec<String> {
    let mut changes = Vec::new();
    if old.version != new.version {
        changes.push(format!("version: {} → {}", old.version, new.version));
    }
    let sections: [(&str, Value, Value); 3] = [
        (
            "capabilities",
            to_json(&old.capabilities),
            to_json(&new.capabilities),
        ),
        ("limits", to_json(&old.limits), to_json(&new.limits)),
        (
            "verifyConfig",
            to_json(&old.verify_config),
            to_json(&new.verify_config),
        ),
    ];
    for (name, a, b) in sections {
        for change in crate::model::json::diff(&a, &b, crate::model::json::Arrays::ByElement) {
            changes.push(format!(
                "{name}{}: {}",
                change.pointer,
                crate::report::diff::change_text(&change)
            ));
        }
    }
    let fields = |m: &Manifest| -> BTreeMap<String, Value> {
        m.config
            .iter()
            .map(|f| (f.key.clone(), to_json(f)))
            .collect()
    };
    let (a, b) = (fields(old), fields(new));
    for (key, field) in &a {
        match b.get(key) {
            None => changes.push(format!("config field `{key}` removed")),
            Some(other) => {
                for change in
                    crate::model::json::diff(field, other, crate::model::json::Arrays::ByElement)
                {
                    changes.push(format!(
                        "config field `{key}`{}: {}",
                        change.pointer,
                        crate::report::diff::change_text(&change)
                    ));
                }
            }
        }
    }
    for key in b.keys().filter(|k| !a.contains_key(*k)) {
        changes.push(format!("config field `{key}` added"));
    }
    changes
}

fn load(path: &Path, seed: u64) -> Result<Arc<LoadedPlugin>, HarnessError> {
    let source = crate::sources::resolve(path)?;
    let options = LoadOptions {
        config: BTreeMap::new(),
        random_seed: seed,
        measure_fuel: false,
        verify_config: true,
        build: Default::default(),
        clock: Default::default(),
        runtime: None,
    };
    crate::plugin::load(&source, &options)
        .map(Arc::new)
        .map_err(|e| HarnessError::Other(format!("{}: {} ({})", path.display(), e.message, e.rule)))
}

/// Loads both plugins and compares them over the corpus.
pub fn diff_plugins(
    old: &Path,
    new: &Path,
    corpus: &Corpus,
    seed: u64,
) -> Result<DiffReport, HarnessError> {
    let old_plugin = load(old, seed)?;
    let new_plugin = load(new, seed)?;
    let (old_outcomes, mut warnings) = run_corpus(vec![old_plugin.clone()], corpus);
    let (new_outcomes, new_warnings) = run_corpus(vec![new_plugin.clone()], corpus);
    warnings.extend(new_warnings);
    let mut report = compare(corpus, &old_outcomes, &new_outcomes);
    report.old_name = format!("{} {}", old_plugin.name, old_plugin.manifest.version);
    report.new_name = format!("{} {}", new_plugin.name, new_plugin.manifest.version);
    report.manifest_changes = manifest_changes(&old_plugin.manifest, &new_plugin.manifest);
    report.warnings = warnings;
    Ok(report)
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pipeline_properties_are_not_compared() {
        let a = normalized(json!({"properties": {"x": 1, "$plugins_succeeded": ["a (1)"]}}));
        let b = normalized(json!({"properties": {"x": 1, "$plugins_failed": ["b (1)"]}}));
        assert_eq!(a, b);
    }
}
