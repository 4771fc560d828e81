//! Rendering results. Only this module turns verdicts and summaries into text: for people
//! (colour on a terminal, plain when piped) and for machines, in the formats CI tools read:
//! the JSON report (the stable interface, `schemas/report.schema.json`), Markdown for a pull
//! request or `$GITHUB_STEP_SUMMARY`, JUnit XML, SARIF, GitHub annotations, and the
//! self-contained HTML pages `report.html` and `diff.html` for reviewers.

pub mod diff;
mod formats;
mod html;
mod human;
pub mod order;
mod progress;

pub use formats::{github_annotations, junit, markdown, sarif, step_summary};
pub use html::{diff_html, escape as escape_html, html_report};
pub use human::{write_summary, write_verdicts};
pub use progress::{ProgressDisplay, color_wanted};

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::HarnessError;
use crate::model::Verdict;

/// The version of the JSON report's shape; bumped when a field changes meaning or goes away.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The whole result of a `verify` run: what `report.json` holds.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: u32,
    pub harness_version: &'static str,
    /// Fuel figures are deterministic for one engine version; this is it.
    pub wasmtime_version: &'static str,
    pub corpus: CorpusInfo,
    /// What the verification ran under (seeds, environment policy, corpus digest).
    pub conditions: crate::model::Conditions,
    pub summary: ReportSummary,
    /// What the harness could not do (exit code 2): a missing plugin, say.
    pub errors: Vec<String>,
    pub verdicts: Vec<Verdict>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CorpusInfo {
    pub dir: PathBuf,
    pub files: usize,
    pub events: usize,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportSummary {
    pub plugins: usize,
    pub approved: usize,
    pub rejected: usize,
    pub harness_errors: usize,
}

impl Report {
    pub fn new(
        corpus: CorpusInfo,
        conditions: crate::model::Conditions,
        verdicts: Vec<Verdict>,
        errors: Vec<String>,
    ) -> Report {
        let approved = verdicts.iter().filter(|v| v.approved).count();
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            harness_version: crate::model::HARNESS_VERSION,
            wasmtime_version: crate::model::WASMTIME_VERSION,
            corpus,
            conditions,
            summary: ReportSummary {
                plugins: verdicts.len(),
                approved,
                rejected: verdicts.len() - approved,
                harness_errors: errors.len(),
            },
            errors,
            verdicts,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }

    /// Writes `report.json`, `report.md`, `report.html`, `junit.xml` and `findings.sarif` into `dir`
    /// (created if needed); returns the files written.
    pub fn write_files(&self, dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
        std::fs::create_dir_all(dir).map_err(|e| HarnessError::io(dir, e))?;
        let files = [
            ("report.json", self.to_json()),
            ("report.md", markdown(self)),
            ("report.html", html_report(self)),
            ("junit.xml", junit(self)?),
            ("findings.sarif", sarif(self)),
        ];
        let mut written = Vec::new();
        for (name, contents) in files {
            let path = dir.join(name);
            std::fs::write(&path, contents).map_err(|e| HarnessError::io(&path, e))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// The rule list for `verify --list-rules`, generated from the rule table: stage, id,
/// severity, summary, and the next step on a second, indented line.
pub fn rule_list() -> String {
    let mut out = String::new();
    for rule in crate::model::rules::all() {
        out.push_str(&format!(
            "{:<9} {:<40} {:<8} {}\n{:<59}next: {}\n",
            rule.stage.name(),
            rule.id,
            rule.severity.name(),
            rule.summary,
            "",
            rule.next_step
        ));
    }
    out
}

pub use crate::model::json::one_line;

/// A harness error as a GitHub Actions error annotation.
pub fn harness_error_annotation(message: &str) -> String {
    format!(
        "::error title=harness error::{}",
        formats::escape_data(message)
    )
}
