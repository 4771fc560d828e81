//! Batched export (`export-events`) through `verify` and `run`: every answer an exporter can
//! give, as a table of cases, each with the rule it must trigger or `None` for a near miss
//! that must be approved.

use std::sync::Arc;

use harness::corpus::{Corpus, SourcedEvent};
use harness::model::{Stage, Verdict};
use harness::plugin::PluginSource;
use harness::stages::VerifyOptions;
use harness::verify::verify_plugin;
use serde_json::{Value, json};

use crate::common::{self, built_component, fixture_dir, harness, stderr};

/// Twenty schema-valid events.
pub(crate) fn corpus() -> Arc<Corpus> {
    let file: Arc<std::path::Path> = Arc::from(std::path::Path::new("events.jsonl"));
    Arc::new(Corpus {
        events: (0..20)
            .map(|n| SourcedEvent {
                file: file.clone(),
                line: n as usize + 1,
                event: common::event("$pageview", n),
            })
            .collect(),
        files: vec![file.to_path_buf()],
    })
}

/// A plugin directory with `component`'s built crate, its manifest with `verifyConfig` set, and
/// `fixtures` (when given) as its fixtures/http.json.
pub(crate) fn plugin_dir(
    crate_dir: &std::path::Path,
    config: Value,
    fixtures: Option<Value>,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(crate_dir.join("plugin.json")).unwrap())
            .unwrap();
    manifest["main"] = json!("plugin.wasm");
    manifest["verifyConfig"] = config;
    std::fs::write(dir.path().join("plugin.json"), manifest.to_string()).unwrap();
    std::fs::copy(built_component(crate_dir), dir.path().join("plugin.wasm")).unwrap();
    if let Some(fixtures) = fixtures {
        std::fs::create_dir(dir.path().join("fixtures")).unwrap();
        std::fs::write(dir.path().join("fixtures/http.json"), fixtures.to_string()).unwrap();
    }
    dir
}

pub(crate) fn verify(dir: &std::path::Path) -> Verdict {
    verify_plugin(
        &PluginSource::resolve(dir).unwrap(),
        &VerifyOptions::new(corpus()),
    )
}

fn replicator_fixtures(responses: Value) -> Value {
    json!([{"request": {"method": "POST", "url": "https://us.i.posthog.com/e"}, "responses": responses}])
}

/// A case: what it is, the plugin crate, its verifyConfig, its fixtures, and the rule it must
/// trigger (`None`: approved with no finding).
type Case<'a> = (
    &'a str,
    &'a std::path::Path,
    Value,
    Option<Value>,
    Option<&'a str>,
);

#[test]
fn every_answer_an_exporter_gives_is_judged_by_its_rule() {
    let replicator = common::workspace_root().join("plugins/replicator");
    let misbehaving = fixture_dir("batch-misbehaving");
    let small = json!({"project_api_key": "phc_test", "exportEventsBufferBytes": "4096"});
    let cases: Vec<Case> = vec![
        (
            "a server that fails, then recovers: retried and exported",
            &replicator,
            small.clone(),
            Some(replicator_fixtures(
                json!([{"status": 503}, {"status": 200}]),
            )),
            None,
        ),
        (
            "a server that is always down: retried until the retries run out",
            &replicator,
            small.clone(),
            Some(replicator_fixtures(json!([{"status": 503}]))),
            Some("run/export-retries-exhausted"),
        ),
        (
            "a host with no fixture (unreachable): retried until the retries run out",
            &replicator,
            small.clone(),
            Some(json!([])),
            Some("run/export-retries-exhausted"),
        ),
        (
            "a destination that rejects the batch (4xx): skipped as upstream does, approved",
            &replicator,
            small.clone(),
            Some(replicator_fixtures(json!([{"status": 400}]))),
            None,
        ),
        (
            "an exporter that retries forever",
            &misbehaving,
            json!({"mode": "retry"}),
            None,
            Some("run/export-retries-exhausted"),
        ),
        (
            "an exporter that retries each batch once: approved",
            &misbehaving,
            json!({"mode": "retry-once", "exportEventsBufferBytes": "2048"}),
            None,
            None,
        ),
        (
            "an exporter that gives a batch up",
            &misbehaving,
            json!({"mode": "fail"}),
            None,
            Some("run/export-failed"),
        ),
        (
            "an exporter that traps",
            &misbehaving,
            json!({"mode": "trap"}),
            None,
            Some("run/trap-on-event"),
        ),
    ];
    for (case, crate_dir, config, fixtures, expected) in cases {
        let dir = plugin_dir(crate_dir, config, fixtures);
        let verdict = verify(dir.path());
        let corpus = common::stage(&verdict, Stage::Corpus);
        let rules: Vec<&str> = corpus.findings.iter().map(|f| f.rule.as_str()).collect();
        match expected {
            Some(rule) => {
                assert!(!verdict.approved, "{case}: approved");
                assert!(rules.contains(&rule), "{case}: {rules:?}");
            }
            None => {
                assert!(verdict.approved, "{case}: {:?}", verdict.reason);
                assert!(rules.is_empty(), "{case}: {rules:?}");
            }
        }
        let exported = corpus.metrics.get("exportEvents").and_then(Value::as_u64);
        let given_up = corpus.metrics.get("exportGivenUp").and_then(Value::as_u64);
        // Both passes over the corpus: every event exported once or given up, none lost.
        assert_eq!(
            exported.unwrap_or(0) + given_up.unwrap_or(0),
            40,
            "{case}: {:?}",
            corpus.metrics
        );
        if case.contains("recovers") || case.contains("once") {
            let retries = corpus.metrics.get("exportRetries").and_then(Value::as_u64);
            assert!(retries.unwrap_or(0) >= 1, "{case}: {:?}", corpus.metrics);
        }
    }
}

#[test]
fn run_reports_what_an_exporter_exported_retried_and_gave_up() {
    let ws = tempfile::tempdir().unwrap();
    let dir = plugin_dir(&fixture_dir("batch-misbehaving"), json!({}), None);
    let input: String = (0..5)
        .map(|n| common::event("$pageview", n).to_string() + "\n")
        .collect();
    std::fs::write(ws.path().join("in.jsonl"), input).unwrap();
    let pipeline = format!(
        "[[plugins]]\npath = \"{}\"\nconfig = {{ mode = \"retry-once\", exportEventsBufferBytes = \"1\" }}\n",
        dir.path().display()
    );
    std::fs::write(ws.path().join("pipeline.toml"), pipeline).unwrap();
    let output = harness(
        &[
            "run",
            "--allow-unapproved",
            "--deterministic",
            "--summary-json",
            "--input",
            "in.jsonl",
            "--pipeline",
            "pipeline.toml",
        ],
        ws.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: Value = serde_json::from_str(&stderr(&output)).unwrap();
    let export = &summary["per_plugin"][0][1]["export"];
    // A one-byte buffer: every event is a batch of its own, retried once, then exported.
    assert_eq!(export["handed"], 5, "{export:#}");
    assert_eq!(export["batches_exported"], 5, "{export:#}");
    assert_eq!(export["retries"], 5, "{export:#}");
    assert_eq!(export["events_given_up"], 0, "{export:#}");
    assert_eq!(export["calls"], 10, "{export:#}");
}
