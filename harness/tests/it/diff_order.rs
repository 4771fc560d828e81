//! `harness diff` (behaviour of two versions of a plugin over the corpus) and `harness order`
//! (order-dependent pairs of a pipeline, and `requires` before `provides`).

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use harness::corpus::Corpus;
use harness::pipeline::file::PipelineFile;
use serde_json::{Value, json};

fn corpus_dir() -> std::path::PathBuf {
    common::workspace_root().join("corpus")
}

fn corpus() -> Corpus {
    Corpus::load(&corpus_dir()).unwrap()
}

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(common::workspace_root())
        .env_remove("CI")
        .output()
        .expect("running the harness binary")
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The misbehaving fixture with `verifyConfig` (what `diff` loads it with) and other fields.
fn misbehaving_with(overrides: Value) -> tempfile::TempDir {
    common::misbehaving_dir(overrides)
}

#[test]
fn diff_shows_exactly_the_events_whose_behaviour_changed() {
    let corpus = corpus();
    let old = misbehaving_with(json!({"verifyConfig": {"mode": "pass"}}));
    let new = misbehaving_with(json!({
        "version": "0.2.0",
        "verifyConfig": {"mode": "append", "trigger": "$pageview"}
    }));
    let report = harness::diff::diff_plugins(old.path(), new.path(), &corpus, 0).unwrap();

    let expected: BTreeSet<String> = corpus
        .events
        .iter()
        .filter(|e| e.event["event"] == "$pageview")
        .map(|e| e.location())
        .collect();
    assert!(!expected.is_empty());
    let changed: BTreeSet<String> = report.changed.iter().map(|(l, _)| l.clone()).collect();
    assert_eq!(changed, expected);
    for (location, changes) in &report.changed {
        assert!(
            changes
                .iter()
                .all(|c| ["/properties/trail", "/properties/seen_by"]
                    .contains(&c.pointer.as_str())),
            "{location}: {changes:?}"
        );
    }
    assert!(report.newly_dropped.is_empty());
    assert!(report.no_longer_dropped.is_empty());
    assert!(report.new_failures.is_empty() && report.fixed_failures.is_empty());
    assert!(!report.identical());
    assert!(
        report
            .manifest_changes
            .iter()
            .any(|c| c == "version: 0.1.0 → 0.2.0"),
        "{:?}",
        report.manifest_changes
    );
}

#[test]
fn diff_reports_drops_and_failures_by_rule() {
    let corpus = corpus();
    let old = misbehaving_with(json!({"verifyConfig": {"mode": "error", "trigger": "$identify"}}));
    let new = misbehaving_with(json!({"verifyConfig": {"mode": "drop", "trigger": "$pageview"}}));
    let report = harness::diff::diff_plugins(old.path(), new.path(), &corpus, 0).unwrap();
    let named = |name: &str| -> BTreeSet<String> {
        corpus
            .events
            .iter()
            .filter(|e| e.event["event"] == name)
            .map(|e| e.location())
            .collect()
    };
    assert_eq!(
        report
            .newly_dropped
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        named("$pageview")
    );
    assert!(report.no_longer_dropped.is_empty());
    assert!(report.new_failures.is_empty());
    let fixed: Vec<&String> = report.fixed_failures.keys().collect();
    assert_eq!(fixed, ["run/error-result"]);
    assert_eq!(
        report.fixed_failures["run/error-result"]
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        named("$identify")
    );
    // The events that failed (and were left as they came) now pass and are marked: changed.
    assert_eq!(
        report
            .changed
            .iter()
            .map(|(l, _)| l.clone())
            .collect::<BTreeSet<_>>(),
        named("$identify")
    );
}

#[test]
fn diff_binary_exits_0_on_the_same_plugin_and_1_with_markdown_when_behaviour_differs() {
    let url_normalizer = common::workspace_root().join("plugins/url-normalizer");
    // The example plugin (a crate) against its built component: the same behaviour.
    let wasm = std::fs::read(common::built_component(&url_normalizer)).unwrap();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(url_normalizer.join("plugin.json")).unwrap())
            .unwrap();
    let copy = common::plugin_dir(&manifest, &wasm);
    let corpus = corpus_dir();
    let same = harness(&[
        "diff",
        path_str(&url_normalizer),
        path_str(copy.path()),
        "--corpus",
        path_str(&corpus),
    ]);
    let stderr = String::from_utf8_lossy(&same.stderr);
    assert_eq!(same.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("changed outputs: 0"), "{stderr}");
    assert!(stderr.contains("behaviour identical"), "{stderr}");

    let old = misbehaving_with(json!({"verifyConfig": {"mode": "pass"}}));
    let new = misbehaving_with(json!({"verifyConfig": {"mode": "drop", "trigger": "$pageview"}}));
    let differs = harness(&[
        "diff",
        path_str(old.path()),
        path_str(new.path()),
        "--corpus",
        path_str(&corpus),
        "--markdown",
    ]);
    let stdout = String::from_utf8_lossy(&differs.stdout);
    assert_eq!(
        differs.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&differs.stderr)
    );
    assert!(stdout.contains("**Behaviour differs**"), "{stdout}");
    assert!(stdout.contains("### Newly dropped"), "{stdout}");

    let missing = harness(&["diff", "no/such/plugin", path_str(old.path())]);
    assert_eq!(missing.status.code(), Some(2));
}

/// A pipeline file in a temporary directory, plugins by absolute path.
fn pipeline_file(entries: &[(&Path, &[(&str, &str)])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for (path, config) in entries {
        text.push_str(&format!("[[plugins]]\npath = {:?}\n", path_str(path)));
        if !config.is_empty() {
            let values: Vec<String> = config
                .iter()
                .map(|(k, v)| format!("{k:?} = {v:?}"))
                .collect();
            text.push_str(&format!("config = {{ {} }}\n", values.join(", ")));
        }
    }
    std::fs::write(dir.path().join("pipeline.toml"), text).unwrap();
    dir
}

#[test]
fn order_finds_a_plugin_that_removes_what_another_writes() {
    let plugins = common::workspace_root().join("plugins");
    let file = pipeline_file(&[
        (&plugins.join("semver-flattener"), &[]),
        (
            &plugins.join("property-filter"),
            &[("properties", "$lib_version__major")],
        ),
        (&plugins.join("url-normalizer"), &[]),
    ]);
    let entries = PipelineFile::load(&file.path().join("pipeline.toml")).unwrap();
    let corpus = corpus();
    let report = harness::order::analyse(&entries, &corpus, 0).unwrap();
    assert!(report.violations.is_empty());
    assert_eq!(report.pairs.len(), 2);
    let first = &report.pairs[0];
    assert_eq!(
        (first.a.as_str(), first.b.as_str()),
        ("semver-flattener", "property-filter")
    );
    assert!(first.events_changed > 0, "{first:?}");
    let second = &report.pairs[1];
    assert_eq!(second.events_changed, 0, "{second:?}");
}

#[test]
fn order_binary_lists_a_plugin_before_its_provider_first_and_exits_1() {
    let reader = misbehaving_with(json!({"name": "reader", "requires": ["trail"]}));
    let writer = misbehaving_with(json!({
        "name": "writer",
        "provides": ["trail"],
        "verifyConfig": {"mode": "append", "trigger": "$pageview"}
    }));
    let bad = pipeline_file(&[(reader.path(), &[]), (writer.path(), &[])]);
    let corpus = corpus_dir();
    let output = harness(&[
        "order",
        "--pipeline",
        path_str(&bad.path().join("pipeline.toml")),
        "--corpus",
        path_str(&corpus),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[1]
            .starts_with("error: reader (position 1) requires `trail`, which writer (position 2)"),
        "{stderr}"
    );
    // A misbehaving plugin in mode pass and one that appends: swapping them changes nothing.
    assert!(
        stderr.contains("independent: reader (1) and writer (2)"),
        "{stderr}"
    );

    let good = pipeline_file(&[(writer.path(), &[]), (reader.path(), &[])]);
    let output = harness(&[
        "order",
        "--pipeline",
        path_str(&good.path().join("pipeline.toml")),
        "--corpus",
        path_str(&corpus),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
