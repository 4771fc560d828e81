//! Findings: what a stage found, with a stable rule id whose severity the rule table fixes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::rules::{self, Rule};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
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
            Some("") => parts.push("at the document's root".into()),
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
    /// A finding of rule `id`, with the severity the rule table gives it. An id that is not in
    /// the table is a bug in the harness: it fails every debug build (so every test that
    /// reaches it) and is an error in a release build.
    pub fn new(id: &str, message: impl Into<String>) -> Self {
        let rule = rules::get(id);
        debug_assert!(rule.is_some(), "rule {id} is not in the rule table");
        Finding {
            rule: id.to_owned(),
            severity: rule.map_or(Severity::Error, |r| r.severity),
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

    /// The rule's entry in the table.
    pub fn rule_info(&self) -> Option<&'static Rule> {
        rules::get(&self.rule)
    }
}

/// How many examples a recurring finding keeps.
pub const EXAMPLES_PER_FINDING: usize = 3;

/// Folds recurring occurrences of a rule into one finding: the first message and location,
/// a count, and the first few examples. Every stage that reports per event uses it.
#[derive(Default)]
pub struct FindingCollector {
    by_rule: BTreeMap<String, Finding>,
}

impl FindingCollector {
    /// One occurrence: `message` is both the first message (when it is the first) and the
    /// example's text.
    pub fn add(&mut self, rule: &str, message: &str, location: Location) {
        self.add_example(
            rule,
            message,
            Example {
                location,
                message: message.to_owned(),
            },
        );
    }

    /// One occurrence with an example whose text differs from the finding's message.
    pub fn add_example(&mut self, rule: &str, message: &str, example: Example) {
        let finding = self.by_rule.entry(rule.to_owned()).or_insert_with(|| {
            let mut finding = Finding::new(rule, message).at(example.location.clone());
            finding.occurrences = 0;
            finding
        });
        finding.occurrences += 1;
        if finding.examples.len() < EXAMPLES_PER_FINDING {
            finding.examples.push(example);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_rule.is_empty()
    }

    /// The findings, one per rule, each message rewritten by `message(finding)` (which sees
    /// the first message, the count and the examples).
    pub fn finish(self, message: impl Fn(&Finding) -> String) -> Vec<Finding> {
        self.by_rule
            .into_values()
            .map(|mut finding| {
                finding.message = message(&finding);
                finding
            })
            .collect()
    }

    /// The findings with messages like `run/trap on 3 of 1042 events; first: ...`.
    pub fn into_findings(self, events: usize) -> Vec<Finding> {
        self.finish(|finding| {
            format!(
                "{} on {} of {events} events; first: {}",
                finding.rule, finding.occurrences, finding.message
            )
        })
    }
}
