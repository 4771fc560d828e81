//! The stages of `verify` and what each reports.

use std::collections::BTreeMap;

use serde::Serialize;

use super::finding::Finding;

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
    /// A simulated day of the plugin's scheduled tasks on the logical clock (only for a
    /// plugin that exports one).
    Tasks,
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
    pub const ALL: [Stage; 9] = [
        Stage::Static,
        Stage::Load,
        Stage::Corpus,
        Stage::Tasks,
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
            Stage::Tasks => "tasks",
            Stage::Schema => "schema",
            Stage::Budget => "budget",
            Stage::Property => "property",
            Stage::Snapshot => "snapshot",
            Stage::Bench => "bench",
        }
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

impl StageReport {
    /// A report for a stage that ran, before the verdict sets its status.
    pub fn new(stage: Stage, summary: String, findings: Vec<Finding>) -> StageReport {
        StageReport {
            stage,
            status: StageStatus::Passed,
            summary,
            findings,
            duration_ms: 0.0,
            metrics: BTreeMap::new(),
        }
    }

    /// A report for a stage that did not run, saying why.
    pub fn skipped(stage: Stage, why: &str) -> StageReport {
        StageReport {
            status: StageStatus::Skipped,
            ..StageReport::new(stage, format!("skipped: {why}"), Vec::new())
        }
    }

    /// Records a figure the stage measured.
    pub fn metric(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.metrics.insert(key.to_owned(), value.into());
    }
}
