//! One plugin's verdict: its stages, and whether it is approved.

use std::path::PathBuf;

use serde::Serialize;

use super::finding::{Finding, Severity};
use super::limits::EffectiveLimits;
use super::stage::{Stage, StageReport, StageStatus};

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
    /// The requests verification answered from fixtures (`METHOD URL`, `*` a prefix): all an
    /// approval lets the plugin send in `run`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http_requests: Vec<String>,
    /// The limits the plugin runs under.
    pub limits: EffectiveLimits,
    /// sha256 of the canonical form of everything in plugin.json that changes behaviour or
    /// authority (see `manifest::Manifest::digest`): what an approval pins besides the
    /// component.
    pub manifest_sha256: String,
}

/// The conditions a verification ran under, recorded in the report and the lock so that a
/// verdict can be reproduced: the environment policy, the seeds, the corpus, the engine and the
/// cost model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    /// The environment plugins saw: [`ENVIRONMENT_POLICY`].
    pub environment: String,
    pub random_seed: u64,
    pub property_seed: u64,
    pub property_cases: u32,
    /// sha256 over the corpus files, in order (file name, then bytes).
    pub corpus_sha256: String,
    pub wasmtime: String,
    pub fuel_per_kib: u64,
}

/// The verification environment's version: the deterministic clock (from
/// `CLOCK_START_SECONDS`, 1 ms per reading), seeded random numbers, http from fixtures,
/// in-memory storage and cache. Bumped when any of these changes.
pub const ENVIRONMENT_POLICY: &str = "deterministic-1";

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

impl Verdict {
    /// Approves the plugin when no stage has an error (or, strict, a warning); fills in each
    /// stage's status and the one-line reason.
    pub fn decide(&mut self, strict: bool) {
        let rejects = |f: &Finding| {
            f.severity == Severity::Error || (strict && f.severity == Severity::Warning)
        };
        for stage in &mut self.stages {
            if stage.status != StageStatus::Skipped {
                stage.status = if stage.findings.iter().any(rejects) {
                    StageStatus::Failed
                } else {
                    StageStatus::Passed
                };
            }
        }
        let first = self
            .stages
            .iter()
            .flat_map(|s| s.findings.iter().map(move |f| (s.stage, f)))
            .find(|(_, f)| rejects(f));
        self.approved = first.is_none();
        self.reason = first.map(|(stage, finding)| {
            let message = finding.message.lines().next().unwrap_or("");
            format!("{} stage: {} ({})", stage.name(), message, finding.rule)
        });
    }

    /// Whether the stage `stage` (already run) found an error.
    pub fn has_errors(stages: &[StageReport], stage: Stage) -> bool {
        stages
            .iter()
            .filter(|s| s.stage == stage)
            .flat_map(|s| &s.findings)
            .any(|f| f.severity == Severity::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(findings: Vec<Finding>) -> Verdict {
        Verdict {
            plugin: "p".into(),
            version: None,
            source: PathBuf::from("p"),
            approved: false,
            reason: None,
            component: None,
            stages: vec![StageReport::new(Stage::Corpus, String::new(), findings)],
        }
    }

    #[test]
    fn any_error_rejects_and_the_reason_names_stage_and_rule() {
        let mut verdict = verdict(vec![Finding::new(
            "run/trap",
            "wasm trap: unreachable\nmore",
        )]);
        verdict.decide(false);
        assert!(!verdict.approved);
        assert_eq!(verdict.stages[0].status, StageStatus::Failed);
        assert_eq!(
            verdict.reason.as_deref(),
            Some("corpus stage: wasm trap: unreachable (run/trap)")
        );
    }

    #[test]
    fn warnings_reject_only_when_strict() {
        let warning = Finding::new("snapshot/stale", "careful");
        assert_eq!(warning.severity, Severity::Warning);
        let mut verdict = verdict(vec![warning]);
        verdict.decide(false);
        assert!(verdict.approved);
        verdict.decide(true);
        assert!(!verdict.approved);
    }
}
