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

use crate::verify::Severity::{Error, Info, Warning};
use crate::verify::{Finding, Location, Severity};

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
}

/// One rule of the static stage, for `verify --list-rules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: &'static str,
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
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

/// Rule ids, one constant each, so that a typo is a compile error.
pub mod rule {
    pub const MANIFEST_NOT_JSON: &str = "manifest/not-json";
    pub const MANIFEST_SCHEMA: &str = "manifest/schema";
    pub const MANIFEST_VERSION: &str = "manifest/version";
    pub const MANIFEST_POSTHOG_VERSION: &str = "manifest/posthog-version";
    pub const MANIFEST_DUPLICATE_CONFIG_KEY: &str = "manifest/duplicate-config-key";
    pub const MANIFEST_CHOICE_WITHOUT_CHOICES: &str = "manifest/choice-without-choices";
    pub const MANIFEST_CHOICE_DEFAULT: &str = "manifest/choice-default";
    pub const MANIFEST_CHOICES_WITHOUT_CHOICE_TYPE: &str = "manifest/choices-without-choice-type";
    pub const MANIFEST_JSON_DEFAULT: &str = "manifest/json-default";
    pub const MANIFEST_SECRET_DEFAULT: &str = "manifest/secret-default";
    pub const MANIFEST_REQUIRED_CONFIG: &str = "manifest/required-config";
    pub const MANIFEST_VERIFY_CONFIG_UNKNOWN_KEY: &str = "manifest/verify-config-unknown-key";
    pub const MANIFEST_VERIFY_CONFIG_CHOICE: &str = "manifest/verify-config-choice";
    pub const MANIFEST_LIMITS_OVER_CEILING: &str = "manifest/limits-over-ceiling";

    pub const ARTIFACT_INVALID: &str = "artifact/invalid";
    pub const ARTIFACT_CORE_MODULE: &str = "artifact/core-module";
    pub const ARTIFACT_PRODUCERS: &str = "artifact/producers";
    pub const ARTIFACT_EMBEDDED_SECRET: &str = "artifact/embedded-secret";

    pub const CONTRACT_MISSING_EXPORT: &str = "contract/missing-export";
    pub const CONTRACT_EXPORT_SIGNATURE: &str = "contract/export-signature";
    pub const CONTRACT_UNKNOWN_EXPORT: &str = "contract/unknown-export";

    pub const CAPABILITY_FORBIDDEN_IMPORT: &str = "capability/forbidden-import";
    pub const CAPABILITY_UNKNOWN_IMPORT: &str = "capability/unknown-import";
    pub const CAPABILITY_UNDECLARED_IMPORT: &str = "capability/undeclared-import";
    pub const CAPABILITY_UNUSED_DECLARATION: &str = "capability/unused-declaration";

    pub const RESOURCES_FIGURES: &str = "resources/figures";
    pub const RESOURCES_COMPONENT_SIZE: &str = "resources/component-size";
    pub const RESOURCES_MEMORY: &str = "resources/memory";
    pub const RESOURCES_TABLE: &str = "resources/table";
    pub const RESOURCES_FUNCTIONS: &str = "resources/functions";

    pub const SOURCE_METADATA: &str = "source/metadata";
    pub const SOURCE_LICENSE_NOT_ALLOWED: &str = "source/license-not-allowed";
    pub const SOURCE_LICENSE_UNKNOWN: &str = "source/license-unknown";
    pub const SOURCE_GIT_DEPENDENCY: &str = "source/git-dependency";
    pub const SOURCE_PATH_DEPENDENCY_OUTSIDE_ROOT: &str = "source/path-dependency-outside-root";
    pub const SOURCE_BUILD_SCRIPT: &str = "source/build-script";
}

const fn info(id: &'static str, severity: Severity, summary: &'static str) -> RuleInfo {
    RuleInfo {
        id,
        severity,
        summary,
    }
}

/// Every rule of the static stage, grouped by what it reads: manifest, artifact (the component
/// file), contract (exports), capability (imports), resources, source (the crate).
const RULES: &[RuleInfo] = &[
    info(rule::MANIFEST_NOT_JSON, Error, "plugin.json is not JSON"),
    info(
        rule::MANIFEST_SCHEMA,
        Error,
        "plugin.json breaks schemas/plugin.schema.json (unknown field, wrong type, missing name or version)",
    ),
    info(
        rule::MANIFEST_VERSION,
        Error,
        "`version` is not a semantic version (MAJOR.MINOR.PATCH)",
    ),
    info(
        rule::MANIFEST_POSTHOG_VERSION,
        Error,
        "`posthogVersion` is not a semver range such as \">= 1.25.0\"",
    ),
    info(
        rule::MANIFEST_DUPLICATE_CONFIG_KEY,
        Error,
        "two config fields have the same `key`",
    ),
    info(
        rule::MANIFEST_CHOICE_WITHOUT_CHOICES,
        Error,
        "a `choice` config field has no `choices`",
    ),
    info(
        rule::MANIFEST_CHOICE_DEFAULT,
        Error,
        "a `choice` config field's default is not one of its choices",
    ),
    info(
        rule::MANIFEST_CHOICES_WITHOUT_CHOICE_TYPE,
        Warning,
        "a config field lists `choices` but its type is not `choice`, so they are ignored",
    ),
    info(
        rule::MANIFEST_JSON_DEFAULT,
        Error,
        "a `json` config field's default is not JSON text",
    ),
    info(
        rule::MANIFEST_SECRET_DEFAULT,
        Error,
        "a `secret` config field has a default, which would publish the secret in plugin.json",
    ),
    info(
        rule::MANIFEST_REQUIRED_CONFIG,
        Info,
        "a required config field has no default: it needs a value at install time",
    ),
    info(
        rule::MANIFEST_VERIFY_CONFIG_UNKNOWN_KEY,
        Warning,
        "`verifyConfig` gives a value for a key that no config field has",
    ),
    info(
        rule::MANIFEST_VERIFY_CONFIG_CHOICE,
        Error,
        "`verifyConfig` gives a `choice` field a value that is not one of its choices",
    ),
    info(
        rule::MANIFEST_LIMITS_OVER_CEILING,
        Error,
        "`limits` asks for more than the harness's ceiling",
    ),
    info(
        rule::ARTIFACT_INVALID,
        Error,
        "the component is not valid WebAssembly",
    ),
    info(
        rule::ARTIFACT_CORE_MODULE,
        Error,
        "the file is a core WebAssembly module, not a component (build with --target wasm32-wasip2)",
    ),
    info(
        rule::ARTIFACT_PRODUCERS,
        Info,
        "the language and toolchain the component's producers section names",
    ),
    info(
        rule::ARTIFACT_EMBEDDED_SECRET,
        Error,
        "a data segment or custom section holds what looks like a credential (API key, token, private key)",
    ),
    info(
        rule::CONTRACT_MISSING_EXPORT,
        Error,
        "the component exports neither `process-event` nor `on-event`",
    ),
    info(
        rule::CONTRACT_EXPORT_SIGNATURE,
        Error,
        "an export of the contract has a type other than the contract's",
    ),
    info(
        rule::CONTRACT_UNKNOWN_EXPORT,
        Info,
        "the component exports something the contract does not define; the harness never calls it",
    ),
    info(
        rule::CAPABILITY_FORBIDDEN_IMPORT,
        Error,
        "the component imports wasi:filesystem, wasi:sockets or wasi:http, which plugins may not use",
    ),
    info(
        rule::CAPABILITY_UNKNOWN_IMPORT,
        Error,
        "the component imports something that is neither the contract nor the allowed WASI subset",
    ),
    info(
        rule::CAPABILITY_UNDECLARED_IMPORT,
        Error,
        "the component imports a capability that plugin.json does not declare",
    ),
    info(
        rule::CAPABILITY_UNUSED_DECLARATION,
        Warning,
        "plugin.json declares a capability that the component never imports",
    ),
    info(
        rule::RESOURCES_FIGURES,
        Info,
        "the component's size, core modules, functions, linear memory and tables",
    ),
    info(
        rule::RESOURCES_COMPONENT_SIZE,
        Error,
        "the component file is larger than the harness accepts",
    ),
    info(
        rule::RESOURCES_MEMORY,
        Error,
        "a linear memory starts larger than the plugin's memory limit allows",
    ),
    info(
        rule::RESOURCES_TABLE,
        Error,
        "a table starts with more elements than the table limit allows",
    ),
    info(
        rule::RESOURCES_FUNCTIONS,
        Error,
        "the component defines more core functions than the harness accepts",
    ),
    info(
        rule::SOURCE_METADATA,
        Warning,
        "the crate's dependency graph could not be read (cargo metadata failed), so it was not checked",
    ),
    info(
        rule::SOURCE_LICENSE_NOT_ALLOWED,
        Error,
        "a dependency's licence is not on the allow-list",
    ),
    info(
        rule::SOURCE_LICENSE_UNKNOWN,
        Warning,
        "a dependency declares no SPDX licence (none, or only a licence file to read by hand)",
    ),
    info(
        rule::SOURCE_GIT_DEPENDENCY,
        Warning,
        "a dependency comes from a git repository, not a registry",
    ),
    info(
        rule::SOURCE_PATH_DEPENDENCY_OUTSIDE_ROOT,
        Warning,
        "a path dependency lives outside the library (or workspace) root",
    ),
    info(
        rule::SOURCE_BUILD_SCRIPT,
        Info,
        "crates in the dependency graph that run build scripts at build time",
    ),
];

/// Every rule of the static stage, in report order.
pub fn rules() -> &'static [RuleInfo] {
    RULES
}

/// The severity of `id`; a rule not in [`rules`] is a bug, reported as an error.
fn severity_of(id: &str) -> Severity {
    let found = RULES.iter().find(|rule| rule.id == id);
    debug_assert!(found.is_some(), "rule {id} is not in RULES");
    found.map_or(Severity::Error, |rule| rule.severity)
}

/// Collects findings and metrics while the checks run.
#[derive(Default)]
struct Sink {
    findings: Vec<Finding>,
    metrics: BTreeMap<String, serde_json::Value>,
}

impl Sink {
    fn add(&mut self, rule: &str, message: impl Into<String>, location: Location) -> &mut Finding {
        let mut finding = Finding::error(rule, message).at(location);
        finding.severity = severity_of(rule);
        self.findings.push(finding);
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
    let mut sink = Sink::default();
    let declared = manifest::check(input.manifest_path, input.manifest_text, &mut sink);
    let mut checked = vec!["plugin.json".to_owned()];
    if let Some(bytes) = input.component {
        let facts = component::check(bytes, input.component_path, &declared, &mut sink);
        checked.push(match facts {
            Some(facts) => format!(
                "the component (exports {}; capabilities {})",
                list_or_none(&facts.contract_exports),
                list_or_none(&facts.capabilities_imported),
            ),
            None => "the component".to_owned(),
        });
    }
    if let Some(cargo_toml) = input.cargo_toml {
        let dependencies = source::check(cargo_toml, input.library_root, &mut sink);
        checked.push(match dependencies {
            Some(count) => format!("{count} dependencies"),
            None => "the crate".to_owned(),
        });
    }
    let count = |severity| {
        sink.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    };
    let summary = format!(
        "checked {}: {}, {}, {}",
        join_and(&checked),
        plural(count(Error), "error", "errors"),
        plural(count(Warning), "warning", "warnings"),
        plural(count(Info), "note", "notes"),
    );
    StaticReport {
        findings: sink.findings,
        metrics: sink.metrics,
        summary,
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
    fn rule_ids_are_unique_and_namespaced() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in rules() {
            assert!(seen.insert(rule.id), "duplicate rule {}", rule.id);
            let (group, name) = rule.id.split_once('/').expect("group/name");
            assert!(
                [
                    "manifest",
                    "artifact",
                    "contract",
                    "capability",
                    "resources",
                    "source"
                ]
                .contains(&group),
                "{}",
                rule.id
            );
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
                "{}",
                rule.id
            );
            assert!(!rule.summary.contains('\n'), "{}", rule.id);
        }
    }

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
