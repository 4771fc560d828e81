//! The tasks stage: a simulated day of the plugin's scheduled tasks (PostHog's
//! `runEveryMinute`, `runEveryHour`, `runEveryDay`) on the logical clock, in the reference
//! pipeline, with the limits of one event per run.
//!
//! The day starts at the logical clock's start (2024-01-01T00:00:00Z). `runEveryMinute` runs
//! at every minute of the first hour and at every [`MINUTE_STRIDE`]th minute after it (a day's
//! worth of minutes, sampled), `runEveryHour` at every hour, `runEveryDay` once, at the end of
//! the day; at one instant minute before hour before day, all on one instance, as production
//! would. A failed run is a finding under `tasks/*`; what the runs wrote to storage and the
//! cache and what they captured (each captured event runs through the pipeline) is in the
//! stage's summary and metrics. The day runs again under the environments check's other
//! clocks and seed: a task that does something else there is `run/environment-dependent`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use crate::contract::Schedule;
use crate::model::{FindingCollector, Location, Stage, StageReport};
use crate::pipeline::tasks::{TaskRun, task_rule};
use crate::pipeline::{Disposition, Pipeline, StepOutcome};
use crate::stages::environments::ENVIRONMENTS;
use crate::stages::{Subject, VerifyOptions};

/// After the first hour, `runEveryMinute` runs at every this many minutes.
pub const MINUTE_STRIDE: u64 = 15;

/// The simulated day: seconds after the clock's start at which each task runs, in order.
pub fn simulated_day(schedules: &[Schedule]) -> Vec<(u64, Schedule)> {
    let mut runs = Vec::new();
    for &schedule in schedules {
        match schedule {
            Schedule::Minute => runs.extend(
                (1..=1_440u64)
                    .filter(|minute| *minute <= 60 || minute % MINUTE_STRIDE == 0)
                    .map(|minute| (minute * 60, schedule)),
            ),
            Schedule::Hour => runs.extend((1..=24u64).map(|hour| (hour * 3_600, schedule))),
            Schedule::Day => runs.push((86_400, schedule)),
        }
    }
    runs.sort();
    runs
}

pub fn run(subject: &mut Subject, options: &VerifyOptions) -> StageReport {
    let Some(plugin) = subject.plugin.clone() else {
        return StageReport::skipped(Stage::Tasks, "the plugin did not load");
    };
    let schedules = plugin.exports.schedules();
    if schedules.is_empty() {
        return StageReport::skipped(Stage::Tasks, "the plugin has no scheduled tasks");
    }
    let mut pipeline = Pipeline::new(vec![plugin.clone()]);
    let disabled = pipeline.start();
    if let Some((_, failure)) = disabled.first() {
        return StageReport::skipped(
            Stage::Tasks,
            &format!("setup failed ({}), so no task can run", failure.message),
        );
    }
    let start = pipeline
        .clock_seconds(0)
        .unwrap_or(crate::host::CLOCK_START_SECONDS);
    let max_captures = plugin.manifest.max_captures() as usize;
    let location = || Location {
        file: Some(plugin.component_path.clone()),
        ..Location::default()
    };
    let mut findings = FindingCollector::default();
    let runs = simulate_day(&mut pipeline, &schedules, start);
    pipeline.finish();
    for run in &runs {
        if let Some(failure) = &run.failure {
            findings.add(
                task_rule(failure.kind),
                &format!("{}: {}", run.label(), failure.message),
                location(),
            );
        }
        if run.captured.len() > max_captures {
            findings.add(
                crate::model::rules::id::RUN_CAPTURE_FLOOD,
                &format!(
                    "{} captured {} events, over maxCapturesPerEvent ({max_captures})",
                    run.label(),
                    run.captured.len()
                ),
                location(),
            );
        }
        for result in &run.captured {
            for step in &result.steps {
                if let StepOutcome::Failed { failure } = &step.outcome {
                    findings.add(
                        failure.kind.rule(),
                        &format!("an event {} captured: {}", run.label(), failure.message),
                        location(),
                    );
                }
            }
        }
    }
    let total = runs.len();
    let mut findings = findings.finish(|finding| {
        format!(
            "{} in {} of {total} task runs; first: {}",
            finding.rule, finding.occurrences, finding.message
        )
    });
    // One finding per environment, about the whole day.
    let mut environment = FindingCollector::default();
    compare_environments(subject, options, &schedules, &runs, &mut environment);
    findings.extend(environment.finish(|finding| finding.message.clone()));
    let per_task: Vec<TaskFigures> = schedules
        .iter()
        .map(|schedule| TaskFigures::of(*schedule, &runs))
        .collect();
    let effects = Effects::of(&runs);
    let mut report = StageReport::new(Stage::Tasks, summarise(&per_task, &effects), findings);
    for task in &per_task {
        let name = task.schedule.posthog_name();
        report.metric(&format!("{name}Runs"), task.runs);
        report.metric(&format!("{name}Failed"), task.failed);
        report.metric(&format!("{name}FuelMax"), task.fuel_max);
    }
    report.metric(
        "storageKeysChanged",
        effects
            .storage
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    report.metric(
        "cacheKeysChanged",
        effects.cache.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    report.metric("captured", effects.captured_total);
    report.metric(
        "capturedByName",
        serde_json::to_value(&effects.captured).unwrap_or_default(),
    );
    report.metric("logLines", runs.iter().map(|r| r.logs.len()).sum::<usize>());
    report.metric(
        "simulatedSeconds",
        runs.last()
            .map_or(0, |r| r.at_seconds.saturating_sub(start)),
    );
    report
}

/// Runs the simulated day on `pipeline` (one plugin), its clock starting at `start`.
fn simulate_day(pipeline: &mut Pipeline, schedules: &[Schedule], start: u64) -> Vec<TaskRun> {
    let mut runs = Vec::new();
    for (offset, schedule) in simulated_day(schedules) {
        pipeline.advance_clock_to(0, start + offset);
        let Some(run) = pipeline.run_task(0, schedule) else {
            break;
        };
        runs.push(run);
    }
    runs
}

/// What a task run came to, for comparison across environments: its failure's rule, the
/// storage and cache keys it changed, and the events it captured as they left the pipeline
/// (their clock-stamped `timestamp` and `uuid` left out).
type RunEffect = (Option<String>, Vec<String>, Vec<String>, Vec<Option<Value>>);

fn effect(run: &TaskRun) -> RunEffect {
    let captured = run
        .captured
        .iter()
        .map(|result| match &result.disposition {
            Disposition::Emitted { event } => {
                let mut event = crate::diff::normalized(event.clone());
                if let Some(fields) = event.as_object_mut() {
                    fields.remove("timestamp");
                    fields.remove("uuid");
                }
                Some(event)
            }
            Disposition::Dropped { .. } => None,
        })
        .collect();
    (
        run.failure.as_ref().map(|f| task_rule(f.kind).to_owned()),
        run.storage_changed.clone(),
        run.cache_changed.clone(),
        captured,
    )
}

fn describe(effect: &RunEffect) -> String {
    let (failure, storage, cache, captured) = effect;
    if let Some(rule) = failure {
        return format!("failed ({rule})");
    }
    let names: Vec<String> = captured
        .iter()
        .map(|event| match event {
            Some(event) => crate::model::json::shorten(&event.to_string(), 120),
            None => "an event dropped".to_owned(),
        })
        .collect();
    format!(
        "storage [{}], cache [{}], captured [{}]",
        storage.join(", "),
        cache.join(", "),
        names.join(", ")
    )
}

/// The simulated day again under the other clocks and seed of the environments check
/// (`environments::ENVIRONMENTS`; not the real-speed clock, which a simulated day cannot
/// move): a task that does something else there (a time bomb in `runEveryDay`, say) is
/// `run/environment-dependent`, as an event would be.
fn compare_environments(
    subject: &Subject,
    options: &VerifyOptions,
    schedules: &[Schedule],
    baseline: &[TaskRun],
    findings: &mut FindingCollector,
) {
    let (Some(manifest), Some(artifact)) = (&subject.manifest, &subject.artifact) else {
        return;
    };
    let expected: Vec<RunEffect> = baseline.iter().map(effect).collect();
    for environment in ENVIRONMENTS.iter().filter(|e| !e.clock.real_speed) {
        let load = environment.load_options(&options.load);
        let Ok(plugin) =
            crate::plugin::load_artifact(&subject.source, manifest.clone(), artifact, &load)
        else {
            continue;
        };
        let mut pipeline = Pipeline::new(vec![Arc::new(plugin)]);
        if !pipeline.start().is_empty() {
            pipeline.finish();
            continue;
        }
        let start = pipeline
            .clock_seconds(0)
            .unwrap_or(environment.clock.start_seconds);
        let runs = simulate_day(&mut pipeline, schedules, start);
        pipeline.finish();
        let differing = expected
            .iter()
            .zip(runs.iter().map(effect))
            .enumerate()
            .find(|(_, (a, b))| *a != b);
        if let Some((index, (a, b))) = differing {
            let schedule = baseline[index].schedule;
            let nth = baseline[..=index]
                .iter()
                .filter(|r| r.schedule == schedule)
                .count();
            environment.report(
                findings,
                manifest,
                &format!(
                    "{} (its run {nth} of the simulated day) did {} where verification's environment did {}",
                    schedule.posthog_name(),
                    describe(&b),
                    describe(a)
                ),
                Location {
                    file: Some(artifact.path.clone()),
                    ..Location::default()
                },
            );
        }
    }
}

/// One task's runs over the day: how many, how many failed, the most fuel one took.
struct TaskFigures {
    schedule: Schedule,
    runs: usize,
    failed: usize,
    fuel_max: u64,
}

impl TaskFigures {
    fn of(schedule: Schedule, runs: &[TaskRun]) -> TaskFigures {
        let of = runs.iter().filter(|r| r.schedule == schedule);
        TaskFigures {
            schedule,
            runs: of.clone().count(),
            failed: of.clone().filter(|r| r.failure.is_some()).count(),
            fuel_max: of.map(|r| r.fuel).max().unwrap_or(0),
        }
    }
}

/// What the runs did to the world, summed.
#[derive(Default)]
struct Effects {
    storage: BTreeSet<String>,
    cache: BTreeSet<String>,
    captured: BTreeMap<String, u64>,
    captured_total: u64,
}

impl Effects {
    fn of(runs: &[TaskRun]) -> Effects {
        let mut effects = Effects::default();
        for run in runs {
            effects.storage.extend(run.storage_changed.iter().cloned());
            effects.cache.extend(run.cache_changed.iter().cloned());
            for result in &run.captured {
                effects.captured_total += 1;
                let name = match &result.disposition {
                    crate::pipeline::Disposition::Emitted { event } => event
                        .get("event")
                        .and_then(|e| e.as_str())
                        .unwrap_or("?")
                        .to_owned(),
                    crate::pipeline::Disposition::Dropped { .. } => "(dropped)".to_owned(),
                };
                *effects.captured.entry(name).or_default() += 1;
            }
        }
        effects
    }
}

/// One line: runs and failures per task, then the effects.
fn summarise(per_task: &[TaskFigures], effects: &Effects) -> String {
    let per_task: Vec<String> = per_task
        .iter()
        .map(|task| {
            format!(
                "{} {} runs ({} failed)",
                task.schedule.posthog_name(),
                task.runs,
                task.failed
            )
        })
        .collect();
    let list = |keys: &BTreeSet<String>| {
        if keys.is_empty() {
            "none".to_owned()
        } else {
            let shown: Vec<&str> = keys.iter().take(5).map(String::as_str).collect();
            let more = keys.len().saturating_sub(shown.len());
            if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            }
        }
    };
    let captured = if effects.captured.is_empty() {
        "none".to_owned()
    } else {
        effects
            .captured
            .iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "a simulated day: {}; storage keys written: {}; cache keys written: {}; captured: {captured}",
        per_task.join(", "),
        list(&effects.storage),
        list(&effects.cache),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulated_day_samples_minutes_and_runs_every_hour_and_the_day() {
        let day = simulated_day(&Schedule::ALL);
        let count = |s: Schedule| day.iter().filter(|(_, x)| *x == s).count();
        assert_eq!(count(Schedule::Minute), 60 + (1_440 - 60) / 15);
        assert_eq!(count(Schedule::Hour), 24);
        assert_eq!(count(Schedule::Day), 1);
        assert!(day.windows(2).all(|w| w[0] <= w[1]), "in time order");
        // At midnight the minute task runs before the hour's, which runs before the day's.
        let last: Vec<Schedule> = day.iter().rev().take(3).map(|(_, s)| *s).rev().collect();
        assert_eq!(last, vec![Schedule::Minute, Schedule::Hour, Schedule::Day]);
        assert_eq!(day.last().unwrap().0, 86_400);
    }
}
