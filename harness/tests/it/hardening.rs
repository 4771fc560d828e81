//! The harness as a security boundary: limits enforced, leaks found, and no event ever lost
//! whatever the plugins do.

use crate::common;

use std::sync::Arc;

use crate::common::{event, misbehaving_dir};
use harness::corpus::{Corpus, SourcedEvent};
use harness::host::LimitHit;
use harness::instance::FailureKind;
use harness::pipeline::{Disposition, Pipeline, StepOutcome};
use harness::plugin::PluginSource;
use harness::stages::VerifyOptions;
use harness::verify::verify_plugin;
use proptest::prelude::*;
use serde_json::{Value, json};

#[test]
fn a_call_that_runs_past_its_deadline_is_stopped_before_its_fuel_runs_out() {
    let dir = misbehaving_dir(json!({"limits": {"fuelPerEvent": 500_000_000, "timeoutMs": 20}}));
    let plugin = common::load_dir_with(dir.path(), &[("mode", "loop")]);
    let mut pipeline = Pipeline::new(vec![plugin]);
    let started = std::time::Instant::now();
    let result = pipeline.process(event("e", 1));
    match &result.steps[0].outcome {
        StepOutcome::Failed { failure } => {
            assert_eq!(
                failure.kind,
                FailureKind::Limit(LimitHit::Timeout),
                "{}",
                failure.message
            );
            assert_eq!(failure.message, "did not finish within 20 ms");
        }
        other => panic!("{other:?}"),
    }
    // Generous bound: the point is that 500M fuel (seconds of work) did not run to the end.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_manifest_may_lower_the_memory_limit() {
    let dir = misbehaving_dir(json!({"limits": {"memoryMiB": 4}}));
    let plugin = common::load_dir_with(dir.path(), &[("mode", "grow-memory")]);
    let result = Pipeline::new(vec![plugin]).process(event("e", 1));
    match &result.steps[0].outcome {
        StepOutcome::Failed { failure } => {
            assert_eq!(failure.kind, FailureKind::Limit(LimitHit::Memory));
            assert!(
                failure.message.ends_with("over the limit of 4 MiB"),
                "{}",
                failure.message
            );
        }
        other => panic!("{other:?}"),
    }
}

fn small_corpus(events: u32) -> Arc<Corpus> {
    let file: Arc<std::path::Path> = Arc::from(std::path::Path::new("soak.jsonl"));
    Arc::new(Corpus {
        events: (0..events)
            .map(|n| SourcedEvent {
                file: file.clone(),
                line: n as usize + 1,
                event: event("e", n),
            })
            .collect(),
        files: vec![file.to_path_buf()],
    })
}

fn verify_dir(dir: &std::path::Path, corpus: Arc<Corpus>) -> harness::model::Verdict {
    // The plugins are temporary directories: their snapshots are recorded there (review mode).
    let options = VerifyOptions::new(corpus);
    verify_plugin(&PluginSource::resolve(dir).unwrap(), &options)
}

#[test]
fn memory_that_keeps_growing_over_a_second_pass_is_a_finding() {
    let leaky = misbehaving_dir(json!({"verifyConfig": {"mode": "leak"}}));
    let verdict = verify_dir(leaky.path(), small_corpus(200));
    assert!(!verdict.approved);
    let errors: Vec<&str> = verdict
        .stages
        .iter()
        .flat_map(|s| &s.findings)
        .filter(|f| f.severity == harness::model::Severity::Error)
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(errors, ["run/memory-growth"]);

    let steady = misbehaving_dir(json!({"verifyConfig": {"mode": "pass"}}));
    assert!(verify_dir(steady.path(), small_corpus(200)).approved);
}

#[test]
fn a_leak_that_reaches_the_memory_limit_during_the_soak_pass_is_a_failure() {
    // 256 KiB per event: 200 events fit in 64 MiB once (50 MiB), not twice, so the limit
    // stops the plugin on the second pass. That used to be ignored, and the plugin approved.
    let leaky = misbehaving_dir(json!({"verifyConfig": {"mode": "fast-leak"}}));
    let verdict = verify_dir(leaky.path(), small_corpus(200));
    assert!(!verdict.approved, "{:?}", verdict.reason);
    let corpus = verdict
        .stages
        .iter()
        .find(|s| s.stage == harness::model::Stage::Corpus)
        .unwrap();
    let memory = corpus
        .findings
        .iter()
        .find(|f| f.rule == "run/memory-limit")
        .unwrap_or_else(|| panic!("{:#?}", corpus.findings));
    assert!(
        memory.message.contains("on the second pass"),
        "{}",
        memory.message
    );
}

#[test]
fn an_event_flood_is_measured_and_rejected_above_the_declared_bound() {
    let flooder = misbehaving_dir(json!({"verifyConfig": {"mode": "flood", "floodCount": "50"}}));
    let verdict = verify_dir(flooder.path(), small_corpus(5));
    assert!(!verdict.approved);
    let corpus = verdict
        .stages
        .iter()
        .find(|s| s.stage == harness::model::Stage::Corpus)
        .unwrap();
    assert!(
        corpus
            .findings
            .iter()
            .any(|f| f.rule == "run/capture-flood"),
        "{:#?}",
        corpus.findings
    );
    assert_eq!(corpus.metrics["capturesPerEventMax"], json!(50));
    // The near miss: the same plugin capturing within its declared bound is approved.
    let declared = misbehaving_dir(json!({
        "verifyConfig": {"mode": "flood", "floodCount": "3"},
        "maxCapturesPerEvent": 3
    }));
    let verdict = verify_dir(declared.path(), small_corpus(5));
    let corpus = verdict
        .stages
        .iter()
        .find(|s| s.stage == harness::model::Stage::Corpus)
        .unwrap();
    assert!(
        !corpus
            .findings
            .iter()
            .any(|f| f.rule == "run/capture-flood"),
        "{:#?}",
        corpus.findings
    );
    assert_eq!(corpus.metrics["capturesPerEventMax"], json!(3));
}

#[test]
fn verify_config_applies_while_verifying_and_never_in_run() {
    let dir = misbehaving_dir(json!({"verifyConfig": {"mode": "drop"}}));
    // `run` (and a pipeline) load with the manifest's defaults: mode `pass` keeps the event.
    let run = common::load_dir_with(dir.path(), &[]);
    let mut pipeline = Pipeline::new(vec![run]);
    assert!(matches!(
        pipeline.process(event("e", 1)).disposition,
        Disposition::Emitted { .. }
    ));
    // Verifying applies `verifyConfig`: the same plugin drops every event.
    let verdict = verify_dir(dir.path(), small_corpus(3));
    let corpus = verdict
        .stages
        .iter()
        .find(|s| s.stage == harness::model::Stage::Corpus)
        .unwrap();
    assert_eq!(corpus.metrics["dropped"], json!(3), "{:?}", corpus.metrics);
}

/// The corpus stage's rules for the misbehaving fixture in `mode` with manifest `extra`.
fn corpus_rules(mode: &str, extra: Value, events: u32) -> Vec<String> {
    let mut overrides = json!({"verifyConfig": {"mode": mode}});
    for (k, v) in extra.as_object().unwrap() {
        overrides[k] = v.clone();
    }
    let dir = misbehaving_dir(overrides);
    let verdict = verify_dir(dir.path(), small_corpus(events));
    let corpus = verdict
        .stages
        .iter()
        .find(|s| s.stage == harness::model::Stage::Corpus)
        .unwrap();
    corpus.findings.iter().map(|f| f.rule.clone()).collect()
}

#[test]
fn a_plugin_that_behaves_differently_under_a_real_environment_is_rejected() {
    // Each case: the mode, what verify must find, and a near miss that must not.
    let date = corpus_rules("expires", json!({}), 3);
    assert!(
        date.contains(&"run/environment-dependent".to_owned()),
        "{date:?}"
    );
    let stamped = corpus_rules("clock", json!({}), 3);
    assert!(
        stamped.contains(&"run/environment-dependent".to_owned()),
        "{stamped:?}"
    );
    // Declared: reported as information, not rejected.
    let declared = corpus_rules("clock", json!({"usesClock": true}), 3);
    assert!(
        declared.contains(&"run/environment-declared".to_owned()),
        "{declared:?}"
    );
    assert!(
        !declared.contains(&"run/environment-dependent".to_owned()),
        "{declared:?}"
    );
    // The near miss: a plugin that ignores the clock shows nothing.
    let plain = corpus_rules("pass", json!({}), 3);
    assert!(
        !plain.iter().any(|r| r.starts_with("run/environment")),
        "{plain:?}"
    );
}

#[test]
fn a_busy_wait_on_the_clock_is_found_by_the_real_speed_clock() {
    let busy = corpus_rules("busy-wait", json!({}), 3);
    assert!(busy.contains(&"run/real-time-cost".to_owned()), "{busy:?}");
    let plain = corpus_rules("pass", json!({}), 3);
    assert!(
        !plain.contains(&"run/real-time-cost".to_owned()),
        "{plain:?}"
    );
}

#[test]
fn soak_a_reused_instance_stops_growing() {
    let mut pipeline = Pipeline::new(vec![common::example("url-normalizer", &[])]);
    let mut memory_after = Vec::new();
    for n in 0..6_000u32 {
        let result = pipeline.process(event("$pageview", n));
        assert!(matches!(result.disposition, Disposition::Emitted { .. }));
        if n == 999 || n == 5_999 {
            memory_after.push(pipeline.peak_memory()[0].1);
        }
    }
    assert_eq!(
        memory_after[0], memory_after[1],
        "linear memory grew between event 1,000 and 6,000"
    );
    assert!(pipeline.finish().adds_up());
}

/// The triggers of the no-event-lost pipeline: plugin `i` misbehaves on events named
/// `TRIGGERS[i].0` in mode `TRIGGERS[i].1`.
const TRIGGERS: [(&str, &str); 8] = [
    ("drop-1", "drop"),
    ("error-2", "error"),
    ("panic-3", "panic"),
    ("loop-4", "loop"),
    ("team-5", "team-id"),
    ("grow-6", "grow-memory"),
    ("drop-7", "drop"),
    ("export-8", "on-event-error"),
];

fn chaos_plugins() -> Vec<Arc<harness::plugin::LoadedPlugin>> {
    // Low limits keep the loops and the growth cheap.
    let dir = misbehaving_dir(json!({"limits": {"fuelPerEvent": 2_000_000, "memoryMiB": 8}}));
    let plugins = TRIGGERS
        .iter()
        .map(|(trigger, mode)| {
            common::load_dir_with(dir.path(), &[("mode", mode), ("trigger", trigger)])
        })
        .collect();
    // The loaded plugins hold everything they need; the directory may go.
    drop(dir);
    plugins
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Whatever the plugins do, every input event is emitted or dropped by exactly the plugin
    /// that drops it, and the summary counts equal the events seen.
    #[test]
    fn no_event_is_lost(names in prop::collection::vec(
        prop::sample::select(vec!["plain", "drop-1", "error-2", "panic-3", "loop-4", "team-5", "grow-6", "drop-7", "export-8", "$snapshot"]),
        1..12,
    )) {
        static PLUGINS: std::sync::OnceLock<Vec<Arc<harness::plugin::LoadedPlugin>>> = std::sync::OnceLock::new();
        let plugins = PLUGINS.get_or_init(chaos_plugins);
        let mut pipeline = Pipeline::new(plugins.clone());
        for (n, name) in names.iter().enumerate() {
            let result = pipeline.process(event(name, n as u32));
            let dropper = match *name {
                "drop-1" => Some(1),
                "drop-7" => Some(7),
                _ => None,
            };
            match (&result.disposition, dropper) {
                (Disposition::Dropped { position, .. }, Some(expected)) => prop_assert_eq!(*position, expected),
                (Disposition::Emitted { event }, None) => {
                    prop_assert_eq!(&event["team_id"], &json!(13));
                    prop_assert_eq!(&event["uuid"], &json!(format!("00000000-0000-4000-8000-{n:012}")));
                }
                (other, expected) => prop_assert!(false, "{name}: {other:?}, expected drop by {expected:?}"),
            }
        }
        let summary = pipeline.finish();
        prop_assert!(summary.adds_up());
        prop_assert_eq!(summary.events_in, names.len() as u64);
        for (index, (trigger, mode)) in TRIGGERS.iter().enumerate() {
            let triggered = names.iter().filter(|n| *n == trigger).count() as u64;
            let counts = &summary.per_plugin[index].1;
            match *mode {
                "drop" => prop_assert_eq!(counts.dropped, triggered),
                "on-event-error" => prop_assert_eq!(counts.on_event_failed, triggered),
                _ => prop_assert_eq!(counts.failed, triggered, "plugin {} ({})", index + 1, mode),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// The body of the `jsonl` fuzz target on stable: arbitrary bytes (mostly JSON-ish lines)
    /// through the JSONL reader. Every line becomes an event object or a bad line with its
    /// number; nothing panics.
    #[test]
    fn the_jsonl_reader_takes_any_bytes(lines in prop::collection::vec(
        prop_oneof![
            any::<Vec<u8>>(),
            "\\{[a-z\":0-9, \\[\\]{}]{0,40}\\}".prop_map(String::into_bytes),
            Just(b"{\"event\":\"e\"}".to_vec()),
        ],
        0..20,
    )) {
        let data: Vec<u8> = lines.join(&b'\n');
        let mut last_line = 0;
        harness::corpus::read_jsonl(std::path::Path::new("fuzz.jsonl"), data.as_slice(), |parsed| {
            let line = match parsed {
                Ok(event) => {
                    assert!(event.event.is_object());
                    event.line
                }
                Err(bad) => {
                    assert!(bad.to_string().starts_with(&format!("fuzz.jsonl:{}: ", bad.line)));
                    bad.line
                }
            };
            assert!(line > last_line);
            last_line = line;
        })
        .unwrap();
        prop_assert!(last_line <= data.split(|b| *b == b'\n').count());
    }
}
