//! The example library's conformance suites (cases from the upstream PostHog plugins' own
//! tests, `plugins/<name>/conformance.jsonl`) through the real host: the component, the
//! reference pipeline, the manifest's defaults under each case's config.

use crate::common;

use harness::plugin::{LoadOptions, PluginSource};

#[test]
fn every_example_plugin_passes_its_upstream_cases_through_the_real_host() {
    let root = common::workspace_root();
    let mut suites = 0;
    let mut failures = Vec::new();
    for dir in harness::verify::library_plugins(&root.join("plugins")).unwrap() {
        let suite = dir.join(harness::conformance::FILE);
        let source = PluginSource::resolve(&dir).unwrap();
        // Conformance cases are events in and out; a batch exporter (no process-event) is
        // checked against its upstream in its unit tests and by tests/it/export.rs.
        let loaded = harness::plugin::load(&source, &Default::default()).unwrap();
        if loaded.exports.process_event.is_none() && loaded.exports.export_events.is_some() {
            continue;
        }
        // A JavaScript example written here is its own upstream: no suite to port.
        if loaded.javascript && !suite.is_file() {
            continue;
        }
        assert!(
            suite.is_file(),
            "{} has no conformance suite",
            dir.display()
        );
        let (_, manifest) = harness::plugin::read_manifest(&source).unwrap();
        let manifest = manifest.unwrap();
        let artifact =
            harness::plugin::locate_component(&source, Some(&manifest), &Default::default())
                .unwrap();
        let (cases, mismatches) = harness::conformance::run(
            &source,
            &manifest,
            &artifact,
            &suite,
            &LoadOptions::default(),
        )
        .unwrap();
        assert!(cases > 0, "{}", suite.display());
        suites += 1;
        failures.extend(
            mismatches
                .into_iter()
                .map(|m| format!("{}:{}: {}", m.file.display(), m.line, m.message)),
        );
    }
    assert!(suites >= 8, "{suites} suites");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_case_that_does_not_hold_is_reported_with_its_line() {
    // The near miss of the test above: a case whose expectation the plugin does not meet.
    let root = common::workspace_root();
    let dir = root.join("plugins/url-normalizer");
    let source = PluginSource::resolve(&dir).unwrap();
    let (_, manifest) = harness::plugin::read_manifest(&source).unwrap();
    let manifest = manifest.unwrap();
    let artifact =
        harness::plugin::locate_component(&source, Some(&manifest), &Default::default()).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let suite = temp.path().join("conformance.jsonl");
    let input = common::event("$pageview", 1);
    std::fs::write(
        &suite,
        format!(
            "{}\n",
            serde_json::json!({"case": "wrong", "source": "here:test#wrong", "config": {},
                "input": input, "expect": {"outcome": "dropped"}})
        ),
    )
    .unwrap();
    let (cases, mismatches) = harness::conformance::run(
        &source,
        &manifest,
        &artifact,
        &suite,
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(cases, 1);
    assert_eq!(mismatches.len(), 1);
    assert_eq!(mismatches[0].line, 1);
    assert!(
        mismatches[0].message.contains("expected dropped"),
        "{}",
        mismatches[0].message
    );
}
