//! The static stage: judges a plugin from its files alone, before anything runs. It reads
//! `plugin.json` (against `schemas/plugin.schema.json`, then what a schema cannot say), the
//! component's bytes (validated and walked with `wasmparser`: exports, imports against the
//! declared capabilities, memory and table sizes, producers, embedded secrets) and, for a
//! crate plugin, its dependency graph (licences, git and outside path dependencies, build
//! scripts). It never compiles or instantiates the plugin.
//!
//! Every finding has a rule id from [`rules`]; the rule fixes its severity.

mod component;
mod imports;
mod license;
mod manifest;
mod secrets;
mod source;

use std::collections::BTreeMap;
use std::path::Path;

use crate::model::Severity::{Error, Info, Warning};
use crate::model::{Finding, Location};

pub use component::{MAX_COMPONENT_BYTES, MAX_CORE_FUNCTIONS};
pub use license::{DEFAULT_ALLOWED_LICENSES, license_allowed};
pub use manifest::plugin_schema;
pub use secrets::{SecretMatch, find_secrets};

/// What the static stage looks at. Everything is optional but the manifest: a component that
/// could not be built or read is `None`, and only crate plugins have a `Cargo.toml`.
#[derive(Clone, Copy, Debug)]
pub struct StaticInput<'a> {
    pub manifest_path: &'a Path,
    /// `plugin.json`'s raw text.
    pub manifest_text: &'a str,
    pub component_path: Option<&'a Path>,
    /// The component's bytes; `None` when it could not be built or read.
    pub component: Option<&'a [u8]>,
    /// The crate manifest, for crate plugins.
    pub cargo_toml: Option<&'a Path>,
    /// Path dependencies outside this directory are warnings; without it, outside the crate's
    /// workspace.
    pub library_root: Option<&'a Path>,
    /// Which crates may run build code (build scripts, proc-macros).
    pub build_policy: &'a crate::cargo_build::BuildPolicy,
}

/// Every rule of the static stage, from the one rule table.
pub fn rules() -> Vec<&'static crate::model::Rule> {
    crate::model::rules::all()
        .filter(|rule| rule.stage == crate::model::Stage::Static)
        .collect()
}

/// What the static stage found.
#[derive(Clone, Debug, PartialEq)]
pub struct StaticReport {
    pub findings: Vec<Finding>,
    /// Figures measured: component size, core functions, memory and tables, dependencies.
    pub metrics: BTreeMap<String, serde_json::Value>,
    /// One line: what was checked and how it went.
    pub summary: String,
}

/// Rule ids, one constant each (from the one rule table, `model::rules`).
pub use crate::model::rules::id as rule;

/// Collects findings and metrics while the checks run.
#[derive(Default)]
struct Sink {
    findings: Vec<Finding>,
    metrics: BTreeMap<String, serde_json::Value>,
}

impl Sink {
    fn add(&mut self, rule: &str, message: impl Into<String>, location: Location) -> &mut Finding {
        self.findings.push(Finding::new(rule, message).at(location));
        self.findings.last_mut().expect("just pushed")
    }

    fn metric(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.metrics.insert(key.to_owned(), value.into());
    }
}

/// A location in `file` (if known) at `pointer`.
fn at(file: Option<&Path>, pointer: impl Into<String>) -> Location {
    Location {
        file: file.map(Path::to_owned),
        pointer: Some(pointer.into()),
        ..Location::default()
    }
}

/// Runs every static check that `input` has the files for. Never fails and never panics: a
/// broken manifest, component or crate is a finding.
pub fn analyze(input: &StaticInput) -> StaticReport {
    let mut analysis = Analysis::manifest(input);
    if let Some(bytes) = input.component {
        analysis.component(bytes, input.component_path);
    }
    analysis.sources(input);
    analysis.finish()
}

/// The static checks one part at a time, for the static stage's order: the manifest, then the
/// crate's sources, and only when those found no error the build and then the component.
/// Each part is checked once; [`Analysis::finish`] sums them up.
pub struct Analysis {
    sink: Sink,
    declared: manifest::Declared,
    checked: Vec<String>,
}

impl Analysis {
    /// Checks the manifest.
    pub fn manifest(input: &StaticInput) -> Analysis {
        let mut sink = Sink::default();
        let declared = manifest::check(input.manifest_path, input.manifest_text, &mut sink);
        Analysis {
            sink,
            declared,
            checked: vec!["plugin.json".to_owned()],
        }
    }

    /// Checks a crate plugin's dependency graph (nothing when `input` has no `Cargo.toml`).
    pub fn sources(&mut self, input: &StaticInput) {
        let Some(cargo_toml) = input.cargo_toml else {
            return;
        };
        let dependencies = source::check(
            cargo_toml,
            input.library_root,
            input.build_policy,
            &mut self.sink,
        );
        self.checked.push(match dependencies {
            Some(count) => format!("{count} dependencies"),
            None => "the crate".to_owned(),
        });
    }

    /// Checks the component's bytes against the manifest read first.
    pub fn component(&mut self, bytes: &[u8], path: Option<&Path>) {
        let facts = component::check(bytes, path, &self.declared, &mut self.sink);
        self.checked.push(match facts {
            Some(facts) => format!(
                "the component (exports {}; capabilities {})",
                list_or_none(&facts.contract_exports),
                list_or_none(&facts.capabilities_imported),
            ),
            None => "the component".to_owned(),
        });
    }

    /// A finding from outside the checks (the component could not be built or read).
    pub fn add(&mut self, finding: Finding) {
        self.sink.findings.push(finding);
    }

    /// Whether any check so far found an error.
    pub fn has_errors(&self) -> bool {
        self.sink.findings.iter().any(|f| f.severity == Error)
    }

    /// The findings, metrics and the one-line summary.
    pub fn finish(self) -> StaticReport {
        let count = |severity| {
            self.sink
                .findings
                .iter()
                .filter(|f| f.severity == severity)
                .count()
        };
        let summary = format!(
            "checked {}: {}, {}, {}",
            join_and(&self.checked),
            plural(count(Error), "error", "errors"),
            plural(count(Warning), "warning", "warnings"),
            plural(count(Info), "note", "notes"),
        );
        StaticReport {
            findings: self.sink.findings,
            metrics: self.sink.metrics,
            summary,
        }
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Untrusted text (names from a component, values from a manifest) made safe for one line of
/// a report: control characters replaced, at most `max` characters.
fn sanitize(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '�' } else { c })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// `12345678` as `11.8 MiB`, `2048` as `2 KiB`.
fn human_bytes(bytes: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    match bytes {
        0..KIB => format!("{bytes} B"),
        KIB..MIB => format!("{} KiB", bytes.div_ceil(KIB)),
        MIB..GIB => trim_decimal(bytes as f64 / MIB as f64, "MiB"),
        _ => trim_decimal(bytes as f64 / GIB as f64, "GiB"),
    }
}

fn trim_decimal(value: f64, unit: &str) -> String {
    let text = format!("{value:.1}");
    format!("{} {unit}", text.strip_suffix(".0").unwrap_or(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(205_578), "201 KiB");
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(17 * 65_536), "1.1 MiB");
    }

    #[test]
    fn untrusted_text_stays_on_one_short_line() {
        assert_eq!(sanitize("a\nb\u{1b}[31m", 100), "a�b�[31m");
        assert_eq!(sanitize("abcdef", 3), "abc…");
    }
}
