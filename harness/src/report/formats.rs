//! The machine formats: Markdown (pull requests, `$GITHUB_STEP_SUMMARY`), JUnit XML (one test
//! case per stage per plugin), SARIF (findings with a file, for code-scanning views) and GitHub
//! annotations (workflow commands).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use serde_sarif::sarif;

use super::Report;
use crate::error::HarnessError;
use crate::model::{Finding, Severity, StageStatus, Verdict};

/// The Markdown summary: one table row per plugin, then the reasons and findings of every
/// rejected plugin, and the fuel figures against budgets.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let summary = &report.summary;
    let _ = writeln!(out, "## Plugin verification\n");
    let _ = writeln!(
        out,
        "{} plugin{}: **{} approved**, **{} rejected**{} (corpus: {} events in {} files; harness {}, wasmtime {})\n",
        summary.plugins,
        if summary.plugins == 1 { "" } else { "s" },
        summary.approved,
        summary.rejected,
        if summary.harness_errors > 0 {
            format!(", {} harness errors", summary.harness_errors)
        } else {
            String::new()
        },
        report.corpus.events,
        report.corpus.files,
        report.harness_version,
        report.wasmtime_version,
    );
    let _ = writeln!(
        out,
        "| plugin | version | verdict | stages | fuel/event p99 (budget) | findings |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
    for verdict in &report.verdicts {
        let stages: Vec<String> = verdict
            .stages
            .iter()
            .map(|s| {
                let mark = match s.status {
                    StageStatus::Passed => "✅",
                    StageStatus::Failed => "❌",
                    StageStatus::Skipped => "⏭️",
                };
                format!("{mark} {}", s.stage.name())
            })
            .collect();
        let fuel = verdict
            .stages
            .iter()
            .find_map(|s| s.metrics.get("fuelP99"))
            .and_then(|v| v.as_u64())
            .map_or("–".to_owned(), |p99| {
                let budget = verdict
                    .component
                    .as_ref()
                    .map_or("?".to_owned(), |c| c.limits.fuel_budget.to_string());
                format!("{p99} ({budget})")
            });
        let findings: usize = verdict.stages.iter().map(|s| s.findings.len()).sum();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            verdict.plugin,
            verdict.version.as_deref().unwrap_or("?"),
            if verdict.approved {
                "✅ approved"
            } else {
                "❌ rejected"
            },
            stages.join(" "),
            fuel,
            findings
        );
    }
    for verdict in report.verdicts.iter().filter(|v| !v.approved) {
        let _ = writeln!(out, "\n### ❌ `{}`\n", verdict.plugin);
        if let Some(reason) = &verdict.reason {
            let _ = writeln!(out, "{}\n", escape_markdown(reason));
        }
        for stage in &verdict.stages {
            for finding in &stage.findings {
                let location = finding
                    .location
                    .as_ref()
                    .map(|l| format!(" ({})", l))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "- **{}** `{}`: {}{}",
                    severity_word(finding.severity),
                    finding.rule,
                    escape_markdown(finding.message.lines().next().unwrap_or("")),
                    escape_markdown(&location)
                );
            }
        }
    }
    for error in &report.errors {
        let _ = writeln!(out, "\n> harness error: {}", escape_markdown(error));
    }
    let _ = writeln!(
        out,
        "\n{WHOLE_REPORT}: [report.html](report.html) (beside this file)."
    );
    out
}

const WHOLE_REPORT: &str = "The whole report, with each stage, every finding's rule and next step, snapshot changes side by side and fuel histograms";

/// What `verify` appends to `$GITHUB_STEP_SUMMARY`: the Markdown summary, and where to find
/// `report.html` there (a link relative to report.md means nothing on the run's page): the
/// `harness-reports` artifact of the run at `run_url`, when known.
pub fn step_summary(report: &Report, run_url: Option<&str>) -> String {
    let mut out = markdown(report);
    if let Some(at) = out.rfind(&format!("\n{WHOLE_REPORT}: ")) {
        out.truncate(at);
    }
    let _ = match run_url {
        Some(url) => writeln!(
            out,
            "\n{WHOLE_REPORT}: `report.html` in the run's [harness-reports]({url}#artifacts) artifact, one self-contained page."
        ),
        None => writeln!(
            out,
            "\n{WHOLE_REPORT}: `report.html` in the run's harness-reports artifact, one self-contained page."
        ),
    };
    out
}

fn escape_markdown(text: &str) -> String {
    text.replace('|', "\\|").replace('<', "&lt;")
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// JUnit XML: a test suite per plugin, a test case per stage (failed stages are failures with
/// their findings; skipped stages are skipped).
pub fn junit(report: &Report) -> Result<String, HarnessError> {
    let mut junit = quick_junit::Report::new("plugin-verification");
    for verdict in &report.verdicts {
        let mut suite = TestSuite::new(verdict.plugin.clone());
        for stage in &verdict.stages {
            let status = match stage.status {
                StageStatus::Passed => TestCaseStatus::success(),
                StageStatus::Skipped => TestCaseStatus::skipped(),
                StageStatus::Failed => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let first = stage
                        .findings
                        .iter()
                        .find(|f| f.severity == Severity::Error)
                        .or(stage.findings.first());
                    if let Some(finding) = first {
                        status.set_message(finding.message.lines().next().unwrap_or(""));
                        status.set_type(finding.rule.clone());
                    }
                    status.set_description(describe_findings(&stage.findings));
                    status
                }
            };
            let mut case = TestCase::new(stage.stage.name(), status);
            case.set_classname(verdict.plugin.clone());
            case.set_time(Duration::from_secs_f64(stage.duration_ms / 1000.0));
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .map_err(|e| HarnessError::Other(format!("writing JUnit XML: {e}")))
}

fn describe_findings(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            let location = f
                .location
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            format!(
                "{} {}: {} {location}",
                severity_word(f.severity),
                f.rule,
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// SARIF 2.1.0: every finding that points at a file (static, load, manifest findings; corpus
/// findings point at corpus lines), with the rule ids as the tool's rules.
pub fn sarif(report: &Report) -> String {
    let mut rule_index: BTreeMap<String, i64> = BTreeMap::new();
    let mut rules = Vec::new();
    let mut results = Vec::new();
    for verdict in &report.verdicts {
        for finding in verdict.stages.iter().flat_map(|s| &s.findings) {
            let Some(file) = finding.location.as_ref().and_then(|l| l.file.as_ref()) else {
                continue;
            };
            let index = *rule_index.entry(finding.rule.clone()).or_insert_with(|| {
                rules.push(
                    sarif::ReportingDescriptor::builder()
                        .id(finding.rule.clone())
                        .name(finding.rule.clone())
                        .build(),
                );
                rules.len() as i64 - 1
            });
            let mut region = sarif::Region::builder().build();
            if let Some(line) = finding.location.as_ref().and_then(|l| l.line) {
                region = sarif::Region::builder().start_line(line as i64).build();
            }
            let location = sarif::Location::builder()
                .physical_location(
                    sarif::PhysicalLocation::builder()
                        .artifact_location(
                            sarif::ArtifactLocation::builder()
                                .uri(file.display().to_string())
                                .build(),
                        )
                        .region(region)
                        .build(),
                )
                .build();
            let level = match finding.severity {
                Severity::Error => sarif::ResultLevel::Error,
                Severity::Warning => sarif::ResultLevel::Warning,
                Severity::Info => sarif::ResultLevel::Note,
            };
            results.push(
                sarif::Result::builder()
                    .rule_id(finding.rule.clone())
                    .rule_index(index)
                    .message(&format!("{}: {}", verdict.plugin, finding.message))
                    .locations(vec![location])
                    .level(level)
                    .build(),
            );
        }
    }
    let driver = sarif::ToolComponent::builder()
        .name("posthog-plugin-harness")
        .version(report.harness_version.to_owned())
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .build();
    let log = sarif::Sarif::builder()
        .version(sarif::Version::V2_1_0.to_string())
        .schema(sarif::SCHEMA_URL.to_owned())
        .runs(vec![run])
        .build();
    serde_json::to_string_pretty(&log).expect("a SARIF log always serialises")
}

/// GitHub Actions workflow commands (`::error file=...,line=...,title=...::message`), one per
/// error or warning finding, and a notice per approved plugin.
pub fn github_annotations(verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for verdict in verdicts {
        for finding in verdict.stages.iter().flat_map(|s| &s.findings) {
            let command = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => continue,
            };
            let mut properties = vec![format!(
                "title={}",
                escape_property(&format!("{} {}", verdict.plugin, finding.rule))
            )];
            if let Some(location) = &finding.location {
                if let Some(file) = &location.file {
                    properties.push(format!(
                        "file={}",
                        escape_property(&file.display().to_string())
                    ));
                }
                if let Some(line) = location.line {
                    properties.push(format!("line={line}"));
                }
            }
            let _ = writeln!(
                out,
                "::{command} {}::{}",
                properties.join(","),
                escape_data(&finding.message)
            );
        }
        if verdict.approved {
            let _ = writeln!(
                out,
                "::notice title={}::approved",
                escape_property(&verdict.plugin)
            );
        }
    }
    out
}

/// Escaping of workflow command data, as GitHub's toolkit does it.
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}
