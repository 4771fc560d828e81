//! Loading: every way a plugin can be broken is a load finding with a rule id and a one-line
//! message naming the file; nothing panics.

use crate::common;

use crate::common::{plugin_dir, raw_output_component};
use harness::error::HarnessError;
use harness::plugin::PluginSource;
use serde_json::json;

fn manifest() -> serde_json::Value {
    json!({"name": "fixture", "version": "0.1.0"})
}

/// Loads `wasm` with a valid manifest and returns the load error's rule and message.
fn load_error(wasm: &[u8]) -> (&'static str, String) {
    let dir = plugin_dir(&manifest(), wasm);
    let error = common::load_dir(dir.path()).expect_err("the plugin must not load");
    assert!(
        error.message.lines().count() <= 1,
        "one line: {}",
        error.message
    );
    (error.rule, error.message)
}

#[track_caller]
fn check(wasm: &[u8], rule: &str, message_part: &str) {
    let (found_rule, message) = load_error(wasm);
    assert_eq!(found_rule, rule, "{message}");
    assert!(
        message.contains(message_part),
        "{message:?} lacks {message_part:?}"
    );
    assert!(message.contains("plugin.wasm"), "names the file: {message}");
}

#[test]
fn a_file_that_is_not_webassembly() {
    check(
        b"hello, not wasm",
        "load/not-a-component",
        "no `\\0asm` header",
    );
    check(b"", "load/not-a-component", "no `\\0asm` header");
}

#[test]
fn a_core_module_gets_told_how_to_build_a_component() {
    let module = wat::parse_str("(module (func (export \"process-event\")))").unwrap();
    check(&module, "load/not-a-component", "--target wasm32-wasip2");
}

#[test]
fn a_truncated_component() {
    let whole = raw_output_component("{}");
    check(
        &whole[..whole.len() / 2],
        "load/not-a-component",
        "plugin.wasm",
    );
}

#[test]
fn a_wrong_export_signature_names_expected_and_found() {
    let wat = r#"(component
      (core module $m (func (export "f") (param i32) (result i32) local.get 0))
      (core instance $i (instantiate $m))
      (func (export "process-event") (param "n" u32) (result u32) (canon lift (core func $i "f"))))"#;
    check(
        &wat::parse_str(wat).unwrap(),
        "load/export-signature",
        "expected `func(string) -> result<option<string>, string>`, found `func(u32) -> u32`",
    );
}

#[test]
fn a_component_without_process_event_or_on_event() {
    let wat = r#"(component
      (core module $m (func (export "f")))
      (core instance $i (instantiate $m))
      (func (export "teardown") (canon lift (core func $i "f"))))"#;
    check(
        &wat::parse_str(wat).unwrap(),
        "load/missing-export",
        "exports none of `process-event`, `on-event`, `export-events` and the scheduled tasks (found: `teardown: func()`)",
    );
}

#[test]
fn an_unknown_import_is_refused_by_the_linker() {
    let wat = r#"(component
      (import "acme:evil/backdoor" (instance $evil (export "open" (func))))
      (core module $m
        (memory (export "memory") 1)
        (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 1024)
        (func (export "on") (param i32 i32) (result i32) i32.const 0))
      (core instance $i (instantiate $m))
      (func (export "on-event") (param "event" string) (result (result (error string)))
        (canon lift (core func $i "on") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))"#;
    check(
        &wat::parse_str(wat).unwrap(),
        "load/unresolved-import",
        "acme:evil/backdoor",
    );
}

#[test]
fn a_manifest_that_is_not_json_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plugin.json"), "{\n  \"name\": \"x\",\n}").unwrap();
    let error = common::load_dir(dir.path()).unwrap_err();
    assert_eq!(error.rule, "load/manifest");
    assert!(
        error.message.contains("plugin.json:3:1: trailing comma"),
        "{}",
        error.message
    );
}

#[test]
fn a_manifest_whose_main_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plugin.json"),
        json!({"name": "x", "main": "gone.wasm"}).to_string(),
    )
    .unwrap();
    let error = common::load_dir(dir.path()).unwrap_err();
    assert_eq!(error.rule, "load/no-component");
    assert!(error.message.contains("gone.wasm"), "{}", error.message);
}

#[test]
fn a_missing_plugin_directory_is_a_harness_error() {
    let error = PluginSource::resolve(std::path::Path::new("/no/such/plugin")).unwrap_err();
    assert!(matches!(error, HarnessError::NoSuchPlugin { .. }));
    assert_eq!(
        error.to_string(),
        "/no/such/plugin: no such plugin (expected a directory with plugin.json, a crate, or a .wasm)"
    );
}

#[test]
fn a_crate_that_does_not_compile_is_a_build_finding() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"broken-plugin\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub fn f() -> u32 { \"not a number\" }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("plugin.json"), manifest().to_string()).unwrap();
    let lock = std::process::Command::new(env!("CARGO"))
        .args(["generate-lockfile", "--offline", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(lock.status.success(), "{lock:?}");
    let source = PluginSource::resolve(dir.path()).unwrap();
    let error = harness::plugin::load(&source, &Default::default()).unwrap_err();
    assert_eq!(error.rule, "load/build");
    assert!(
        error.message.contains("mismatched types"),
        "{}",
        error.message
    );
}

/// Attachments (config fields of type `attachment`): each case names a file from the config
/// and expects the plugin to see it, or a `load/attachment` error naming why.
#[test]
fn an_attachment_is_given_to_the_plugin_only_from_inside_its_directory_and_within_the_cap() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.csv"), "operator,secret\n").unwrap();
    let cases: [(&str, Option<&str>); 5] = [
        ("table.csv", None),
        ("../secret.csv", Some("leaves the plugin directory")),
        ("link.csv", Some("outside the plugin directory")),
        ("big.bin", Some("over the limit of 16777216")),
        ("missing.csv", Some("missing.csv")),
    ];
    for (named, expected) in cases {
        let dir = common::misbehaving_dir(json!({}));
        std::fs::write(dir.path().join("table.csv"), "country,region\nNL,EU\n").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.csv"),
            dir.path().join("link.csv"),
        )
        .unwrap();
        let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
        big.set_len(posthog_plugin_limits::MAX_ATTACHMENT_BYTES + 1)
            .unwrap();
        let source = PluginSource::resolve(dir.path()).unwrap();
        let options = harness::plugin::LoadOptions {
            config: [("mode", "attachment"), ("table", named)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ..Default::default()
        };
        let loaded = harness::plugin::load(&source, &options);
        match expected {
            None => {
                let plugin = std::sync::Arc::new(loaded.unwrap());
                let mut pipeline = common::pipeline(vec![plugin]);
                let result = pipeline.process(common::event("e", 1));
                let harness::pipeline::Disposition::Emitted { event } = result.disposition else {
                    panic!("{named}: dropped");
                };
                let properties = &event["properties"];
                assert_eq!(properties["attachment_name"], "table.csv", "{event}");
                assert_eq!(properties["attachment_type"], "text/csv");
                assert_eq!(properties["attachment_len"], 21);
                assert_eq!(properties["attachment_first_line"], "country,region");
            }
            Some(fragment) => {
                let error = loaded.err().unwrap_or_else(|| panic!("{named}: loaded"));
                assert_eq!(error.rule, "load/attachment", "{named}");
                assert!(
                    error.message.contains(fragment),
                    "{named}: {}",
                    error.message
                );
                assert!(!error.message.contains("operator,secret"));
            }
        }
    }
}

/// A plugin crate built once loads from its build record, without cargo (`build_record`):
/// here `run` succeeds with `CARGO` pointing nowhere. The record's checks (every input's
/// content, the settings, the component's bytes) are `build_record`'s unit tests.
#[test]
fn a_crate_built_before_loads_from_its_record_without_cargo() {
    let dir = common::fixture_dir("misbehaving");
    common::built_component(&dir);
    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), common::event("fresh", 1).to_string() + "\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "--allow-unapproved", "--deterministic", "--input"])
        .arg(input.path())
        .arg(&dir)
        .env("CARGO", "/nonexistent/cargo")
        .env_remove("CI")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::stderr(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 1);
}
