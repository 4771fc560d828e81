//! `verify` stage by stage, on plugins made to fail one stage each.

use crate::common::{self, stage};

use std::sync::Arc;

use harness::corpus::{Corpus, SourcedEvent};
use harness::model::{Stage, StageStatus, Verdict};
use harness::plugin::PluginSource;
use harness::schema::EventSchemas;
use harness::stages::VerifyOptions;
use harness::verify::verify_plugin;
use serde_json::json;

fn one_event_corpus() -> Arc<Corpus> {
    let file: Arc<std::path::Path> = Arc::from(std::path::Path::new("one.jsonl"));
    Arc::new(Corpus {
        events: vec![SourcedEvent {
            file: file.clone(),
            line: 1,
            event: common::event("e", 1),
        }],
        files: vec![file.to_path_buf()],
    })
}

fn verify(dir: &std::path::Path) -> Verdict {
    let schemas = EventSchemas::load(&common::workspace_root().join("schemas")).unwrap();
    let options = VerifyOptions {
        schemas: Some(Arc::new(schemas)),
        ..VerifyOptions::new(one_event_corpus())
    };
    verify_plugin(&PluginSource::resolve(dir).unwrap(), &options)
}

#[track_caller]
fn check_schema_rejection(output: serde_json::Value, pointer_in_message: &str) {
    let component = common::raw_output_component(&output.to_string());
    let dir = common::plugin_dir(&json!({"name": "breaker", "version": "0.1.0"}), &component);
    let verdict = verify(dir.path());
    assert!(!verdict.approved);
    let schema = stage(&verdict, Stage::Schema);
    assert_eq!(schema.status, StageStatus::Failed);
    let finding = &schema.findings[0];
    assert_eq!(finding.rule, "schema/output-invalid");
    assert!(
        finding.message.contains(pointer_in_message),
        "{:?} lacks {pointer_in_message:?}",
        finding.message
    );
    assert_eq!(stage(&verdict, Stage::Corpus).status, StageStatus::Passed);
}

#[test]
fn a_plugin_that_removes_distinct_id_is_rejected_with_the_pointer() {
    let mut output = common::event("e", 1);
    output.as_object_mut().unwrap().remove("distinct_id");
    check_schema_rejection(output, "\"distinct_id\" is a required property");
}

#[test]
fn a_plugin_that_sets_properties_to_a_string_is_rejected_with_the_pointer() {
    let mut output = common::event("e", 1);
    output["properties"] = json!("oops");
    check_schema_rejection(output, "/properties");
}

#[test]
fn a_plugin_declaring_a_schema_file_that_does_not_exist_is_rejected() {
    let dir = common::misbehaving_dir(json!({"schemas": {"output": "missing.schema.json"}}));
    let verdict = verify(dir.path());
    let schema = stage(&verdict, Stage::Schema);
    assert_eq!(schema.findings[0].rule, "schema/declared-invalid");
    assert!(
        schema.findings[0].message.contains("missing.schema.json"),
        "{}",
        schema.findings[0].message
    );
    assert!(!verdict.approved);
}

fn budget_findings(mode: &str) -> (Verdict, Vec<String>) {
    let dir = common::misbehaving_dir(json!({"verifyConfig": {"mode": mode}}));
    let verdict = verify(dir.path());
    let rules = stage(&verdict, Stage::Budget)
        .findings
        .iter()
        .map(|f| f.rule.clone())
        .collect();
    (verdict, rules)
}

#[test]
fn a_plugin_far_over_its_fuel_budget_is_rejected_with_the_figures() {
    let (verdict, rules) = budget_findings("expensive");
    assert_eq!(rules, ["budget/fuel-p99"]);
    let finding = &stage(&verdict, Stage::Budget).findings[0];
    // The budget is the event's own: the base plus the allowance for its size. (The figure is
    // what the 10-million-iteration loop costs built at the plugin profile, `opt-level = 3`.)
    assert!(
        finding.message.contains("spent 102.5M against its 20.4M"),
        "{}",
        finding.message
    );
    assert!(
        finding
            .message
            .contains("against a budget of 20.0M + 400k per KiB (wasmtime 48.0.8)"),
        "{}",
        finding.message
    );
    // The call was not cut off at the budget: the figures are what it really spent.
    assert!(
        stage(&verdict, Stage::Budget).metrics["fuelMax"]
            .as_u64()
            .unwrap()
            > 20_000_000
    );
    assert_eq!(stage(&verdict, Stage::Corpus).status, StageStatus::Passed);
    assert!(!verdict.approved);
}

#[test]
fn cost_that_grows_with_the_square_of_the_event_is_flagged() {
    let (verdict, rules) = budget_findings("quadratic");
    assert_eq!(
        rules,
        ["budget/super-linear"],
        "{:#?}",
        stage(&verdict, Stage::Budget)
    );
    let exponent = stage(&verdict, Stage::Budget).metrics["growthExponent"]
        .as_f64()
        .unwrap();
    assert!(
        exponent > harness::stages::budget::MAX_GROWTH_EXPONENT,
        "{exponent}"
    );

    let (verdict, rules) = budget_findings("pass");
    assert!(rules.is_empty(), "{rules:?}");
    let exponent = stage(&verdict, Stage::Budget).metrics["growthExponent"]
        .as_f64()
        .unwrap();
    assert!(exponent < 1.2, "a linear plugin: {exponent}");
}
