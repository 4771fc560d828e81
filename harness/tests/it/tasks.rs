//! Scheduled tasks (`run-every-minute`, `-hour`, `-day`): the tasks stage's simulated day, each
//! misbehaviour judged by its rule (and the well-behaved near miss approved), the pipeline's
//! schedule on the plugin's clock, and `run`'s timer while the input is quiet.

use std::io::BufRead;
use std::sync::Arc;

use harness::contract::Schedule;
use harness::host::ClockSetting;
use harness::model::{Stage, StageStatus};
use harness::pipeline::{Disposition, Pipeline};
use harness::plugin::{LoadOptions, PluginSource, load};
use serde_json::{Value, json};

use crate::common::{self, built_component, fixture_dir};
use crate::export::{plugin_dir, verify};

#[test]
fn every_task_behaviour_is_judged_by_its_rule() {
    let scheduled = fixture_dir("scheduled");
    // (case, taskMode, the rule it must trigger; None: approved with no finding)
    let cases = [
        ("tasks that count, cache and capture", "pass", None),
        (
            "a task that returns an error",
            "error",
            Some("tasks/error-result"),
        ),
        ("a task that panics", "panic", Some("tasks/trap")),
        ("a task that loops", "loop", Some("tasks/limit")),
    ];
    for (case, mode, expected) in cases {
        let dir = plugin_dir(&scheduled, json!({ "taskMode": mode }), None);
        let verdict = verify(dir.path());
        let stage = common::stage(&verdict, Stage::Tasks);
        let rules: Vec<&str> = stage.findings.iter().map(|f| f.rule.as_str()).collect();
        match expected {
            None => {
                assert!(verdict.approved, "{case}: {:?}", verdict.reason);
                assert!(rules.is_empty(), "{case}: {rules:?}");
                assert_eq!(stage.status, StageStatus::Passed, "{case}");
                for expected in [
                    "runEveryMinute 152 runs (0 failed)",
                    "runEveryHour 24 runs (0 failed)",
                    "runEveryDay 1 runs (0 failed)",
                    "storage keys written: runs:day, runs:hour, runs:minute",
                    "cache keys written: last-run",
                    "captured: 24 task ran",
                ] {
                    assert!(
                        stage.summary.contains(expected),
                        "{case}: {}",
                        stage.summary
                    );
                }
                assert_eq!(stage.metrics["runEveryHourRuns"], 24);
                assert_eq!(stage.metrics["simulatedSeconds"], 86_400);
            }
            Some(rule) => {
                assert!(!verdict.approved, "{case}: approved");
                assert_eq!(rules, vec![rule], "{case}");
                let finding = &stage.findings[0];
                assert!(
                    finding.message.contains("in 177 of 177 task runs"),
                    "{case}: every run fails and is counted: {}",
                    finding.message
                );
                assert!(
                    finding
                        .message
                        .contains("runEveryMinute at 2024-01-01T00:01:00.000Z"),
                    "{case}: the first run is named with its time: {}",
                    finding.message
                );
            }
        }
    }

    // A task that behaves otherwise once the clock reads 2030: the day under the clock
    // starting in 2040 does something else, `run/environment-dependent`. Its near miss is
    // `pass` above, whose cache holds the time of each run: the keys it changes and what it
    // captures are the same on any clock.
    let dir = plugin_dir(&scheduled, json!({ "taskMode": "time-bomb" }), None);
    let verdict = verify(dir.path());
    let stage = common::stage(&verdict, Stage::Tasks);
    let rules: Vec<&str> = stage.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(!verdict.approved, "a time bomb approved");
    assert_eq!(
        rules,
        vec!["run/environment-dependent"],
        "{:?} {}",
        verdict.reason,
        stage.summary
    );
    let message = &stage.findings[0].message;
    assert!(
        message.starts_with(
            "under the clock starting in 2040 runEveryMinute (its run 1 of the simulated day) did"
        ) && message.contains("armed"),
        "{message}"
    );
}

#[test]
fn a_plugin_without_tasks_skips_the_stage() {
    let dir = common::misbehaving_dir(json!({}));
    let verdict = verify(dir.path());
    let stage = common::stage(&verdict, Stage::Tasks);
    assert_eq!(stage.status, StageStatus::Skipped);
    assert!(
        stage.summary.contains("no scheduled tasks"),
        "{}",
        stage.summary
    );
}

/// The scheduled fixture with `taskMode`, seeing `clock`.
fn scheduled(mode: &str, clock: ClockSetting) -> Arc<harness::plugin::LoadedPlugin> {
    let dir = fixture_dir("scheduled");
    let source = PluginSource::Component {
        wasm: built_component(&dir),
        manifest: dir.join("plugin.json"),
    };
    let options = LoadOptions {
        config: [("taskMode".to_owned(), mode.to_owned())].into(),
        clock,
        ..LoadOptions::default()
    };
    Arc::new(load(&source, &options).expect("the fixture loads"))
}

#[test]
fn tasks_run_when_due_on_the_plugins_clock_and_their_captures_run_through_the_pipeline() {
    let plugin = scheduled("pass", ClockSetting::default());
    let start = harness::host::CLOCK_START_SECONDS;
    let mut pipeline = Pipeline::new(vec![plugin]);
    assert!(pipeline.start().is_empty());
    pipeline.process(common::event("$pageview", 1));
    // The first look only sets when each task is next due.
    assert!(pipeline.run_due_tasks().is_empty());
    pipeline.advance_clock_to(0, start + 59);
    assert!(pipeline.run_due_tasks().is_empty(), "not yet a minute");
    pipeline.advance_clock_to(0, start + 60);
    let runs = pipeline.run_due_tasks();
    assert_eq!(
        runs.iter().map(|r| r.schedule).collect::<Vec<_>>(),
        vec![Schedule::Minute]
    );
    assert_eq!(runs[0].storage_changed, vec!["runs:minute"]);
    assert!(pipeline.run_due_tasks().is_empty(), "once per minute");
    // An hour later: the minute's task (once, not 59 times caught up), then the hour's.
    pipeline.advance_clock_to(0, start + 3_600);
    let runs = pipeline.run_due_tasks();
    assert_eq!(
        runs.iter().map(|r| r.schedule).collect::<Vec<_>>(),
        vec![Schedule::Minute, Schedule::Hour]
    );
    let captured = &runs[1].captured;
    assert_eq!(captured.len(), 1, "the hour's task captures one event");
    let Disposition::Emitted { event } = &captured[0].disposition else {
        panic!("the captured event is emitted");
    };
    assert_eq!(event["event"], "task ran");
    assert_eq!(event["distinct_id"], "scheduled");
    assert_eq!(event["team_id"], common::event("$pageview", 1)["team_id"]);
    assert_eq!(event["timestamp"], "2024-01-01T01:00:00.000Z");
    let summary = pipeline.finish();
    let counts = &summary.per_plugin[0].1;
    assert_eq!(counts.tasks["runEveryMinute"].runs, 2);
    assert_eq!(counts.tasks["runEveryHour"].runs, 1);
    assert_eq!(counts.captured, 1);
    assert_eq!(summary.events_in, 2, "the pageview and the captured event");
}

/// Input that says nothing for `quiet`, then ends: a pipe with no events for a while.
struct Quiet {
    quiet: std::time::Duration,
    waited: bool,
}

impl std::io::Read for Quiet {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Ok(0)
    }
}

impl BufRead for Quiet {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if !self.waited {
            std::thread::sleep(self.quiet);
            self.waited = true;
        }
        Ok(&[])
    }
    fn consume(&mut self, _: usize) {}
}

/// `run_events` over input quiet for 2.5 s, with the plugin's real-speed clock starting a
/// second before an hour begins.
fn run_quietly(mode: &str) -> (harness::run::RunSummary, Vec<Value>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let clock = ClockSetting {
        start_seconds: Schedule::Hour.next_after(now) - 1,
        real_speed: true,
    };
    let plugin = scheduled(mode, clock);
    let mut output = Vec::new();
    let summary = harness::run::run_events(
        vec![plugin],
        None,
        std::path::Path::new("<quiet>"),
        Quiet {
            quiet: std::time::Duration::from_millis(2_500),
            waited: false,
        },
        &mut output,
        &mut |_| {},
    )
    .unwrap();
    let events = output
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect();
    (summary, events)
}

#[test]
fn run_runs_due_tasks_on_a_timer_while_the_input_is_quiet() {
    let (summary, events) = run_quietly("pass");
    let counts = &summary.summary.per_plugin[0].1;
    assert_eq!(counts.tasks["runEveryMinute"].runs, 1, "{counts:?}");
    assert_eq!(counts.tasks["runEveryHour"].runs, 1, "{counts:?}");
    assert_eq!(
        events.len(),
        1,
        "the hour's captured event is emitted: {events:?}"
    );
    assert_eq!(events[0]["event"], "task ran");

    let (summary, events) = run_quietly("error");
    let counts = &summary.summary.per_plugin[0].1;
    assert_eq!(counts.tasks["runEveryMinute"].failed, 1, "{counts:?}");
    assert_eq!(counts.failures_by_rule["tasks/error-result"], 2);
    assert!(events.is_empty());
    let examples = &summary.failures["scheduled"]["tasks/error-result"];
    assert!(
        examples[0].input.starts_with("runEveryMinute at "),
        "{examples:?}"
    );
    assert!(
        examples[0].message.contains("minute refused"),
        "{examples:?}"
    );
}
