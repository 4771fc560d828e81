//! The static stage rule by rule: for every rule of `static_analysis::rules()` a fixture that
//! triggers it and a near miss that does not (manifests as JSON, components as WAT, crates
//! written into temporary directories), snapshots of the findings for every example plugin,
//! and property tests that no input makes the stage panic.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use harness::manifest::{
    Capabilities, ConfigField, ConfigType, HttpCapability, Manifest, PluginSchemas,
};
use harness::model::limits::Limits;
use harness::model::{Finding, Severity};
use harness::static_analysis::{StaticInput, StaticReport, analyze, plugin_schema, rules};
use proptest::prelude::*;
use serde_json::{Value, json};

const MANIFEST_PATH: &str = "fixture/plugin.json";
const COMPONENT_PATH: &str = "fixture/plugin.wasm";

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A plugin as the static stage sees it: manifest text, maybe a component, maybe a crate.
#[derive(Default)]
struct Plugin {
    manifest: String,
    component: Option<Vec<u8>>,
    source: Option<CrateFixture>,
    /// Which crates may run build code.
    build_policy: harness::cargo_build::BuildPolicy,
}

impl Plugin {
    /// A plugin with the base manifest and `component`.
    fn with_component(component: Vec<u8>) -> Plugin {
        Plugin {
            manifest: manifest(json!({})),
            component: Some(component),
            source: None,
            build_policy: Default::default(),
        }
    }

    /// A plugin with `manifest` (the base manifest with these top-level fields) and no
    /// component.
    fn with_manifest(fields: Value) -> Plugin {
        Plugin {
            manifest: manifest(fields),
            ..Plugin::default()
        }
    }

    fn analyze(&self) -> StaticReport {
        let report = analyze(&StaticInput {
            manifest_path: Path::new(MANIFEST_PATH),
            manifest_text: &self.manifest,
            component_path: self.component.as_ref().map(|_| Path::new(COMPONENT_PATH)),
            component: self.component.as_deref(),
            cargo_toml: self.source.as_ref().map(|s| s.cargo_toml.as_path()),
            library_root: self.source.as_ref().map(|s| s.library_root.as_path()),
            build_policy: &self.build_policy,
        });
        assert_consistent(&report);
        report
    }
}

/// Every finding's rule is listed, with the listed severity.
fn assert_consistent(report: &StaticReport) {
    for finding in &report.findings {
        let rule = rules()
            .into_iter()
            .find(|rule| rule.id == finding.rule)
            .unwrap_or_else(|| panic!("rule {} is not in rules()", finding.rule));
        assert_eq!(finding.severity, rule.severity, "{}", finding.rule);
        assert!(!finding.message.is_empty());
    }
    assert!(!report.summary.contains('\n'));
}

fn rule_ids(report: &StaticReport) -> BTreeSet<String> {
    report.findings.iter().map(|f| f.rule.clone()).collect()
}

fn findings_of<'a>(report: &'a StaticReport, rule: &str) -> Vec<&'a Finding> {
    report.findings.iter().filter(|f| f.rule == rule).collect()
}

/// The base manifest (`name`, `version`) with `fields` set at the top level (`null` removes).
fn manifest(fields: Value) -> String {
    let mut manifest = json!({"name": "fixture", "version": "0.1.0"});
    for (key, value) in fields.as_object().expect("fields are an object") {
        if value.is_null() {
            manifest.as_object_mut().unwrap().remove(key);
        } else {
            manifest[key] = value.clone();
        }
    }
    manifest.to_string()
}

/// An export a WAT component can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Export {
    ProcessEvent,
    OnEvent,
    Setup,
    Teardown,
    /// `process-event` returning `result<string, string>`.
    WrongProcessEvent,
    /// `frobnicate: func(u32)`, not in the contract.
    Unknown,
}

impl Export {
    /// Export name, component-level type, core signature, whether lifting needs memory.
    fn parts(self) -> (&'static str, &'static str, &'static str, bool) {
        match self {
            Export::ProcessEvent => (
                "process-event",
                r#"(param "event" string) (result (result (option string) (error string)))"#,
                "(param i32 i32) (result i32)",
                true,
            ),
            Export::OnEvent => (
                "on-event",
                r#"(param "event" string) (result (result (error string)))"#,
                "(param i32 i32) (result i32)",
                true,
            ),
            Export::Setup => (
                "setup",
                r#"(param "config" (list (tuple string string))) (result (result (error string)))"#,
                "(param i32 i32) (result i32)",
                true,
            ),
            Export::Teardown => ("teardown", "", "", false),
            Export::WrongProcessEvent => (
                "process-event",
                r#"(param "event" string) (result (result string (error string)))"#,
                "(param i32 i32) (result i32)",
                true,
            ),
            Export::Unknown => ("frobnicate", r#"(param "n" u32)"#, "(param i32)", false),
        }
    }
}

/// A component written in WAT: imports (empty instances), one core module with a memory and
/// the exported functions (which trap; nothing runs), and whatever else a test needs.
#[derive(Clone, Debug)]
struct Wat {
    imports: Vec<String>,
    exports: Vec<Export>,
    /// The core memory's limits, as WAT (`1`, `1 2`).
    memory: String,
    /// A core table's limits, if any.
    table: Option<String>,
    /// Active data segments (WAT string contents) at offset 0, 64, 128...
    data: Vec<String>,
    /// Extra core functions.
    functions: usize,
    /// Extra fields of the core module (annotations such as `(@producers ...)`).
    module_extra: String,
}

impl Default for Wat {
    fn default() -> Self {
        Wat {
            imports: Vec::new(),
            exports: vec![Export::ProcessEvent],
            memory: "1".into(),
            table: None,
            data: Vec::new(),
            functions: 0,
            module_extra: String::new(),
        }
    }
}

impl Wat {
    fn imports(imports: &[&str]) -> Wat {
        Wat {
            imports: imports.iter().map(|s| s.to_string()).collect(),
            ..Wat::default()
        }
    }

    fn exports(exports: &[Export]) -> Wat {
        Wat {
            exports: exports.to_vec(),
            ..Wat::default()
        }
    }

    fn text(&self) -> String {
        let mut wat = String::from("(component\n");
        for import in &self.imports {
            wat.push_str(&format!("  (import \"{import}\" (instance))\n"));
        }
        wat.push_str("  (core module $m\n");
        wat.push_str(&format!(
            "    (memory (export \"memory\") {})\n",
            self.memory
        ));
        wat.push_str(
            "    (func (export \"realloc\") (param i32 i32 i32 i32) (result i32) unreachable)\n",
        );
        for (index, export) in self.exports.iter().enumerate() {
            let (_, _, core, _) = export.parts();
            wat.push_str(&format!(
                "    (func (export \"f{index}\") {core} unreachable)\n"
            ));
        }
        if let Some(table) = &self.table {
            wat.push_str(&format!("    (table {table} funcref)\n"));
        }
        for (index, data) in self.data.iter().enumerate() {
            wat.push_str(&format!(
                "    (data (i32.const {}) \"{data}\")\n",
                index * 64
            ));
        }
        for _ in 0..self.functions {
            wat.push_str("    (func)\n");
        }
        wat.push_str(&self.module_extra);
        wat.push_str("  )\n  (core instance $i (instantiate $m))\n");
        for (index, export) in self.exports.iter().enumerate() {
            let (name, ty, _, needs_memory) = export.parts();
            let options = if needs_memory {
                r#" (memory (core memory $i "memory")) (realloc (core func $i "realloc"))"#
            } else {
                ""
            };
            wat.push_str(&format!(
                "  (func (export \"{name}\") {ty} (canon lift (core func $i \"f{index}\"){options}))\n"
            ));
        }
        wat.push(')');
        wat
    }

    fn build(&self) -> Vec<u8> {
        let text = self.text();
        wat::parse_str(&text).unwrap_or_else(|e| panic!("fixture WAT does not parse: {e}\n{text}"))
    }
}

/// `bytes` with a custom section of `size` zero bytes appended at the top level.
fn padded(mut bytes: Vec<u8>, size: usize) -> Vec<u8> {
    let name = b"padding";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.resize(payload.len() + size, 0);
    bytes.push(0); // custom section id
    let mut length = payload.len() as u64;
    loop {
        let byte = (length & 0x7f) as u8;
        length >>= 7;
        if length == 0 {
            bytes.push(byte);
            break;
        }
        bytes.push(byte | 0x80);
    }
    bytes.extend_from_slice(&payload);
    bytes
}

/// A fake PostHog project API key, made here so that no credential-shaped text sits in the
/// repository.
fn fake_project_key() -> String {
    format!("phc_{}", "Zx9".repeat(12))
}

/// A crate plugin and its dependency `dep`, written into a temporary directory.
struct CrateFixture {
    _dir: tempfile::TempDir,
    cargo_toml: PathBuf,
    library_root: PathBuf,
}

/// How the fixture crate depends on `dep`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DepSource {
    /// `path = "../dep"`, inside the library root.
    Path,
    /// `path = "../dep"`, with the library root set to the plugin crate's own directory.
    PathOutsideRoot,
    /// `git = "file://..."`, a local repository made by the test.
    Git,
}

/// Writes `plugin` (the crate) depending on `dep`, whose manifest gets `dep_extra` (its
/// `license` line) and, when `build_script`, a build.rs.
fn crate_fixture(dep_extra: &str, build_script: bool, source: DepSource) -> CrateFixture {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| common::write_file(dir.path(), path, text);
    write(
        "dep/Cargo.toml",
        &format!(
            "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{dep_extra}\n"
        ),
    );
    write("dep/src/lib.rs", "");
    if build_script {
        write("dep/build.rs", "fn main() {}\n");
    }
    let dependency = match source {
        DepSource::Path | DepSource::PathOutsideRoot => r#"dep = { path = "../dep" }"#.to_owned(),
        DepSource::Git => {
            let repo = dir.path().join("dep");
            let git = |args: &[&str]| {
                let status = Command::new("git")
                    .args([
                        "-c",
                        "user.name=fixture",
                        "-c",
                        "user.email=fixture@example.com",
                    ])
                    .args(args)
                    .current_dir(&repo)
                    .output()
                    .expect("git runs");
                assert!(status.status.success(), "git {args:?}: {status:?}");
            };
            git(&["init", "-q"]);
            git(&["add", "."]);
            git(&["commit", "-q", "-m", "dep"]);
            format!("dep = {{ git = \"file://{}\" }}", repo.display())
        }
    };
    write(
        "plugin/Cargo.toml",
        &format!(
            "[package]\nname = \"plugin\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\n[workspace]\n\n[dependencies]\n{dependency}\n"
        ),
    );
    write("plugin/src/lib.rs", "");
    // A crate plugin is pinned by its Cargo.lock (`source/lockfile`).
    let lock = Command::new(env!("CARGO"))
        .args(["generate-lockfile", "--manifest-path"])
        .arg(dir.path().join("plugin/Cargo.toml"))
        .output()
        .expect("cargo runs");
    assert!(lock.status.success(), "generate-lockfile: {lock:?}");
    let library_root = if source == DepSource::PathOutsideRoot {
        dir.path().join("plugin")
    } else {
        dir.path().to_owned()
    };
    CrateFixture {
        cargo_toml: dir.path().join("plugin/Cargo.toml"),
        library_root,
        _dir: dir,
    }
}

fn crate_plugin(fixture: CrateFixture) -> Plugin {
    Plugin {
        manifest: manifest(json!({})),
        component: None,
        source: Some(fixture),
        build_policy: Default::default(),
    }
}

const MIT: &str = "license = \"MIT OR Apache-2.0\"";

// ---------------------------------------------------------------------------------------------
// Every rule: a fixture that triggers it, and a near miss that does not

/// One row of the rule table.
struct Case {
    rule: &'static str,
    triggers: Plugin,
    near_miss: Plugin,
}

fn case(rule: &'static str, triggers: Plugin, near_miss: Plugin) -> Case {
    Case {
        rule,
        triggers,
        near_miss,
    }
}

fn config(fields: Value) -> Plugin {
    Plugin::with_manifest(json!({ "config": fields }))
}

fn component(wat: Wat) -> Plugin {
    Plugin::with_component(wat.build())
}

/// The rule table: every rule of the static stage with its two fixtures.
fn cases() -> Vec<Case> {
    let choice = |default: &str| json!([{"key": "mode", "type": "choice", "choices": ["fast", "slow"], "default": default}]);
    let all_exports = [
        Export::Setup,
        Export::ProcessEvent,
        Export::OnEvent,
        Export::Teardown,
    ];
    vec![
        case(
            "manifest/not-json",
            Plugin {
                manifest: "{\"name\": \"fixture\",\n  version: 1}".into(),
                ..Plugin::default()
            },
            Plugin::with_manifest(json!({})),
        ),
        case(
            "manifest/schema",
            Plugin::with_manifest(json!({"capabilites": {"storage": true}})),
            Plugin::with_manifest(json!({"capabilities": {"storage": true}})),
        ),
        case(
            "manifest/version",
            Plugin::with_manifest(json!({"version": "1.0"})),
            Plugin::with_manifest(json!({"version": "1.0.0-beta.1"})),
        ),
        case(
            "manifest/posthog-version",
            Plugin::with_manifest(json!({"posthogVersion": "1.25 or later"})),
            Plugin::with_manifest(json!({"posthogVersion": ">= 1.25.0"})),
        ),
        case(
            "manifest/duplicate-config-key",
            config(json!([{"key": "a"}, {"key": "a"}])),
            config(json!([{"key": "a"}, {"key": "b"}])),
        ),
        case(
            "manifest/choice-without-choices",
            config(json!([{"key": "a", "type": "choice"}])),
            config(json!([{"key": "a", "type": "choice", "choices": ["x"]}])),
        ),
        case(
            "manifest/choice-default",
            config(choice("medium")),
            config(choice("slow")),
        ),
        case(
            "manifest/choices-without-choice-type",
            config(json!([{"key": "a", "type": "string", "choices": ["x"]}])),
            config(json!([{"key": "a", "type": "string"}])),
        ),
        case(
            "manifest/json-default",
            config(json!([{"key": "a", "type": "json", "default": "{not json"}])),
            config(json!([{"key": "a", "type": "json", "default": "{\"a\": 1}"}])),
        ),
        case(
            "manifest/secret-default",
            config(json!([{"key": "token", "secret": true, "default": "hunter22"}])),
            config(json!([{"key": "token", "secret": true}])),
        ),
        case(
            "manifest/required-config",
            config(json!([{"key": "a", "required": true}])),
            Plugin::with_manifest(
                json!({"config": [{"key": "a", "required": true}], "verifyConfig": {"a": "x"}}),
            ),
        ),
        case(
            "manifest/verify-config-unknown-key",
            Plugin::with_manifest(json!({"config": [{"key": "a"}], "verifyConfig": {"b": "1"}})),
            Plugin::with_manifest(json!({"config": [{"key": "a"}], "verifyConfig": {"a": "1"}})),
        ),
        case(
            "manifest/verify-config-choice",
            Plugin::with_manifest(json!({"config": choice("fast"), "verifyConfig": {"mode": "medium"}})),
            Plugin::with_manifest(json!({"config": choice("fast"), "verifyConfig": {"mode": "slow"}})),
        ),
        case(
            "manifest/limits-over-ceiling",
            Plugin::with_manifest(json!({"limits": {"memoryMiB": 1024}})),
            Plugin::with_manifest(json!({"limits": {"memoryMiB": 512}})),
        ),
        case(
            "artifact/invalid",
            Plugin::with_component(b"\0asm\x0d\0\x01\0\x07\x05garbage".to_vec()),
            component(Wat::default()),
        ),
        case(
            "artifact/core-module",
            Plugin::with_component(wat::parse_str("(module (memory 1))").unwrap()),
            component(Wat::default()),
        ),
        case(
            "artifact/producers",
            component(Wat {
                module_extra: "    (@producers (language \"Rust\" \"\") (processed-by \"rustc\" \"1.95.0\"))\n".into(),
                ..Wat::default()
            }),
            component(Wat::default()),
        ),
        case(
            "artifact/embedded-secret",
            component(Wat {
                data: vec![format!("key={}", fake_project_key())],
                ..Wat::default()
            }),
            component(Wat {
                data: vec!["key=phc_short".into()],
                ..Wat::default()
            }),
        ),
        case(
            "contract/missing-export",
            component(Wat::exports(&[Export::Setup, Export::Teardown])),
            component(Wat::exports(&[Export::OnEvent])),
        ),
        case(
            "contract/export-signature",
            component(Wat::exports(&[Export::WrongProcessEvent])),
            component(Wat::exports(&all_exports)),
        ),
        case(
            "contract/unknown-export",
            component(Wat::exports(&[Export::ProcessEvent, Export::Unknown])),
            component(Wat::exports(&[Export::ProcessEvent])),
        ),
        case(
            "capability/forbidden-import",
            component(Wat::imports(&["wasi:filesystem/types@0.2.6"])),
            component(Wat::imports(&["wasi:cli/environment@0.2.6"])),
        ),
        case(
            "capability/unknown-import",
            component(Wat::imports(&["acme:tools/backdoor@1.0.0"])),
            component(Wat::imports(&["wasi:random/random@0.2.6"])),
        ),
        case(
            "capability/undeclared-import",
            component(Wat::imports(&["posthog:plugin/storage@0.1.0"])),
            Plugin {
                manifest: manifest(json!({"capabilities": {"storage": true}})),
                ..component(Wat::imports(&["posthog:plugin/storage@0.1.0"]))
            },
        ),
        case(
            "capability/unused-declaration",
            Plugin {
                manifest: manifest(json!({"capabilities": {"cache": true}})),
                ..component(Wat::default())
            },
            Plugin {
                manifest: manifest(json!({"capabilities": {"cache": true}})),
                ..component(Wat::imports(&["posthog:plugin/cache@0.1.0"]))
            },
        ),
        case(
            "resources/figures",
            component(Wat::default()),
            Plugin::with_manifest(json!({})),
        ),
        case(
            "resources/component-size",
            Plugin::with_component(padded(Wat::default().build(), 16 << 20)),
            Plugin::with_component(padded(Wat::default().build(), 1 << 20)),
        ),
        case(
            "resources/memory",
            component(Wat {
                memory: "1025".into(),
                ..Wat::default()
            }),
            component(Wat {
                memory: "1024".into(),
                ..Wat::default()
            }),
        ),
        case(
            "resources/table",
            component(Wat {
                table: Some("100001".into()),
                ..Wat::default()
            }),
            component(Wat {
                table: Some("100000".into()),
                ..Wat::default()
            }),
        ),
        case(
            "resources/functions",
            component(Wat {
                functions: 100_000,
                ..Wat::default()
            }),
            component(Wat {
                functions: 100,
                ..Wat::default()
            }),
        ),
        case(
            "source/metadata",
            {
                let fixture = crate_fixture(MIT, false, DepSource::Path);
                std::fs::write(&fixture.cargo_toml, "this is not = = toml").unwrap();
                crate_plugin(fixture)
            },
            crate_plugin(crate_fixture(MIT, false, DepSource::Path)),
        ),
        case(
            "source/license-not-allowed",
            crate_plugin(crate_fixture(
                "license = \"GPL-3.0-only\"",
                false,
                DepSource::Path,
            )),
            crate_plugin(crate_fixture(
                "license = \"GPL-3.0-only OR MIT\"",
                false,
                DepSource::Path,
            )),
        ),
        case(
            "source/license-unknown",
            crate_plugin(crate_fixture("", false, DepSource::Path)),
            crate_plugin(crate_fixture(MIT, false, DepSource::Path)),
        ),
        case(
            "source/git-dependency",
            crate_plugin(crate_fixture(MIT, false, DepSource::Git)),
            crate_plugin(crate_fixture(MIT, false, DepSource::Path)),
        ),
        case(
            "source/path-dependency-outside-root",
            crate_plugin(crate_fixture(MIT, false, DepSource::PathOutsideRoot)),
            crate_plugin(crate_fixture(MIT, false, DepSource::Path)),
        ),
        case(
            "source/build-script",
            crate_plugin(crate_fixture(MIT, true, DepSource::Path)),
            // The same build script, allowed by the maintainer's policy.
            Plugin {
                build_policy: harness::cargo_build::BuildPolicy {
                    allowed: vec!["dep".into()],
                    ..Default::default()
                },
                ..crate_plugin(crate_fixture(MIT, true, DepSource::Path))
            },
        ),
        case(
            "source/build-script-allowed",
            Plugin {
                build_policy: harness::cargo_build::BuildPolicy {
                    allowed: vec!["dep".into()],
                    ..Default::default()
                },
                ..crate_plugin(crate_fixture(MIT, true, DepSource::Path))
            },
            crate_plugin(crate_fixture(MIT, false, DepSource::Path)),
        ),
        case(
            "source/lockfile",
            {
                let fixture = crate_fixture(MIT, false, DepSource::Path);
                std::fs::remove_file(fixture.cargo_toml.with_file_name("Cargo.lock")).unwrap();
                crate_plugin(fixture)
            },
            crate_plugin(crate_fixture(MIT, false, DepSource::Path)),
        ),
        case(
            "manifest/main",
            Plugin::with_manifest(json!({"main": "../../outside.wasm"})),
            Plugin::with_manifest(json!({"main": "build/plugin.wasm"})),
        ),
    ]
}

#[test]
fn every_rule_is_triggered_by_its_fixture_and_not_by_its_near_miss() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let triggered = case.triggers.analyze();
        if !rule_ids(&triggered).contains(case.rule) {
            failures.push(format!(
                "{}: not triggered; found {:?}",
                case.rule,
                rule_ids(&triggered)
            ));
        }
        let missed = case.near_miss.analyze();
        if rule_ids(&missed).contains(case.rule) {
            failures.push(format!(
                "{}: triggered by the near miss: {:?}",
                case.rule,
                findings_of(&missed, case.rule)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let table: BTreeSet<&str> = cases.iter().map(|case| case.rule).collect();
    let listed: BTreeSet<&str> = rules().iter().map(|rule| rule.id).collect();
    assert_eq!(table, listed, "every rule needs a row in cases()");
}

#[test]
fn near_misses_have_no_errors_or_warnings_at_all() {
    // A near miss is otherwise clean: it triggers no error or warning at all.
    for case in cases() {
        let report = case.near_miss.analyze();
        let loud: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .collect();
        assert!(loud.is_empty(), "{}: {loud:#?}", case.rule);
    }
}

// ---------------------------------------------------------------------------------------------
// The issue's "done when" checks

fn assert_rejected_by(report: &StaticReport, rule: &str) -> Finding {
    let finding = findings_of(report, rule)
        .first()
        .copied()
        .cloned()
        .unwrap_or_else(|| panic!("no {rule} finding in {:#?}", report.findings));
    assert_eq!(finding.severity, Severity::Error, "{rule} rejects");
    finding
}

#[test]
fn a_component_importing_an_undeclared_capability_is_rejected() {
    let report = component(Wat::imports(&["posthog:plugin/http@0.1.0"])).analyze();
    let finding = assert_rejected_by(&report, "capability/undeclared-import");
    assert!(
        finding.message.contains("`posthog:plugin/http@0.1.0`"),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains("`http` capability"),
        "{}",
        finding.message
    );
    let location = finding.location.unwrap();
    assert_eq!(location.file.as_deref(), Some(Path::new(COMPONENT_PATH)));
    assert_eq!(
        location.pointer.as_deref(),
        Some("import:posthog:plugin/http@0.1.0")
    );
    // `log` needs no declaration.
    let report = component(Wat::imports(&["posthog:plugin/log@0.1.0"])).analyze();
    assert!(findings_of(&report, "capability/undeclared-import").is_empty());
}

#[test]
fn a_component_importing_wasi_filesystem_is_rejected() {
    let report = component(Wat::imports(&[
        "wasi:io/streams@0.2.6",
        "wasi:filesystem/types@0.2.6",
        "wasi:filesystem/preopens@0.2.6",
    ]))
    .analyze();
    let findings = findings_of(&report, "capability/forbidden-import");
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert_rejected_by(&report, "capability/forbidden-import");
    let finding = findings[0];
    assert!(
        finding.message.contains("`wasi:filesystem/types@0.2.6`"),
        "{}",
        finding.message
    );
    assert_eq!(
        finding.location.as_ref().unwrap().pointer.as_deref(),
        Some("import:wasi:filesystem/types@0.2.6")
    );
}

#[test]
fn a_manifest_with_a_bad_choice_default_is_rejected() {
    let report = config(json!([
        {"key": "a"},
        {"key": "b"},
        {"key": "mode", "type": "choice", "choices": ["fast", "slow"], "default": "medium"}
    ]))
    .analyze();
    let finding = assert_rejected_by(&report, "manifest/choice-default");
    assert!(
        finding.message.contains("\"medium\""),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains("\"fast\", \"slow\""),
        "{}",
        finding.message
    );
    let location = finding.location.unwrap();
    assert_eq!(location.file.as_deref(), Some(Path::new(MANIFEST_PATH)));
    assert_eq!(location.pointer.as_deref(), Some("/config/2/default"));
}

// ---------------------------------------------------------------------------------------------
// Details of particular rules

#[test]
fn schema_violations_point_into_the_manifest() {
    let report = Plugin::with_manifest(json!({
        "version": null,
        "capabilities": {"http": {"hosts": ["https://api.example.com/path"]}},
        "config": [{"key": "a", "type": "number"}],
        "limits": {"fuelPerEvent": "lots"}
    }))
    .analyze();
    let pointers: BTreeSet<String> = findings_of(&report, "manifest/schema")
        .iter()
        .filter_map(|f| f.location.as_ref()?.pointer.clone())
        .collect();
    for expected in [
        "",
        "/capabilities/http/hosts/0",
        "/config/0/type",
        "/limits/fuelPerEvent",
    ] {
        assert!(
            pointers.contains(expected),
            "{expected} not in {pointers:?}"
        );
    }
    let unknown = Plugin::with_manifest(json!({"capabilites": {}})).analyze();
    let finding = assert_rejected_by(&unknown, "manifest/schema");
    assert_eq!(
        finding.location.unwrap().pointer.as_deref(),
        Some("/capabilites")
    );
    assert!(finding.message.contains("unknown field `capabilites`"));
}

#[test]
fn the_manifest_that_uses_every_field_is_clean() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/static/every-field.plugin.json"),
    )
    .unwrap();
    let report = Plugin {
        manifest: text,
        ..Plugin::default()
    }
    .analyze();
    assert_eq!(report.findings, [], "{}", report.summary);
}

/// Every field of [`Manifest`] is in the schema: a manifest using all of them validates. The
/// struct is written out without `..`, so that a new field does not compile here until the
/// schema has it too.
#[test]
fn every_field_of_the_manifest_type_is_in_the_schema() {
    let manifest = Manifest {
        name: "p".into(),
        description: "d".into(),
        url: Some("https://example.com/p".into()),
        main: Some("p.wasm".into()),
        posthog_version: Some(">= 1.25.0".into()),
        version: "1.0.0".into(),
        config: vec![ConfigField {
            key: "k".into(),
            name: Some("K".into()),
            field_type: ConfigType::Choice,
            default: Some("a".into()),
            hint: Some("h".into()),
            required: true,
            secret: true,
            choices: vec!["a".into()],
        }],
        capabilities: Capabilities {
            storage: true,
            cache: true,
            capture: true,
            http: Some(HttpCapability {
                hosts: vec!["api.example.com".into()],
            }),
            geoip: true,
        },
        limits: Limits {
            fuel_per_event: Some(1),
            memory_mib: Some(1),
            timeout_ms: Some(1),
        },
        verify_config: [("k".to_owned(), "a".to_owned())].into(),
        stateful: true,
        idempotent: true,
        max_captures_per_event: Some(3),
        uses_clock: true,
        uses_random: true,
        may_change: vec!["distinct_id".into()],
        requires: vec!["$lib_version".into()],
        provides: vec!["$lib_version__major".into()],
        rejects_some_inputs: true,
        schemas: Some(PluginSchemas {
            input: Some("in.json".into()),
            output: Some("out.json".into()),
        }),
    };
    let value = serde_json::to_value(&manifest).unwrap();
    let errors: Vec<String> = plugin_schema()
        .iter_errors(&value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert_eq!(errors, Vec::<String>::new());
}

#[test]
fn a_manifest_that_is_not_json_names_the_line() {
    let report = Plugin {
        manifest: "{\n  \"name\": \"x\",\n  oops\n}".into(),
        ..Plugin::default()
    }
    .analyze();
    let finding = assert_rejected_by(&report, "manifest/not-json");
    assert_eq!(finding.location.unwrap().line, Some(3));
    assert!(
        finding.message.contains("key must be a string"),
        "{}",
        finding.message
    );
}

#[test]
fn secrets_in_manifest_errors_are_never_quoted() {
    let report =
        config(json!([{"key": "token", "secret": true, "default": 123_456_789}])).analyze();
    for finding in &report.findings {
        assert!(
            !finding.message.contains("123456789"),
            "{}",
            finding.message
        );
    }
    let report =
        config(json!([{"key": "token", "secret": true, "default": "s3cr3t-value"}])).analyze();
    assert_rejected_by(&report, "manifest/secret-default");
    for finding in &report.findings {
        assert!(
            !finding.message.contains("s3cr3t-value"),
            "{}",
            finding.message
        );
    }
}

#[test]
fn embedded_secrets_are_named_by_kind_and_offset_never_printed() {
    let key = fake_project_key();
    let token = format!("ghp_{}", "Ab1".repeat(12));
    let bytes = Wat {
        data: vec![format!("a={key}"), format!("b={token}"), format!("c={key}")],
        ..Wat::default()
    }
    .build();
    let report = Plugin::with_component(bytes.clone()).analyze();
    let findings = findings_of(&report, "artifact/embedded-secret");
    assert_eq!(findings.len(), 2, "{findings:#?}");
    for finding in &findings {
        let text = serde_json::to_string(finding).unwrap();
        assert!(!text.contains(&key) && !text.contains(&token), "{text}");
    }
    let project = findings
        .iter()
        .find(|f| f.message.contains("PostHog project API key"))
        .unwrap();
    assert!(project.message.contains("`phc_…`"), "{}", project.message);
    assert_eq!(project.occurrences, 2);
    let offset = bytes
        .windows(key.len())
        .position(|w| w == key.as_bytes())
        .unwrap();
    assert!(
        project.message.contains(&format!("byte offset {offset} ")),
        "{offset}: {}",
        project.message
    );
    assert_eq!(
        project.location.as_ref().unwrap().pointer,
        Some(format!("offset:{offset}"))
    );
    assert!(findings.iter().any(|f| f.message.contains("GitHub token")));
}

#[test]
fn secrets_in_custom_sections_and_broken_files_are_found_too() {
    let key = fake_project_key();
    let custom = Wat {
        module_extra: format!("    (@custom \"settings\" \"{key}\")\n"),
        ..Wat::default()
    }
    .build();
    let report = Plugin::with_component(custom).analyze();
    let finding = assert_rejected_by(&report, "artifact/embedded-secret");
    assert!(
        finding.message.contains("custom section `settings`"),
        "{}",
        finding.message
    );

    let mut broken = b"\0asm\x0d\0\x01\0".to_vec();
    broken.extend_from_slice(format!("\x05junk {key}").as_bytes());
    let report = Plugin::with_component(broken).analyze();
    assert_rejected_by(&report, "artifact/invalid");
    assert_rejected_by(&report, "artifact/embedded-secret");

    let core = wat::parse_str(format!(
        "(module (memory 1) (data (i32.const 0) \"{key}\"))"
    ))
    .unwrap();
    let report = Plugin::with_component(core).analyze();
    assert_rejected_by(&report, "artifact/core-module");
    assert_rejected_by(&report, "artifact/embedded-secret");
}

#[test]
fn a_core_module_is_told_how_to_build_a_component() {
    let report = Plugin::with_component(wat::parse_str("(module)").unwrap()).analyze();
    let finding = assert_rejected_by(&report, "artifact/core-module");
    assert!(
        finding.message.contains("--target wasm32-wasip2"),
        "{}",
        finding.message
    );
    let report = Plugin::with_component(b"hello, world".to_vec()).analyze();
    assert_rejected_by(&report, "artifact/invalid");
}

#[test]
fn a_wrong_signature_names_expected_and_found() {
    let report = component(Wat::exports(&[Export::WrongProcessEvent, Export::OnEvent])).analyze();
    let finding = assert_rejected_by(&report, "contract/export-signature");
    assert!(
        finding.message.contains(
            "expected `func(string) -> result<option<string>, string>`, found `func(string) -> result<string, string>`"
        ),
        "{}",
        finding.message
    );
    assert_eq!(
        finding.location.unwrap().pointer.as_deref(),
        Some("export:process-event")
    );
}

#[test]
fn exports_are_rendered_exactly_as_the_contract_writes_them() {
    // Every contract export, rendered from wasmparser's types, equals the contract's text:
    // a component implementing the whole contract has no signature finding.
    let report = component(Wat::exports(&[
        Export::Setup,
        Export::ProcessEvent,
        Export::OnEvent,
        Export::Teardown,
    ]))
    .analyze();
    assert!(findings_of(&report, "contract/export-signature").is_empty());
    assert_eq!(
        report.metrics["exports"],
        json!(["setup", "process-event", "on-event", "teardown"])
    );
}

#[test]
fn the_manifest_can_lower_the_memory_limit_but_not_raise_it() {
    let wat = Wat {
        memory: "257".into(), // 16 MiB and one page
        ..Wat::default()
    };
    let lowered = Plugin {
        manifest: manifest(json!({"limits": {"memoryMiB": 16}})),
        ..component(wat.clone())
    }
    .analyze();
    let finding = assert_rejected_by(&lowered, "resources/memory");
    assert!(
        finding.message.contains("limit of 16 MiB"),
        "{}",
        finding.message
    );
    assert_eq!(lowered.metrics["memoryLimitBytes"], json!(16 << 20));
    assert!(rule_ids(&component(wat).analyze()).contains("resources/figures"));

    let raised = Plugin {
        manifest: manifest(json!({"limits": {"memoryMiB": 4096}})),
        ..component(Wat {
            memory: "8193".into(), // 512 MiB and one page
            ..Wat::default()
        })
    }
    .analyze();
    assert_rejected_by(&raised, "manifest/limits-over-ceiling");
    let finding = assert_rejected_by(&raised, "resources/memory");
    assert!(
        finding.message.contains("512 MiB (the ceiling)"),
        "{}",
        finding.message
    );
}

#[test]
fn figures_are_reported_as_metrics() {
    let report = component(Wat {
        memory: "17 32".into(),
        table: Some("10".into()),
        functions: 5,
        ..Wat::default()
    })
    .analyze();
    let metrics = &report.metrics;
    assert_eq!(metrics["coreModules"], json!(1));
    assert_eq!(metrics["coreFunctions"], json!(7)); // realloc, process-event and 5 more
    assert_eq!(metrics["memoryInitialBytes"], json!(17 * 65_536));
    assert_eq!(metrics["memoryMaximumBytes"], json!(32 * 65_536));
    assert_eq!(metrics["tableElements"], json!(10));
    assert_eq!(metrics["capabilitiesImported"], json!([]));
    let figures = assert_info(&report, "resources/figures");
    assert!(
        figures.contains("1 core module defining 7 functions"),
        "{figures}"
    );
    assert!(figures.contains("at most 2 MiB"), "{figures}");
}

fn assert_info(report: &StaticReport, rule: &str) -> String {
    let finding = findings_of(report, rule)
        .first()
        .copied()
        .cloned()
        .unwrap_or_else(|| panic!("no {rule} in {:#?}", report.findings));
    assert_eq!(finding.severity, Severity::Info);
    finding.message
}

#[test]
fn producers_name_language_and_toolchain() {
    let report = component(Wat {
        module_extra: "    (@producers (language \"Rust\" \"\") (processed-by \"rustc\" \"1.95.0\") (sdk \"posthog-plugin-sdk\" \"0.1.0\"))\n".into(),
        ..Wat::default()
    })
    .analyze();
    let message = assert_info(&report, "artifact/producers");
    assert_eq!(
        message,
        "producers section: language: Rust; sdk: posthog-plugin-sdk 0.1.0; processed-by: rustc 1.95.0"
    );
}

#[test]
fn the_summary_says_what_was_checked() {
    let report = Plugin {
        manifest: manifest(json!({"capabilities": {"storage": true}})),
        ..component(Wat::imports(&[
            "posthog:plugin/storage@0.1.0",
            "posthog:plugin/log@0.1.0",
        ]))
    }
    .analyze();
    assert_eq!(
        report.summary,
        "checked plugin.json and the component (exports process-event; capabilities log, storage): 0 errors, 0 warnings, 1 note"
    );
}

#[test]
fn licences_and_dependency_counts_come_from_the_resolved_graph() {
    let report = crate_plugin(crate_fixture(
        "license = \"(MIT OR Apache-2.0) AND Unicode-3.0\"",
        false,
        DepSource::Path,
    ))
    .analyze();
    assert_eq!(report.findings, []);
    assert_eq!(report.metrics["dependencies"], json!(1));

    let report = crate_plugin(crate_fixture(
        "license = \"AGPL-3.0-or-later\"",
        false,
        DepSource::Path,
    ))
    .analyze();
    let finding = assert_rejected_by(&report, "source/license-not-allowed");
    assert!(
        finding.message.contains("`dep 0.1.0`"),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains("`AGPL-3.0-or-later`"),
        "{}",
        finding.message
    );
}

// ---------------------------------------------------------------------------------------------
// The example library

/// `text` with every number (digits, with `.` and `,` between digits) replaced by `N`: for messages
/// whose figures change with the toolchain.
fn blur_numbers(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            // Digits, and `.` or `,` followed by a digit ("1.95.0", "1,234", not "0.1.0, x").
            loop {
                let mut ahead = chars.clone();
                match ahead.next() {
                    Some(c) if c.is_ascii_digit() => {}
                    Some('.' | ',') if ahead.next().is_some_and(|c| c.is_ascii_digit()) => {}
                    _ => break,
                }
                chars.next();
            }
            out.push('N');
        } else {
            out.push(c);
        }
    }
    out
}

/// Replaces `from` by `to` in every string of `value`.
fn replace_in_strings(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(text) => *text = text.replace(from, to),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| replace_in_strings(item, from, to)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| replace_in_strings(item, from, to)),
        _ => {}
    }
}

#[test]
fn example_plugins_have_no_errors_or_warnings() {
    let root = common::workspace_root();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("plugins"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("plugin.json").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 7, "{dirs:?}");
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let manifest_path = dir.join("plugin.json");
        let manifest_text = std::fs::read_to_string(&manifest_path).unwrap();
        let cargo_toml = dir.join("Cargo.toml");
        let component_path = common::built_component(&dir);
        let bytes = std::fs::read(&component_path).unwrap();
        let report = analyze(&StaticInput {
            manifest_path: &manifest_path,
            manifest_text: &manifest_text,
            component_path: Some(&component_path),
            component: Some(&bytes),
            // A JavaScript plugin has no crate.
            cargo_toml: cargo_toml.is_file().then_some(cargo_toml.as_path()),
            library_root: Some(&root),
            build_policy: &Default::default(),
        });
        assert_consistent(&report);
        let loud: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .collect();
        assert!(loud.is_empty(), "{name}: {loud:#?}");

        let mut snapshot = json!({
            "summary": report.summary,
            "findings": report.findings,
            "metrics": report.metrics,
        });
        // Locations relative to the workspace; the component lives in the target directory.
        let build_dir = component_path.parent().unwrap().display().to_string();
        replace_in_strings(&mut snapshot, &build_dir, "[target]");
        // A JavaScript plugin's component is named by the digest of its build's inputs.
        let file_name = component_path.file_name().unwrap().to_string_lossy();
        if file_name.starts_with("js-") {
            replace_in_strings(&mut snapshot, &file_name, "js-[digest].wasm");
        }
        replace_in_strings(&mut snapshot, &format!("{}/", root.display()), "");
        // Figures and tool versions change with the toolchain.
        for finding in snapshot["findings"].as_array_mut().unwrap() {
            if ["resources/figures", "artifact/producers"]
                .contains(&finding["rule"].as_str().unwrap())
            {
                finding["message"] = blur_numbers(finding["message"].as_str().unwrap()).into();
            }
        }
        if let Some(imports) = snapshot["metrics"]["imports"].as_array_mut() {
            for import in imports {
                let name = import.as_str().unwrap();
                *import = match name.split_once('@') {
                    Some((path, _)) if path.starts_with("wasi:") => {
                        format!("{path}@[version]").into()
                    }
                    _ => name.into(),
                };
            }
        }
        // Sizes and counts change with the toolchain. (insta's own redactions need its
        // `redactions` feature, which the workspace does not enable.)
        for (metric, stand_in) in [
            ("componentBytes", "[size]"),
            ("coreFunctions", "[count]"),
            ("coreModules", "[count]"),
            ("memoryInitialBytes", "[size]"),
            ("memoryMaximumBytes", "[size]"),
            ("tableElements", "[count]"),
            ("producers", "[toolchain]"),
        ] {
            if let Some(value) = snapshot["metrics"].get_mut(metric) {
                *value = stand_in.into();
            }
        }
        insta::with_settings!({
            snapshot_path => "../fixtures/static/snapshots",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_json_snapshot!(format!("example-{name}"), snapshot);
        });
    }
}

// ---------------------------------------------------------------------------------------------
// No panic on any input (the bodies of the fuzz targets in fuzz/)

/// A valid component to mutate.
fn seed_component() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        Wat {
            imports: vec![
                "posthog:plugin/log@0.1.0".into(),
                "wasi:io/streams@0.2.6".into(),
            ],
            exports: vec![Export::Setup, Export::ProcessEvent, Export::Teardown],
            table: Some("4".into()),
            data: vec!["hello".into()],
            module_extra: "    (@producers (language \"Rust\" \"\"))\n".into(),
            ..Wat::default()
        }
        .build()
    })
}

/// The `artifact` fuzz target's body.
fn analyze_artifact(bytes: &[u8]) {
    let report = analyze(&StaticInput {
        manifest_path: Path::new(MANIFEST_PATH),
        manifest_text: r#"{"name": "fuzz", "version": "0.1.0", "capabilities": {"storage": true}}"#,
        component_path: Some(Path::new(COMPONENT_PATH)),
        component: Some(bytes),
        cargo_toml: None,
        library_root: None,
        build_policy: &Default::default(),
    });
    assert_consistent(&report);
}

/// The `manifest` fuzz target's body.
fn analyze_manifest(text: &str) {
    let report = analyze(&StaticInput {
        manifest_path: Path::new(MANIFEST_PATH),
        manifest_text: text,
        component_path: None,
        component: None,
        cargo_toml: None,
        library_root: None,
        build_policy: &Default::default(),
    });
    assert_consistent(&report);
}

/// JSON values built from the manifest's vocabulary, so that the semantic checks see the
/// shapes they look for (and wrong ones).
fn manifest_like() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "name",
        "version",
        "config",
        "key",
        "type",
        "choice",
        "choices",
        "default",
        "secret",
        "required",
        "verifyConfig",
        "limits",
        "memoryMiB",
        "fuelPerEvent",
        "capabilities",
        "storage",
        "http",
        "hosts",
        "json",
        "posthogVersion",
        "1.0.0",
        ">= 1.25.0",
        "~",
        "/",
        "",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..2000).prop_map(Value::from),
        words.clone().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((words.clone(), inner), 0..8).prop_map(|entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

// 256 cases each by default; `PROPTEST_CASES` asks for more (see fuzz/README.md).
proptest! {
    #[test]
    fn arbitrary_bytes_never_make_the_stage_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        analyze_artifact(&bytes);
        let mut with_header = b"\0asm\x0d\0\x01\0".to_vec();
        with_header.extend_from_slice(&bytes);
        analyze_artifact(&with_header);
    }

    #[test]
    fn mutated_components_never_make_the_stage_panic(
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = seed_component().to_vec();
        for (index, byte) in mutations {
            let at = index.index(bytes.len());
            bytes[at] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        analyze_artifact(&bytes);
    }

    #[test]
    fn arbitrary_text_never_makes_the_stage_panic(text in "\\PC{0,400}") {
        analyze_manifest(&text);
    }

    #[test]
    fn json_ish_manifests_never_make_the_stage_panic(
        value in manifest_like(),
        config in prop::collection::vec(manifest_like(), 0..4),
    ) {
        analyze_manifest(&value.to_string());
        let mut manifest = json!({"name": "p", "version": "1.0.0", "config": config});
        if let Value::Object(extra) = value {
            for (key, value) in extra {
                manifest[key] = value;
            }
        }
        analyze_manifest(&manifest.to_string());
    }
}

#[test]
fn the_seed_component_is_clean_so_mutations_start_from_valid_input() {
    let report = Plugin::with_component(seed_component().to_vec()).analyze();
    let loud: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
}

/// The stage's invariants, checked on its source: it never compiles or instantiates a plugin
/// (no wasmtime), and every module says what it is for.
#[test]
fn the_static_stage_never_uses_the_runtime_and_documents_every_module() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/static_analysis");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("wasmtime::"),
            "{} uses wasmtime",
            path.display()
        );
        assert!(
            text.starts_with("//! "),
            "{} has no module doc",
            path.display()
        );
        files += 1;
    }
    assert!(files >= 6);
}
