//! The reference pipeline's semantics, each rule checked with a plugin made to break it.

use crate::common;

use crate::common::{event, misbehaving, pipeline, plugin_dir, raw_output_component};
use harness::instance::FailureKind;
use harness::pipeline::{Disposition, StepOutcome};
use serde_json::{Value, json};

fn emitted(disposition: &Disposition) -> &Value {
    match disposition {
        Disposition::Emitted { event } => event,
        Disposition::Dropped { plugin, .. } => panic!("dropped by {plugin}"),
    }
}

fn bookkeeping(event: &Value) -> (Value, Value) {
    (
        event["properties"]["$plugins_succeeded"].clone(),
        event["properties"]["$plugins_failed"].clone(),
    )
}

fn failure_kind(outcome: &StepOutcome) -> FailureKind {
    match outcome {
        StepOutcome::Failed { failure } => failure.kind,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn plugins_run_in_order_each_on_the_previous_output() {
    let first = common::crate_plugin(
        &common::fixture_dir("misbehaving"),
        &[("mode", "append"), ("label", "first")],
    );
    let second = common::crate_plugin(
        &common::fixture_dir("misbehaving"),
        &[("mode", "append"), ("label", "second")],
    );
    let mut pipeline = pipeline(vec![first, second]);
    let result = pipeline.process(event("order", 1));
    let out = emitted(&result.disposition);
    assert_eq!(out["properties"]["trail"], json!(["first", "second"]));
    assert_eq!(
        bookkeeping(out),
        (json!(["misbehaving (1)", "misbehaving (2)"]), json!([]))
    );
}

#[test]
fn a_drop_stops_the_chain_and_skips_on_event() {
    let mut pipeline = pipeline(vec![
        misbehaving("drop", "drop me"),
        misbehaving("on-event-error", ""),
    ]);
    let result = pipeline.process(event("drop me", 1));
    assert_eq!(
        result.disposition,
        Disposition::Dropped {
            plugin: "misbehaving".into(),
            position: 1
        }
    );
    assert_eq!(result.steps.len(), 1, "the second plugin must not run");
    assert!(
        result.on_event_failures.is_empty(),
        "no on-event after a drop"
    );
    assert!(result.logs.is_empty(), "{:?}", result.logs);

    let kept = pipeline.process(event("keep me", 2));
    emitted(&kept.disposition);
    let summary = pipeline.finish();
    assert_eq!(
        (summary.events_in, summary.emitted, summary.dropped),
        (2, 1, 1)
    );
    assert_eq!(summary.per_plugin[0].1.dropped, 1);
    assert_eq!(summary.per_plugin[1].1.dropped, 0);
    assert!(summary.adds_up());
}

#[test]
fn an_error_result_fails_the_plugin_and_the_chain_goes_on_with_the_event_as_before() {
    let mut pipeline = pipeline(vec![
        misbehaving("error", ""),
        common::crate_plugin(
            &common::fixture_dir("misbehaving"),
            &[("mode", "append"), ("label", "after")],
        ),
    ]);
    let input = event("anything", 1);
    let result = pipeline.process(input.clone());
    let out = emitted(&result.disposition);
    assert_eq!(
        failure_kind(&result.steps[0].outcome),
        FailureKind::ErrorResult
    );
    assert_eq!(out["properties"]["trail"], json!(["after"]));
    assert_eq!(out["properties"]["n"], input["properties"]["n"]);
    assert_eq!(
        bookkeeping(out),
        (json!(["misbehaving (2)"]), json!(["misbehaving (1)"]))
    );
}

#[test]
fn a_trap_fails_the_plugin_and_a_fresh_instance_serves_the_next_event() {
    let mut pipeline = pipeline(vec![misbehaving("panic", "boom")]);
    let trapped = pipeline.process(event("boom", 1));
    assert_eq!(failure_kind(&trapped.steps[0].outcome), FailureKind::Trap);
    let out = emitted(&trapped.disposition);
    assert_eq!(out["properties"]["n"], json!(1));
    assert_eq!(
        out["properties"]["seen_by"],
        Value::Null,
        "the pre-plugin event goes on"
    );

    let next = pipeline.process(event("calm", 2));
    assert_eq!(next.steps[0].outcome, StepOutcome::Succeeded);
    assert_eq!(
        emitted(&next.disposition)["properties"]["seen_by"],
        json!("misbehaving")
    );
    let summary = pipeline.finish();
    assert_eq!(summary.per_plugin[0].1.instances_replaced, 1);
    assert_eq!(summary.per_plugin[0].1.failures_by_rule["run/trap"], 1);
}

#[test]
fn fuel_exhaustion_memory_growth_and_recursion_are_contained() {
    for (mode, kind) in [
        ("loop", FailureKind::Limit(harness::host::LimitHit::Fuel)),
        (
            "grow-memory",
            FailureKind::Limit(harness::host::LimitHit::Memory),
        ),
        ("recurse", FailureKind::Trap),
        (
            "log-flood",
            FailureKind::Limit(harness::host::LimitHit::LogVolume),
        ),
        (
            "storage-flood",
            FailureKind::Limit(harness::host::LimitHit::HostCalls),
        ),
    ] {
        let mut pipeline = pipeline(vec![misbehaving(mode, "bad")]);
        let result = pipeline.process(event("bad", 1));
        assert_eq!(failure_kind(&result.steps[0].outcome), kind, "mode {mode}");
        emitted(&result.disposition);
        let next = pipeline.process(event("good", 2));
        assert_eq!(next.steps[0].outcome, StepOutcome::Succeeded, "mode {mode}");
        assert!(pipeline.finish().adds_up());
    }
}

#[test]
fn output_that_is_not_a_json_object_fails_the_plugin() {
    for (output, expected) in [
        ("[1,2,3]", "returned JSON that is not an object: an array"),
        ("not json at all", "returned text that is not JSON"),
        (
            "\"a string\"",
            "returned JSON that is not an object: a string",
        ),
    ] {
        let dir = plugin_dir(
            &json!({"name": "raw", "version": "0.1.0"}),
            &raw_output_component(output),
        );
        let plugin = common::load_dir(dir.path()).unwrap();
        let mut pipeline = pipeline(vec![plugin]);
        let input = event("e", 1);
        let result = pipeline.process(input.clone());
        match &result.steps[0].outcome {
            StepOutcome::Failed { failure } => {
                assert_eq!(failure.kind, FailureKind::InvalidOutput);
                assert!(failure.message.starts_with(expected), "{}", failure.message);
            }
            other => panic!("{output}: {other:?}"),
        }
        let out = emitted(&result.disposition);
        assert_eq!(
            out["properties"]["$current_url"],
            input["properties"]["$current_url"]
        );
    }
}

#[test]
fn output_over_the_size_limit_fails_the_plugin() {
    let blob = "x".repeat(2 << 20);
    let output = format!(r#"{{"event":"e","distinct_id":"d","blob":"{blob}"}}"#);
    let dir = plugin_dir(
        &json!({"name": "huge", "version": "0.1.0"}),
        &raw_output_component(&output),
    );
    let mut pipeline = pipeline(vec![common::load_dir(dir.path()).unwrap()]);
    let result = pipeline.process(event("e", 1));
    assert_eq!(
        failure_kind(&result.steps[0].outcome),
        FailureKind::Limit(harness::host::LimitHit::OutputSize)
    );
    assert_eq!(emitted(&result.disposition)["properties"]["n"], json!(1));
}

#[test]
fn a_changed_team_id_is_restored_and_fails_the_plugin() {
    let mut pipeline = pipeline(vec![misbehaving("team-id", "")]);
    let result = pipeline.process(event("e", 1));
    assert_eq!(
        failure_kind(&result.steps[0].outcome),
        FailureKind::TeamIdChanged
    );
    let out = emitted(&result.disposition);
    assert_eq!(out["team_id"], json!(13));
    // As in PostHog, the rest of the plugin's output is kept.
    assert_eq!(out["properties"]["changed_team"], json!(true));
    assert_eq!(bookkeeping(out), (json!([]), json!(["misbehaving (1)"])));
}

#[test]
fn snapshot_and_performance_events_skip_process_event() {
    let mut pipeline = pipeline(vec![misbehaving("drop", "")]);
    for name in ["$snapshot", "$performance_event"] {
        let input = event(name, 1);
        let result = pipeline.process(input.clone());
        assert!(result.steps.is_empty());
        assert_eq!(
            emitted(&result.disposition),
            &input,
            "{name} passes untouched"
        );
    }
}

#[test]
fn on_event_sees_the_final_event_and_its_failures_change_nothing() {
    let mut pipeline = pipeline(vec![
        common::crate_plugin(
            &common::fixture_dir("misbehaving"),
            &[("mode", "append"), ("label", "a")],
        ),
        misbehaving("on-event-error", ""),
    ]);
    let result = pipeline.process(event("e", 1));
    let out = emitted(&result.disposition);
    assert_eq!(out["properties"]["trail"], json!(["a"]));
    // Plugin 2 does not append in on-event-error mode but runs in the chain; its on-event fails.
    assert_eq!(result.on_event_failures.len(), 1);
    assert_eq!(result.on_event_failures[0].1.kind, FailureKind::ErrorResult);
    // The first plugin's on-event ran and logged, on the final event.
    assert!(
        result
            .logs
            .iter()
            .any(|(plugin, line)| plugin == "misbehaving" && line.message == "exported e"),
        "{:?}",
        result.logs
    );
    let summary = pipeline.finish();
    assert_eq!(summary.per_plugin[1].1.on_event_failed, 1);
    assert_eq!(summary.emitted, 1);
}

#[test]
fn a_plugin_whose_setup_fails_is_disabled_and_events_flow_on() {
    let broken = common::crate_plugin(
        &common::fixture_dir("misbehaving"),
        &[("failSetup", "true")],
    );
    let mut pipeline = pipeline(vec![broken, misbehaving("pass", "")]);
    let disabled = pipeline.start();
    assert_eq!(disabled.len(), 1);
    assert!(
        disabled[0].1.message.contains("setup refused"),
        "{}",
        disabled[0].1.message
    );
    let result = pipeline.process(event("e", 1));
    assert_eq!(result.steps[0].outcome, StepOutcome::Disabled);
    let out = emitted(&result.disposition);
    assert_eq!(out["properties"]["seen_by"], json!("misbehaving"));
    assert_eq!(bookkeeping(out), (json!(["misbehaving (2)"]), json!([])));
}

#[test]
fn storage_outlives_a_replaced_instance() {
    // `count` counts events in storage and panics on "boom" after counting it; the fresh
    // instance after the trap must see the stored count.
    let mut pipeline = pipeline(vec![misbehaving("count", "")]);
    let first = pipeline.process(event("e", 1));
    assert_eq!(emitted(&first.disposition)["properties"]["count"], json!(1));
    let boom = pipeline.process(event("boom", 2));
    assert_eq!(failure_kind(&boom.steps[0].outcome), FailureKind::Trap);
    let third = pipeline.process(event("e", 3));
    assert_eq!(emitted(&third.disposition)["properties"]["count"], json!(3));
    assert_eq!(pipeline.finish().per_plugin[0].1.instances_replaced, 1);
}

#[test]
fn the_clock_and_random_numbers_are_deterministic() {
    let run = || {
        let mut pipeline = pipeline(vec![misbehaving("clock", "")]);
        let result = pipeline.process(event("e", 1));
        emitted(&result.disposition)["properties"]["now_nanos"].clone()
    };
    let first = run();
    assert!(first.as_u64().unwrap() >= harness::host::CLOCK_START_SECONDS * 1_000_000_000);
    assert_eq!(first, run());
}

#[test]
fn captured_events_are_handed_to_the_pipeline() {
    let mut pipeline = pipeline(vec![misbehaving("capture", "")]);
    let result = pipeline.process(event("source", 1));
    assert_eq!(result.captured.len(), 1);
    assert_eq!(result.captured[0].event, "misbehaving captured");
    assert_eq!(result.captured[0].plugin, "misbehaving");
    assert_eq!(
        result.captured[0].properties,
        json!({"source_event": "source"})
    );
}

#[test]
fn secret_config_values_never_reach_failures_or_logs() {
    let plugin = common::crate_plugin(
        &common::fixture_dir("misbehaving"),
        &[("mode", "leak-secret"), ("apiKey", "sk_live_SECRET123")],
    );
    let mut pipeline = pipeline(vec![plugin]);
    let result = pipeline.process(event("e", 1));
    match &result.steps[0].outcome {
        StepOutcome::Failed { failure } => {
            assert_eq!(failure.message, "request with key *** failed");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(result.logs[0].1.message, "calling with key ***");
}

// PostHog's semantics checked against plugin-server (issue #14). Each test names the code it
// reproduces: `PostHog/posthog:plugin-server/src/worker/plugins/run.ts`, `runProcessEvent`.

#[test]
fn snapshot_and_performance_events_skip_on_event_too() {
    // plugin-server ran only `onSnapshot` for recordings, never `onEvent`.
    let mut pipeline = pipeline(vec![misbehaving("on-event-error", "")]);
    for name in ["$snapshot", "$performance_event"] {
        let result = pipeline.process(event(name, 1));
        assert!(result.on_event_failures.is_empty(), "{name}: on-event ran");
    }
    // The near miss: any other event reaches on-event.
    let result = pipeline.process(event("$pageview", 2));
    assert_eq!(result.on_event_failures.len(), 1);
}

#[test]
fn incoming_bookkeeping_is_kept_and_listed_plugins_are_not_run_again() {
    // `pluginsAlreadyProcessed = new Set([...pluginsSucceeded, ...pluginsFailed])`, and a
    // listed plugin is `continue`d: a re-ingested event is not processed twice.
    let first = common::crate_plugin(
        &common::fixture_dir("misbehaving"),
        &[("mode", "append"), ("label", "first")],
    );
    let second = common::crate_plugin(
        &common::fixture_dir("misbehaving"),
        &[("mode", "append"), ("label", "second")],
    );
    let mut pipeline = pipeline(vec![first, second]);
    let mut input = event("again", 1);
    input["properties"]["$plugins_succeeded"] = json!(["misbehaving (1)"]);
    input["properties"]["$plugins_failed"] = json!(["other (9)"]);
    let result = pipeline.process(input);
    assert_eq!(result.steps.len(), 1, "only the second plugin runs");
    let out = emitted(&result.disposition);
    assert_eq!(out["properties"]["trail"], json!(["second"]));
    assert_eq!(
        bookkeeping(out),
        (
            json!(["misbehaving (1)", "misbehaving (2)"]),
            json!(["other (9)"])
        )
    );
    // The near miss: without the incoming lists, both run.
    let result = pipeline.process(event("fresh", 2));
    assert_eq!(result.steps.len(), 2);
}

#[test]
fn team_id_is_compared_as_a_number() {
    // `returnedEvent.team_id !== teamId` compares JavaScript numbers: 13.0 is 13.
    let same = json!({"event": "e", "distinct_id": "user-1", "team_id": 13.0, "properties": {}});
    let other = json!({"event": "e", "distinct_id": "user-1", "team_id": 14, "properties": {}});
    for (output, fails) in [(same, false), (other, true)] {
        let dir = plugin_dir(
            &json!({"name": "raw", "version": "0.1.0"}),
            &raw_output_component(&output.to_string()),
        );
        let mut pipeline = pipeline(vec![common::load_dir(dir.path()).unwrap()]);
        let result = pipeline.process(event("e", 1));
        assert_eq!(
            matches!(result.steps[0].outcome, StepOutcome::Failed { .. }),
            fails,
            "{output}: {:?}",
            result.steps[0].outcome
        );
    }
}

#[test]
fn no_bookkeeping_when_every_plugin_is_disabled() {
    // `if (pluginsSucceeded.length > 0 || pluginsFailed.length > 0)`: nothing ran, nothing is
    // added.
    let broken = common::crate_plugin(
        &common::fixture_dir("misbehaving"),
        &[("failSetup", "true")],
    );
    let mut pipeline = pipeline(vec![broken]);
    let _ = pipeline.start();
    let input = event("e", 1);
    let result = pipeline.process(input.clone());
    let out = emitted(&result.disposition);
    assert!(
        out["properties"].get("$plugins_succeeded").is_none(),
        "{out}"
    );
    assert!(out["properties"].get("$plugins_failed").is_none(), "{out}");
    assert_eq!(out, &input);
}

#[test]
fn a_trap_names_the_plugins_panic_message_and_its_wasm_backtrace() {
    let mut trapping = pipeline(vec![misbehaving("panic", "")]);
    let result = trapping.process(event("cannot handle umlaut ü", 1));
    let StepOutcome::Failed { failure } = &result.steps[0].outcome else {
        panic!("{:?}", result.steps[0].outcome);
    };
    assert_eq!(failure.kind, FailureKind::Trap);
    let mut lines = failure.message.lines();
    let first = lines.next().unwrap();
    // What the plugin wrote to stderr as it panicked, on the first line (the verdict's reason
    // and `run`'s summary show it), without Rust's hint about RUST_BACKTRACE.
    assert!(
        first.starts_with(
            "wasm trap: wasm `unreachable` instruction executed; the plugin wrote: thread '<unnamed>' "
        ) && first.contains(" panicked at harness/tests/plugins/misbehaving/src/lib.rs:"),
        "{}",
        failure.message
    );
    assert!(
        first.ends_with(": planted panic on cannot handle umlaut ü"),
        "{}",
        failure.message
    );
    assert!(
        !failure.message.contains("RUST_BACKTRACE"),
        "{}",
        failure.message
    );
    // Plugin builds keep the name section (debug information is stripped): the frames name
    // the plugin's own functions, innermost first, the panic machinery left out.
    assert_eq!(lines.next(), Some("wasm backtrace:"), "{}", failure.message);
    let frames: Vec<&str> = lines.collect();
    assert!(
        frames.len() >= 2 && frames.len() <= 13,
        "{}",
        failure.message
    );
    assert!(
        frames[0].ends_with(
            ": <misbehaving::Misbehaving as posthog_plugin_sdk::Transform>::process_event"
        ),
        "{}",
        failure.message
    );
    assert!(
        frames
            .iter()
            .all(|frame| !frame.contains("core::panicking")),
        "{}",
        failure.message
    );
    assert!(
        frames.last().unwrap().ends_with(": process-event"),
        "{}",
        failure.message
    );
}

/// A component whose `process-event` calls `$check_umlaut`, which calls `$explode`, which
/// traps: written in WAT with names, so the component has a name section.
fn named_trapping_component() -> Vec<u8> {
    wat::parse_str(
        r#"(component
  (core module $m
    (memory (export "memory") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 1024)
    (func $explode unreachable)
    (func $check_umlaut call $explode)
    (func $process (export "process") (param i32 i32) (result i32)
      call $check_umlaut
      i32.const 0))
  (core instance $i (instantiate $m))
  (func (export "process-event") (param "event" string)
    (result (result (option string) (error string)))
    (canon lift (core func $i "process") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))"#,
    )
    .expect("the trapping WAT is valid")
}

#[test]
fn a_trap_in_a_component_with_a_name_section_names_its_functions_innermost_first() {
    let dir = plugin_dir(
        &json!({"name": "named-trap", "version": "0.1.0"}),
        &named_trapping_component(),
    );
    let mut pipeline = pipeline(vec![common::load_dir(dir.path()).unwrap()]);
    let result = pipeline.process(event("e", 1));
    let StepOutcome::Failed { failure } = &result.steps[0].outcome else {
        panic!("{:?}", result.steps[0].outcome);
    };
    assert_eq!(failure.kind, FailureKind::Trap);
    assert_eq!(
        failure.message,
        "wasm trap: wasm `unreachable` instruction executed\nwasm backtrace:\n  0: explode\n  1: check_umlaut\n  2: process"
    );
}

#[test]
fn failure_messages_say_what_happened_once() {
    // A trap is "wasm trap: ..." once (it used to read "wasm trap: wasm trap: ...").
    let mut trapping = pipeline(vec![misbehaving("panic", "")]);
    let result = trapping.process(event("e", 1));
    match &result.steps[0].outcome {
        StepOutcome::Failed { failure } => {
            assert!(
                failure.message.starts_with("wasm trap: "),
                "{}",
                failure.message
            );
            assert!(
                !failure.message.contains("wasm trap: wasm trap"),
                "{}",
                failure.message
            );
        }
        other => panic!("{other:?}"),
    }
    // Out of fuel names the fuel this call was given (the event's budget with its size's
    // allowance), not another call's ceiling.
    let dir = common::misbehaving_dir(json!({"limits": {"fuelPerEvent": 2_000_000}}));
    let looping = common::load_dir_with(dir.path(), &[("mode", "loop")]);
    let mut looped = pipeline(vec![looping]);
    let input = event("e", 1);
    let size = input.to_string().len();
    let result = looped.process(input);
    let given = 2_000_000 + 400_000 * (size as u64).div_ceil(1024);
    match &result.steps[0].outcome {
        StepOutcome::Failed { failure } => assert!(
            failure
                .message
                .contains(&format!("this call was given {given}")),
            "{}",
            failure.message
        ),
        other => panic!("{other:?}"),
    }
}
