//! Verification: a closed list of stages, run in a fixed order for each plugin, each producing
//! findings; any error finding rejects the plugin. The verdict reads top to bottom like the
//! report a plugin author gets.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::corpus::Corpus;
use crate::pipeline::{Pipeline, StepOutcome};
use crate::plugin::{LoadOptions, LoadedPlugin, PluginSource};

/// The stages of `verify`, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Build (for a crate), compile, link and check the exports against the contract.
    Load,
    /// Run every corpus event through the plugin alone, in the reference pipeline.
    Corpus,
}

impl Stage {
    pub const ALL: [Stage; 2] = [Stage::Load, Stage::Corpus];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Load => "load",
            Stage::Corpus => "corpus",
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
        if let Some(pointer) = &self.pointer {
            parts.push(format!("at {pointer}"));
        }
        if let Some(uuid) = &self.uuid {
            parts.push(format!("uuid {uuid}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// One thing a stage found, with a stable rule id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// The component that was judged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComponentInfo {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: usize,
    pub exports: Vec<&'static str>,
}

/// One plugin's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
    /// Reject on warnings too.
    pub strict: bool,
    pub load: LoadOptions,
}

/// How many examples a recurring finding keeps.
pub const EXAMPLES_PER_FINDING: usize = 3;

/// Verifies one plugin. Never fails: everything wrong with the plugin is in the verdict.
pub fn verify_plugin(source: &PluginSource, options: &VerifyOptions) -> Verdict {
    let mut verdict = Verdict {
        plugin: source.display_name(),
        version: None,
        source: source.dir().to_owned(),
        approved: false,
        reason: None,
        component: None,
        stages: Vec::new(),
    };
    let mut loaded = None;
    for stage in Stage::ALL {
        let started = Instant::now();
        let mut report = match (stage, &loaded) {
            (Stage::Load, _) => {
                let (report, plugin) = load_stage(source, options);
                if let Some(plugin) = &plugin {
                    let plugin: &LoadedPlugin = plugin;
                    verdict.plugin = plugin.name.clone();
                    verdict.version = Some(plugin.manifest.version.clone());
                    verdict.component = Some(ComponentInfo {
                        path: plugin.component_path.clone(),
                        sha256: plugin.sha256.clone(),
                        bytes: plugin.component_bytes,
                        exports: plugin.exports.names(),
                    });
                }
                loaded = plugin;
                report
            }
            (Stage::Corpus, Some(plugin)) => corpus_stage(plugin, options),
            (_, None) => skipped(stage, "the plugin did not load"),
        };
        report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        verdict.stages.push(report);
    }
    decide(&mut verdict, options.strict);
    verdict
}

fn skipped(stage: Stage, why: &str) -> StageReport {
    StageReport {
        stage,
        status: StageStatus::Skipped,
        summary: format!("skipped: {why}"),
        findings: Vec::new(),
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

fn load_stage(
    source: &PluginSource,
    options: &VerifyOptions,
) -> (StageReport, Option<Arc<LoadedPlugin>>) {
    let mut report = StageReport {
        stage: Stage::Load,
        status: StageStatus::Passed,
        summary: String::new(),
        findings: Vec::new(),
        duration_ms: 0.0,
        metrics: BTreeMap::new(),
    };
    match crate::plugin::load(source, &options.load) {
        Err(error) => {
            report.summary = "could not load the plugin".into();
            report
                .findings
                .push(Finding::error(error.rule, error.message).at(Location {
                    file: error.file,
                    ..Location::default()
                }));
            (report, None)
        }
        Ok(plugin) => {
            let built = if plugin.build_time.as_millis() > 0
                && matches!(source, PluginSource::Directory(d) if d.join("Cargo.toml").is_file())
            {
                format!("built in {:.1} s; ", plugin.build_time.as_secs_f64())
            } else {
                String::new()
            };
            report.summary = format!(
                "{built}component {} KiB, sha256 {}…; exports {}; compiled in {} ms{}",
                plugin.component_bytes.div_ceil(1024),
                &plugin.sha256[..12],
                plugin.exports.names().join(", "),
                plugin.compile_time.as_millis(),
                if plugin.compile_cache_hit {
                    " (cached)"
                } else {
                    ""
                },
            );
            report
                .metrics
                .insert("componentBytes".into(), plugin.component_bytes.into());
            report.metrics.insert(
                "compileMs".into(),
                (plugin.compile_time.as_secs_f64() * 1000.0).into(),
            );
            (report, Some(Arc::new(plugin)))
        }
    }
}

/// Collects occurrences of one rule into one finding with a few examples.
#[derive(Default)]
struct FindingCollector {
    by_rule: BTreeMap<String, Finding>,
}

impl FindingCollector {
    fn add(&mut self, rule: &str, message: &str, location: Location) {
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

    fn into_findings(self, events: usize) -> Vec<Finding> {
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

fn corpus_stage(plugin: &Arc<LoadedPlugin>, options: &VerifyOptions) -> StageReport {
    let corpus = &options.corpus;
    let mut pipeline = Pipeline::new(vec![plugin.clone()]);
    let mut findings = FindingCollector::default();
    for (name, failure) in pipeline.start() {
        findings.add(
            "load/setup-failed",
            &format!("{name}: {}", failure.message),
            Location {
                file: Some(plugin.source.manifest_path()),
                ..Location::default()
            },
        );
    }
    let mut fuel = Vec::with_capacity(corpus.events.len());
    for sourced in &corpus.events {
        let result = pipeline.process(sourced.event.clone());
        let location = || Location {
            file: Some(sourced.file.to_path_buf()),
            line: Some(sourced.line),
            uuid: sourced.uuid().map(str::to_owned),
            ..Location::default()
        };
        for step in &result.steps {
            if let StepOutcome::Failed { failure } = &step.outcome {
                findings.add(failure.kind.rule(), &failure.message, location());
            }
            if !matches!(step.outcome, StepOutcome::Disabled) {
                fuel.push(step.fuel);
            }
        }
        for (_, failure) in &result.on_event_failures {
            findings.add(
                &format!("{}-on-event", failure.kind.rule()),
                &failure.message,
                location(),
            );
        }
    }
    let peak_memory = pipeline
        .peak_memory()
        .first()
        .map_or(0, |(_, bytes)| *bytes);
    let summary = pipeline.finish();
    fuel.sort_unstable();
    let counts = summary
        .per_plugin
        .first()
        .map(|(_, c)| c.clone())
        .unwrap_or_default();
    let mut metrics = BTreeMap::new();
    metrics.insert("events".into(), summary.events_in.into());
    metrics.insert("emitted".into(), summary.emitted.into());
    metrics.insert("dropped".into(), summary.dropped.into());
    metrics.insert("failed".into(), counts.failed.into());
    metrics.insert("onEventFailed".into(), counts.on_event_failed.into());
    metrics.insert("captured".into(), counts.captured.into());
    metrics.insert("fuelMedian".into(), quantile(&fuel, 0.5).into());
    metrics.insert("fuelP99".into(), quantile(&fuel, 0.99).into());
    metrics.insert("fuelMax".into(), fuel.last().copied().unwrap_or(0).into());
    metrics.insert("peakMemoryBytes".into(), peak_memory.into());
    StageReport {
        stage: Stage::Corpus,
        status: StageStatus::Passed,
        summary: format!(
            "{} events: {} emitted, {} dropped, {} failed; fuel per event median {}, p99 {}, max {}; memory {} KiB",
            summary.events_in,
            summary.emitted,
            summary.dropped,
            counts.failed + counts.on_event_failed,
            human_count(quantile(&fuel, 0.5)),
            human_count(quantile(&fuel, 0.99)),
            human_count(fuel.last().copied().unwrap_or(0)),
            peak_memory / 1024,
        ),
        findings: findings.into_findings(corpus.events.len()),
        duration_ms: 0.0,
        metrics,
    }
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
