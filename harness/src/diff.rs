//! `harness diff OLD NEW`: what a new version of a plugin does differently from the old one,
//! over the corpus: changed outputs (as JSON pointers), drops, failures, fuel and manifest.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use serde_json::Value;

use crate::corpus::Corpus;
use crate::error::HarnessError;
use crate::manifest::Manifest;
use crate::pipeline::{Disposition, Pipeline, StepOutcome};
use crate::plugin::{LoadOptions, LoadedPlugin};

/// Properties the pipeline adds; they name positions, not behaviour, and are not compared.
pub const PIPELINE_PROPERTIES: [&str; 2] = ["$plugins_succeeded", "$plugins_failed"];

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old plugin: a directory (plugin.json and a crate or a component) or a .wasm with a
    /// plugin.json beside it.
    pub old: PathBuf,
    /// The new plugin, in the same forms.
    pub new: PathBuf,
    /// The event corpus: a directory of .jsonl files.
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// How many changed events to show with their JSON diff.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub show: usize,
    /// Write a Markdown report (for a pull request) to stdout.
    #[arg(long)]
    pub markdown: bool,
    /// Seed of the plugins' random numbers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

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
            let result = pipeline.process(sourced.event.clone());
            let mut failures: Vec<String> = result
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
                        .map(|(_, failure)| format!("{}-on-event", failure.kind.rule())),
                )
                .collect();
            failures.sort();
            Outcome {
                output: match result.disposition {
                    Disposition::Emitted { event } => Some(normalized(event)),
                    Disposition::Dropped { .. } => None,
                },
                failures,
                fuel: result.steps.iter().map(|s| s.fuel).sum(),
            }
        })
        .collect();
    let _ = pipeline.finish();
    (outcomes, warnings)
}

/// One difference between two JSON values, at a JSON pointer.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub pointer: String,
    /// `None`: added.
    pub old: Option<Value>,
    /// `None`: removed.
    pub new: Option<Value>,
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The differences between two JSON values: changed, added and removed pointers, in order.
pub fn json_diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    diff_into(String::new(), old, new, &mut changes);
    changes
}

fn diff_into(pointer: String, old: &Value, new: &Value, changes: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let child = format!("{pointer}/{}", escape_pointer(key));
                match b.get(key) {
                    Some(other) => diff_into(child, value, other, changes),
                    None => changes.push(Change {
                        pointer: child,
                        old: Some(value.clone()),
                        new: None,
                    }),
                }
            }
            for (key, value) in b {
                if !a.contains_key(key) {
                    changes.push(Change {
                        pointer: format!("{pointer}/{}", escape_pointer(key)),
                        old: None,
                        new: Some(value.clone()),
                    });
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for index in 0..a.len().max(b.len()) {
                let child = format!("{pointer}/{index}");
                match (a.get(index), b.get(index)) {
                    (Some(x), Some(y)) => diff_into(child, x, y, changes),
                    (x, y) => changes.push(Change {
                        pointer: child,
                        old: x.cloned(),
                        new: y.cloned(),
                    }),
                }
            }
        }
        _ if old == new => {}
        _ => changes.push(Change {
            pointer,
            old: Some(old.clone()),
            new: Some(new.clone()),
        }),
    }
}

/// Median and p99 (nearest rank) of the values.
pub fn median_p99(values: &[u64]) -> (u64, u64) {
    if values.is_empty() {
        return (0, 0);
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    (rank(0.5), rank(0.99))
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
            (Some(x), Some(y)) if x != y => {
                report.changed.push((location.clone(), json_diff(x, y)))
            }
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
    report.fuel_old = median_p99(&old.iter().map(|o| o.fuel).collect::<Vec<_>>());
    report.fuel_new = median_p99(&new.iter().map(|o| o.fuel).collect::<Vec<_>>());
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
        for change in json_diff(&a, &b) {
            changes.push(format!(
                "{name}{}: {}",
                change.pointer,
                change_text(&change)
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
                for change in json_diff(field, other) {
                    changes.push(format!(
                        "config field `{key}`{}: {}",
                        change.pointer,
                        change_text(&change)
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

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(79).collect::<String>())
    } else {
        text
    }
}

fn change_text(change: &Change) -> String {
    match (&change.old, &change.new) {
        (Some(a), Some(b)) => format!("{} → {}", short(a), short(b)),
        (None, Some(b)) => format!("added {}", short(b)),
        (Some(a), None) => format!("removed (was {})", short(a)),
        (None, None) => String::new(),
    }
}

fn load(path: &Path, seed: u64) -> Result<Arc<LoadedPlugin>, HarnessError> {
    let source = crate::sources::resolve(path)?;
    let options = LoadOptions {
        config: BTreeMap::new(),
        random_seed: seed,
        measure_fuel: false,
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

fn list(locations: &[String], show: usize) -> String {
    let mut text = locations
        .iter()
        .take(show)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if locations.len() > show {
        let _ = write!(text, ", … ({} more)", locations.len() - show);
    }
    text
}

/// The human report (for stderr).
pub fn human(report: &DiffReport, show: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "diff {} → {} over {} events",
        report.old_name, report.new_name, report.events
    );
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    if !report.manifest_changes.is_empty() {
        let _ = writeln!(out, "manifest:");
        for change in &report.manifest_changes {
            let _ = writeln!(out, "  {change}");
        }
    }
    let _ = writeln!(out, "changed outputs: {}", report.changed.len());
    for (location, changes) in report.changed.iter().take(show) {
        let _ = writeln!(out, "  {location}");
        for change in changes {
            let _ = writeln!(out, "    {}: {}", change.pointer, change_text(change));
        }
    }
    if report.changed.len() > show {
        let _ = writeln!(out, "  … {} more (--show N)", report.changed.len() - show);
    }
    let _ = writeln!(out, "newly dropped: {}", report.newly_dropped.len());
    if !report.newly_dropped.is_empty() {
        let _ = writeln!(out, "  {}", list(&report.newly_dropped, show));
    }
    let _ = writeln!(out, "no longer dropped: {}", report.no_longer_dropped.len());
    if !report.no_longer_dropped.is_empty() {
        let _ = writeln!(out, "  {}", list(&report.no_longer_dropped, show));
    }
    for (title, failures) in [
        ("new failures", &report.new_failures),
        ("fixed failures", &report.fixed_failures),
    ] {
        let total: usize = failures.values().map(Vec::len).sum();
        let _ = writeln!(out, "{title}: {total}");
        for (rule, locations) in failures {
            let _ = writeln!(
                out,
                "  {rule} ({}): {}",
                locations.len(),
                list(locations, show)
            );
        }
    }
    let _ = writeln!(
        out,
        "fuel per event: median {} → {}, p99 {} → {}",
        report.fuel_old.0, report.fuel_new.0, report.fuel_old.1, report.fuel_new.1
    );
    let _ = writeln!(
        out,
        "{}",
        if report.identical() {
            "behaviour identical"
        } else {
            "behaviour differs"
        }
    );
    out
}

/// The Markdown report (for a pull request).
pub fn markdown(report: &DiffReport, show: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Plugin diff: `{}` → `{}`\n\n{} over {} corpus events.\n",
        report.old_name,
        report.new_name,
        if report.identical() {
            "**Behaviour identical**"
        } else {
            "**Behaviour differs**"
        },
        report.events
    );
    let _ = writeln!(out, "| | count |\n| --- | --- |");
    let _ = writeln!(out, "| changed outputs | {} |", report.changed.len());
    let _ = writeln!(out, "| newly dropped | {} |", report.newly_dropped.len());
    let _ = writeln!(
        out,
        "| no longer dropped | {} |",
        report.no_longer_dropped.len()
    );
    let _ = writeln!(
        out,
        "| new failures | {} |",
        report.new_failures.values().map(Vec::len).sum::<usize>()
    );
    let _ = writeln!(
        out,
        "| fixed failures | {} |",
        report.fixed_failures.values().map(Vec::len).sum::<usize>()
    );
    let _ = writeln!(
        out,
        "\nFuel per event: median {} → {}, p99 {} → {}.\n",
        report.fuel_old.0, report.fuel_new.0, report.fuel_old.1, report.fuel_new.1
    );
    if !report.manifest_changes.is_empty() {
        let _ = writeln!(out, "### Manifest\n");
        for change in &report.manifest_changes {
            let _ = writeln!(out, "- {change}");
        }
        out.push('\n');
    }
    for (title, failures) in [
        ("New failures", &report.new_failures),
        ("Fixed failures", &report.fixed_failures),
    ] {
        if !failures.is_empty() {
            let _ = writeln!(out, "### {title}\n");
            for (rule, locations) in failures {
                let _ = writeln!(
                    out,
                    "- `{rule}` ({}): {}",
                    locations.len(),
                    list(locations, show)
                );
            }
            out.push('\n');
        }
    }
    for (title, locations) in [
        ("Newly dropped", &report.newly_dropped),
        ("No longer dropped", &report.no_longer_dropped),
    ] {
        if !locations.is_empty() {
            let _ = writeln!(out, "### {title}\n\n{}\n", list(locations, show));
        }
    }
    if !report.changed.is_empty() {
        let _ = writeln!(out, "### Changed outputs\n");
        for (location, changes) in report.changed.iter().take(show) {
            let _ = writeln!(
                out,
                "<details><summary><code>{location}</code></summary>\n\n```diff"
            );
            for change in changes {
                if let Some(old) = &change.old {
                    let _ = writeln!(out, "- {}: {}", change.pointer, short(old));
                }
                if let Some(new) = &change.new {
                    let _ = writeln!(out, "+ {}: {}", change.pointer, short(new));
                }
            }
            let _ = writeln!(out, "```\n\n</details>\n");
        }
        if report.changed.len() > show {
            let _ = writeln!(out, "… and {} more.", report.changed.len() - show);
        }
    }
    out
}

/// `harness diff`: exit 0 when the behaviour is identical, 1 when it differs.
pub fn execute(args: &DiffArgs) -> Result<u8, HarnessError> {
    let corpus_dir = args
        .corpus
        .clone()
        .unwrap_or_else(|| PathBuf::from("corpus"));
    let corpus = Corpus::load(&corpus_dir)?;
    let report = diff_plugins(&args.old, &args.new, &corpus, args.seed)?;
    eprint!("{}", human(&report, args.show));
    if args.markdown {
        print!("{}", markdown(&report, args.show));
    }
    Ok(if report.identical() {
        crate::cli::exit::OK
    } else {
        crate::cli::exit::REJECTED
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_diff_lists_changed_added_and_removed_pointers() {
        let old = json!({"a": 1, "b": {"c": [1, 2]}, "d/e": true});
        let new = json!({"a": 2, "b": {"c": [1]}, "f": null});
        let changes = json_diff(&old, &new);
        let pointers: Vec<_> = changes.iter().map(|c| c.pointer.as_str()).collect();
        assert_eq!(pointers, ["/a", "/b/c/1", "/d~1e", "/f"]);
        assert_eq!(changes[1].new, None);
        assert_eq!(changes[3].old, None);
        assert!(json_diff(&old, &old).is_empty());
    }

    #[test]
    fn pipeline_properties_are_not_compared() {
        let a = normalized(json!({"properties": {"x": 1, "$plugins_succeeded": ["a (1)"]}}));
        let b = normalized(json!({"properties": {"x": 1, "$plugins_failed": ["b (1)"]}}));
        assert_eq!(a, b);
    }

    #[test]
    fn median_and_p99_by_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(median_p99(&values), (50, 99));
        assert_eq!(median_p99(&[]), (0, 0));
    }
}
