//! The example library end to end: every plugin built from its crate, the ordered pipeline of
//! `plugins/pipeline.toml` over real events, and every example plugin approved by `verify`.

use crate::common;

use std::sync::Arc;

use harness::corpus::Corpus;
use harness::pipeline::file::{PipelineFile, load_pipeline};
use harness::pipeline::{Disposition, Pipeline};
use harness::plugin::PluginSource;
use harness::stages::VerifyOptions;
use harness::verify::verify_plugin;
use serde_json::{Value, json};

fn library_pipeline() -> Pipeline {
    let entries =
        PipelineFile::load(&common::workspace_root().join("plugins/pipeline.toml")).unwrap();
    Pipeline::new(load_pipeline(&entries, 0).unwrap())
}

#[test]
fn the_library_pipeline_applies_every_plugin_in_order() {
    let mut pipeline = library_pipeline();
    let names: Vec<&str> = pipeline.plugins().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "downsampling",
            "property-filter",
            "flatten-properties",
            "url-normalizer",
            "taxonomy",
            "semver-flattener",
            "currency-normalization",
            "first-time-event-tracker"
        ]
    );
    // Find a distinct_id that downsampling (50%) keeps, and one it drops.
    let mut kept = None;
    let mut dropped = None;
    for n in 0..40 {
        let event = json!({
            "event": "Order Completed",
            "distinct_id": format!("user-{n}"),
            "uuid": format!("00000000-0000-4000-8000-{n:012}"),
            "team_id": 13,
            "timestamp": "2024-03-05T14:22:31.123Z",
            "properties": {
                "$current_url": "HTTPS://Shop.Example.com/Checkout/",
                "$ip": "203.0.113.7",
                "$lib_version": "1.96.1-beta.2+build.5",
                "amount": 100,
                "currency": "USD"
            }
        });
        match pipeline.process(event).disposition {
            Disposition::Emitted { event } if kept.is_none() => kept = Some(event),
            Disposition::Dropped { plugin, position } if dropped.is_none() => {
                dropped = Some((plugin, position))
            }
            _ => {}
        }
    }
    assert_eq!(dropped, Some(("downsampling".to_owned(), 1)));
    let event = kept.expect("downsampling keeps about half");
    let properties = &event["properties"];
    assert_eq!(event["event"], "order_completed", "taxonomy, snake_case");
    assert_eq!(
        properties["$current_url"],
        "https://shop.example.com/checkout"
    );
    assert_eq!(properties.get("$ip"), None, "property-filter removes $ip");
    assert_eq!(properties["$lib_version__major"], 1);
    assert_eq!(properties["$lib_version__minor"], 96);
    assert_eq!(properties["$lib_version__patch"], 1);
    assert_eq!(properties["$lib_version__preRelease"], "beta.2");
    assert_eq!(properties["$lib_version__build"], "build.5");
    assert_eq!(properties["normalized_currency"], "EUR");
    assert!(properties["normalized_amount"].as_f64().unwrap() > 50.0);
    assert_eq!(properties["$plugins_failed"], json!([]));
    assert_eq!(
        properties["$plugins_succeeded"].as_array().unwrap().len(),
        8
    );
    let summary = pipeline.finish();
    assert!(summary.adds_up());
    assert_eq!(summary.events_in, 40);
}

#[test]
fn first_time_events_are_marked_once_per_user_and_once_ever() {
    let mut pipeline = Pipeline::new(vec![common::example("first-time-event-tracker", &[])]);
    let flags = |result: harness::pipeline::EventResult| match result.disposition {
        Disposition::Emitted { event } => (
            event["properties"]["is_first_event_ever"].clone(),
            event["properties"]["is_first_event_for_user"].clone(),
        ),
        other => panic!("{other:?}"),
    };
    let pageview =
        |user: &str| json!({"event": "$pageview", "distinct_id": user, "properties": {}});
    assert_eq!(
        flags(pipeline.process(pageview("a"))),
        (json!(true), json!(true))
    );
    assert_eq!(
        flags(pipeline.process(pageview("a"))),
        (json!(false), json!(false))
    );
    assert_eq!(
        flags(pipeline.process(pageview("b"))),
        (json!(false), json!(true))
    );
}

#[test]
fn currency_normalization_fails_cleanly_without_a_recorded_answer() {
    // A key with no fixture (the plugin's fixtures without their any-key entry): the plugin's
    // fetch gets an error, the plugin fails, the event flows on unchanged.
    let source = common::workspace_root().join("plugins/currency-normalization");
    let dir = tempfile::tempdir().unwrap();
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(source.join("plugin.json")).unwrap())
            .unwrap();
    manifest["main"] = json!("plugin.wasm");
    std::fs::write(dir.path().join("plugin.json"), manifest.to_string()).unwrap();
    std::fs::copy(
        common::built_component(&source),
        dir.path().join("plugin.wasm"),
    )
    .unwrap();
    let mut fixtures: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(source.join("fixtures/http.json")).unwrap())
            .unwrap();
    fixtures.retain(|f| !f["request"]["url"].as_str().unwrap().ends_with('*'));
    std::fs::create_dir(dir.path().join("fixtures")).unwrap();
    std::fs::write(
        dir.path().join("fixtures/http.json"),
        Value::from(fixtures).to_string(),
    )
    .unwrap();
    let plugin = common::load_dir_with(dir.path(), &[("openExchangeRatesApiKey", "other-key")]);
    let mut pipeline = Pipeline::new(vec![plugin]);
    let result = pipeline.process(json!({
        "event": "paid", "distinct_id": "u", "properties": {"amount": 5, "currency": "GBP"}
    }));
    match &result.steps[0].outcome {
        harness::pipeline::StepOutcome::Failed { failure } => {
            assert!(
                failure.message.contains("no recorded response"),
                "{}",
                failure.message
            );
            assert!(
                !failure.message.contains("other-key"),
                "secrets are redacted: {}",
                failure.message
            );
        }
        other => panic!("{other:?}"),
    }
    let Disposition::Emitted { event } = result.disposition else {
        panic!()
    };
    assert_eq!(event["properties"].get("normalized_amount"), None::<&Value>);
}

#[test]
fn every_example_plugin_is_approved_over_the_corpus() {
    let root = common::workspace_root();
    let corpus = Arc::new(Corpus::load(&root.join("corpus")).unwrap());
    assert!(
        corpus.events.len() >= 100,
        "the corpus has {} events",
        corpus.events.len()
    );
    let schemas = harness::schema::EventSchemas::load(&root.join("schemas")).unwrap();
    harness::schema::check_corpus(&schemas, &corpus).unwrap();
    let options = VerifyOptions {
        schemas: Some(Arc::new(schemas)),
        // Compared with the committed snapshots; a test never writes into the repository.
        snapshots: harness::stages::snapshot::SnapshotMode::Check,
        ..VerifyOptions::new(corpus)
    };
    for dir in harness::verify::library_plugins(&root.join("plugins")).unwrap() {
        let verdict = verify_plugin(&PluginSource::resolve(&dir).unwrap(), &options);
        assert!(
            verdict.approved,
            "{}: {:?}\n{:#?}",
            verdict.plugin, verdict.reason, verdict.stages
        );
    }
}

/// The committed `plugins/library.lock` approves every example plugin as it builds now: a
/// change to a plugin, the SDK or the contract that changes a component is approved again in
/// the same commit, or `cargo xtask run` would refuse the library.
#[test]
fn the_library_lock_approves_every_example_plugin_as_built() {
    let root = common::workspace_root();
    let lock_path = root.join("plugins/library.lock");
    let lock = harness::lock::LockFile::load(&lock_path)
        .unwrap()
        .expect("plugins/library.lock");
    for dir in harness::verify::library_plugins(&root.join("plugins")).unwrap() {
        let source = harness::plugin::PluginSource::resolve(&dir).unwrap();
        let plugin = harness::plugin::load(&source, &Default::default()).unwrap();
        if let Err(message) = lock.check(&plugin, &lock_path) {
            panic!("{message} (run `cargo xtask verify --approve`)");
        }
    }
}
