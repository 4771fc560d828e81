//! Verification: a closed list of stages, run in a fixed order for each plugin, each producing
//! findings; any error finding rejects the plugin. The verdict reads top to bottom like the
//! report a plugin author gets.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::corpus::Corpus;
use crate::manifest::Manifest;
use crate::pipeline::EventResult;
use crate::plugin::{Artifact, LoadOptions, LoadedPlugin, PluginSource};

/// The stages of `verify`, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Analyse the manifest, the component and the crate's dependencies without running
    /// anything; an error stops verification here.
    Static,
    /// Build (for a crate), compile, link and check the exports against the contract.
    Load,
    /// Run every corpus event through the plugin alone, in the reference pipeline.
    Corpus,
    /// Check every event the plugin emitted against the event schemas and its declared
    /// output schema.
    Schema,
    /// Compare fuel per event with the plugin's budget; flag cost that grows faster than the
    /// event.
    Budget,
    /// Generated events (proptest) against the rules every plugin keeps; failures shrunk and
    /// saved as regressions.
    Property,
    /// What the plugin did to every corpus event, compared with the snapshots beside it.
    Snapshot,
    /// Throughput over the corpus (only with `--bench`; a gate with `--min-throughput`).
    Bench,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Static,
        Stage::Load,
        Stage::Corpus,
        Stage::Schema,
        Stage::Budget,
        Stage::Property,
        Stage::Snapshot,
        Stage::Bench,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Static => "static",
            Stage::Load => "load",
            Stage::Corpus => "corpus",
            Stage::Schema => "schema",
            Stage::Budget => "budget",
            Stage::Property => "property",
            Stage::Snapshot => "snapshot",
            Stage::Bench => "bench",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// Where a finding applies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// A JSON pointer into the file's document or the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The event's uuid, for findings about an event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(file) = &self.file {
            parts.push(match self.line {
                Some(line) => format!("{}:{line}", file.display()),
                None => file.display().to_string(),
            });
        }
        match self.pointer.as_deref() {
            Some("") => parts.push("at the event's root".into()),
            Some(pointer) => parts.push(format!("at {pointer}")),
            None => {}
        }
        if let Some(uuid) = &self.uuid {
            parts.push(format!("uuid {uuid}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// One thing a stage found, with a stable rule id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// How many times it occurred (events, for findings about events).
    pub occurrences: u64,
    /// The first few occurrences, for findings that recur.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Example>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Example {
    pub location: Location,
    pub message: String,
}

impl Finding {
    pub fn error(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            rule: rule.into(),
            severity: Severity::Error,
            message: message.into(),
            location: None,
            occurrences: 1,
            examples: Vec::new(),
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Passed,
    Failed,
    /// Not run, because an earlier stage failed in a way that leaves nothing to run.
    Skipped,
}

/// What one stage did for one plugin.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageReport {
    pub stage: Stage,
    pub status: StageStatus,
    /// One line: what the stage saw.
    pub summary: String,
    pub findings: Vec<Finding>,
    pub duration_ms: f64,
    /// Figures the stage measured (counts, fuel).
    pub metrics: BTreeMap<String, serde_json::Value>,
}

/// The component that was judged, and what it would be granted if approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentInfo {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: usize,
    pub exports: Vec<&'static str>,
    /// Declared capabilities (besides `log`), by interface name.
    pub capabilities: Vec<&'static str>,
    /// Hosts `http` may reach.
    pub http_hosts: Vec<String>,
    /// The limits the plugin runs under.
    pub limits: crate::limits::EffectiveLimits,
}

/// One plugin's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub plugin: String,
    pub version: Option<String>,
    pub source: PathBuf,
    pub approved: bool,
    /// One line saying why, for a rejected plugin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentInfo>,
    pub stages: Vec<StageReport>,
}

/// How to verify.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The corpus, loaded (and checked) once for all plugins.
    pub corpus: Arc<Corpus>,
    /// Path dependencies of a crate plugin outside this directory are warnings (the
    /// repository's root; `None`: the crate's workspace).
    pub library_root: Option<PathBuf>,
    /// The event schemas, compiled once; `None` skips the schema stage.
    pub schemas: Option<Arc<crate::schema::EventSchemas>>,
    /// Reject on warnings too.
    pub strict: bool,
    /// The bench stage: off unless asked.
    pub bench: crate::stages::bench::BenchOptions,
    pub load: LoadOptions,
    /// The property stage: generated events, seed, saved regressions.
    pub property: crate::stages::property::PropertyOptions,
    /// What the snapshot stage writes: nothing (CI), pending snapshots (local), or all.
    pub snapshots: crate::stages::snapshot::SnapshotMode,
}

impl VerifyOptions {
    /// Options for verifying against `corpus` as `cargo xtask verify` does by default, without
    /// event schemas or a library root: fuel measured up to the ceiling, the default property
    /// run, snapshots in local review mode, no bench.
    pub fn new(corpus: Arc<Corpus>) -> VerifyOptions {
        VerifyOptions {
            corpus,
            library_root: None,
            schemas: None,
            strict: false,
            bench: Default::default(),
            load: LoadOptions {
                measure_fuel: true,
                ..LoadOptions::default()
            },
            property: Default::default(),
            snapshots: crate::stages::snapshot::SnapshotMode::Review,
        }
    }
}

/// How many examples a recurring finding keeps.
pub const EXAMPLES_PER_FINDING: usize = 3;

/// The plugin being verified, filled in as the stages run; a stage whose inputs are missing
/// (because an earlier stage could not produce them) is skipped.
pub struct Subject {
    pub source: PluginSource,
    /// `plugin.json`'s text, when it could be read.
    pub manifest_text: Option<String>,
    pub manifest: Option<Manifest>,
    pub artifact: Option<Artifact>,
    pub plugin: Option<Arc<LoadedPlugin>>,
    /// What the plugin alone did with each corpus event (same order as the corpus).
    pub corpus_results: Vec<EventResult>,
}

/// Verifies one plugin. Never fails: everything wrong with the plugin is in the verdict.
pub fn verify_plugin(source: &PluginSource, options: &VerifyOptions) -> Verdict {
    let mut subject = Subject {
        source: source.clone(),
        manifest_text: None,
        manifest: None,
        artifact: None,
        plugin: None,
        corpus_results: Vec::new(),
    };
    let mut stages = Vec::new();
    for stage in Stage::ALL {
        let started = Instant::now();
        let mut report = match stage {
            Stage::Static => crate::stages::static_stage::run(&mut subject, options),
            Stage::Load if static_errors(&stages) => skipped(
                Stage::Load,
                "the static stage found errors; nothing of the plugin runs",
            ),
            Stage::Load => crate::stages::load::run(&mut subject, options),
            Stage::Corpus => crate::stages::corpus::run(&mut subject, options),
            Stage::Schema => crate::stages::schema::run(&mut subject, options),
            Stage::Budget => crate::stages::budget::run(&mut subject, options),
            Stage::Property => crate::stages::property::run(&mut subject, options),
            Stage::Snapshot => crate::stages::snapshot::run(&mut subject, options),
            Stage::Bench => crate::stages::bench::run(&mut subject, options),
        };
        report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        stages.push(report);
    }
    let mut verdict = Verdict {
        plugin: subject
            .manifest
            .as_ref()
            .map_or_else(|| source.display_name(), |m| m.name.clone()),
        version: subject.manifest.as_ref().map(|m| m.version.clone()),
        source: source.dir().to_owned(),
        approved: false,
        reason: None,
        component: subject.plugin.as_ref().map(|plugin| ComponentInfo {
            path: plugin.component_path.clone(),
            sha256: plugin.sha256.clone(),
            bytes: plugin.component_bytes,
            exports: plugin.exports.names(),
            capabilities: plugin.manifest.capabilities.names(),
            http_hosts: plugin
                .manifest
                .capabilities
                .http
                .as_ref()
                .map_or_else(Vec::new, |http| http.hosts.clone()),
            limits: *plugin.limits(),
        }),
        stages,
    };
    decide(&mut verdict, options.strict);
    verdict
}

/// Whether the static stage (already run) found an error.
fn static_errors(stages: &[StageReport]) -> bool {
    stages
        .iter()
        .filter(|s| s.stage == Stage::Static)
        .flat_map(|s| &s.findings)
        .any(|f| f.severity == Severity::Error)
}

/// A report for a stage that did not run, saying why.
pub fn skipped(stage: Stage, why: &str) -> StageReport {
    StageReport {
        stage,
        status: StageStatus::Skipped,
        summary: format!("skipped: {why}"),
        findings: Vec::new(),
        duration_ms: 0.0,
        metrics: BTreeMap::new(),
    }
}

/// A report for a stage that ran, before `decide` sets its status.
pub fn report(stage: Stage, summary: String, findings: Vec<Finding>) -> StageReport {
    StageReport {
        stage,
        status: StageStatus::Passed,
        summary,
        findings,
        duration_ms: 0.0,
        metrics: BTreeMap::new(),
    }
}

/// Approves the plugin when no stage has an error (or, strict, a warning); fills in each
/// stage's status and the one-line reason.
fn decide(verdict: &mut Verdict, strict: bool) {
    let rejects =
        |f: &Finding| f.severity == Severity::Error || (strict && f.severity == Severity::Warning);
    for stage in &mut verdict.stages {
        if stage.status != StageStatus::Skipped {
            stage.status = if stage.findings.iter().any(rejects) {
                StageStatus::Failed
            } else {
                StageStatus::Passed
            };
        }
    }
    let first = verdict
        .stages
        .iter()
        .flat_map(|s| s.findings.iter().map(move |f| (s.stage, f)))
        .find(|(_, f)| rejects(f));
    verdict.approved = first.is_none();
    verdict.reason = first.map(|(stage, finding)| {
        let message = finding.message.lines().next().unwrap_or("");
        format!("{} stage: {} ({})", stage.name(), message, finding.rule)
    });
}

/// Collects occurrences of one rule into one finding with a few examples.
#[derive(Default)]
pub struct FindingCollector {
    by_rule: BTreeMap<String, Finding>,
}

impl FindingCollector {
    pub fn add(&mut self, rule: &str, message: &str, location: Location) {
        let finding = self
            .by_rule
            .entry(rule.to_owned())
            .or_insert_with(|| Finding {
                rule: rule.to_owned(),
                severity: Severity::Error,
                message: message.to_owned(),
                location: Some(location.clone()),
                occurrences: 0,
                examples: Vec::new(),
            });
        finding.occurrences += 1;
        if finding.examples.len() < EXAMPLES_PER_FINDING {
            finding.examples.push(Example {
                location,
                message: message.to_owned(),
            });
        }
    }

    pub fn into_findings(self, events: usize) -> Vec<Finding> {
        self.by_rule
            .into_values()
            .map(|mut finding| {
                finding.message = format!(
                    "{} on {} of {events} events; first: {}",
                    finding.rule, finding.occurrences, finding.message
                );
                finding
            })
            .collect()
    }
}

/// The value at quantile `q` (0..=1) of sorted `values`.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// `1234567` as `1.2M`, `52000` as `52k`.
pub fn human_count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{}k", n / 1_000),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sorted_values() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&values, 0.5), 51);
        assert_eq!(quantile(&values, 0.99), 99);
        assert_eq!(quantile(&values, 1.0), 100);
        assert_eq!(quantile(&[], 0.5), 0);
    }

    #[test]
    fn counts_read_like_people_write_them() {
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(52_300), "52k");
        assert_eq!(human_count(1_250_000), "1.2M");
    }

    #[test]
    fn any_error_rejects_and_the_reason_names_stage_and_rule() {
        let mut verdict = Verdict {
            plugin: "p".into(),
            version: None,
            source: PathBuf::from("p"),
            approved: true,
            reason: None,
            component: None,
            stages: vec![StageReport {
                stage: Stage::Corpus,
                status: StageStatus::Passed,
                summary: String::new(),
                findings: vec![Finding::error("run/trap", "wasm trap: unreachable\nmore")],
                duration_ms: 0.0,
                metrics: BTreeMap::new(),
            }],
        };
        decide(&mut verdict, false);
        assert!(!verdict.approved);
        assert_eq!(verdict.stages[0].status, StageStatus::Failed);
        assert_eq!(
            verdict.reason.as_deref(),
            Some("corpus stage: wasm trap: unreachable (run/trap)")
        );
    }

    #[test]
    fn warnings_reject_only_when_strict() {
        let mut warning = Finding::error("x/y", "careful");
        warning.severity = Severity::Warning;
        let stage = StageReport {
            stage: Stage::Load,
            status: StageStatus::Passed,
            summary: String::new(),
            findings: vec![warning],
            duration_ms: 0.0,
            metrics: BTreeMap::new(),
        };
        let mut verdict = Verdict {
            plugin: "p".into(),
            version: None,
            source: PathBuf::from("p"),
            approved: false,
            reason: None,
            component: None,
            stages: vec![stage],
        };
        decide(&mut verdict, false);
        assert!(verdict.approved);
        decide(&mut verdict, true);
        assert!(!verdict.approved);
    }
}
