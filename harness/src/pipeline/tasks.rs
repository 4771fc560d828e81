//! Scheduled tasks in the pipeline (PostHog's `runEveryMinute`, `runEveryHour`, `runEveryDay`).
//!
//! A task is due at the start of each minute, hour or day (UTC) on its plugin's clock: the
//! first after the pipeline first looks, then the next after each run. A period missed while
//! a task ran long is not caught up (PostHog's scheduler did not either). A task runs on the
//! plugin's live instance, with the limits of one event; what it captures runs through the
//! pipeline like any captured event, with the team of the events seen and the task's time as
//! its timestamp.

use serde::Serialize;
use serde_json::Value;

use super::{EventResult, Pipeline, captured_event};
use crate::contract::Schedule;
use crate::host::LogLine;
use crate::instance::{Failure, FailureKind};

/// How often one task ran in a run, and how often it failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TaskCounts {
    pub runs: u64,
    pub failed: u64,
}

/// What one run of a task did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRun {
    pub plugin: String,
    pub schedule: Schedule,
    /// When it ran: Unix seconds on the plugin's clock.
    pub at_seconds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    pub fuel: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogLine>,
    /// Storage keys the task set, changed or deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub storage_changed: Vec<String>,
    /// Cache keys the task set or changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_changed: Vec<String>,
    /// The events it captured, each run through the pipeline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub captured: Vec<EventResult>,
}

impl TaskRun {
    /// `runEveryMinute at 2024-01-01T00:01:00Z`, for messages.
    pub fn label(&self) -> String {
        format!(
            "{} at {}",
            self.schedule.posthog_name(),
            timestamp(self.at_seconds)
        )
    }
}

/// The rule a failed task is counted under.
pub fn task_rule(kind: FailureKind) -> &'static str {
    use crate::model::rules::id;
    match kind {
        FailureKind::ErrorResult => id::TASKS_ERROR_RESULT,
        FailureKind::Limit(_) => id::TASKS_LIMIT,
        _ => id::TASKS_TRAP,
    }
}

/// RFC 3339 in UTC with milliseconds, as PostHog writes timestamps.
pub fn timestamp(unix_seconds: u64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds as i64, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Pipeline {
    /// Whether any plugin has a scheduled task.
    pub fn has_tasks(&self) -> bool {
        self.steps.iter().any(|step| !step.tasks.is_empty())
    }

    /// Runs every task that is due now on its plugin's clock, in pipeline order and, at one
    /// instant, minute before hour before day. A disabled plugin's tasks do not run.
    pub fn run_due_tasks(&mut self) -> Vec<TaskRun> {
        let mut runs = Vec::new();
        for index in 0..self.steps.len() {
            if self.steps[index].tasks.is_empty() {
                continue;
            }
            let Ok(instance) = self.steps[index].instance() else {
                continue;
            };
            let now = instance.clock_seconds();
            let mut due = Vec::new();
            for (schedule, next) in &mut self.steps[index].tasks {
                match *next {
                    None => *next = Some(schedule.next_after(now)),
                    Some(at) if now >= at => {
                        *next = Some(schedule.next_after(now));
                        due.push(*schedule);
                    }
                    Some(_) => {}
                }
            }
            for schedule in due {
                runs.extend(self.run_task(index, schedule));
            }
        }
        runs
    }

    /// Runs `schedule` of the plugin at `step` now, whether or not it is due (the simulated
    /// day of `verify` moves the clock and calls this). `None` when the plugin is disabled.
    pub fn run_task(&mut self, step: usize, schedule: Schedule) -> Option<TaskRun> {
        let step_ref = &mut self.steps[step];
        let name = step_ref.plugin.name.clone();
        let instance = step_ref.instance().ok()?;
        let (storage_before, cache_before) = {
            let (storage, cache) = instance.state();
            (storage.clone(), cache.clone())
        };
        let at_seconds = instance.clock_seconds();
        let call = instance.run_task(schedule);
        let (storage, cache) = instance.state();
        let mut storage_changed: Vec<String> = storage
            .iter()
            .filter(|(key, value)| storage_before.get(*key) != Some(*value))
            .map(|(key, _)| key.clone())
            .collect();
        storage_changed.extend(
            storage_before
                .keys()
                .filter(|key| !storage.contains_key(*key))
                .cloned(),
        );
        storage_changed.sort();
        let cache_changed = cache
            .iter()
            .filter(|(key, entry)| cache_before.get(*key) != Some(*entry))
            .map(|(key, _)| key.clone())
            .collect();
        let captured = instance.take_captured();
        let counts = step_ref
            .counts
            .tasks
            .entry(schedule.posthog_name().to_owned())
            .or_default();
        counts.runs += 1;
        let failure = call.result.err();
        if let Some(failure) = &failure {
            counts.failed += 1;
            *step_ref
                .counts
                .failures_by_rule
                .entry(task_rule(failure.kind).to_owned())
                .or_default() += 1;
        }
        step_ref.counts.captured += captured.len() as u64;
        step_ref.replace_if_poisoned();
        let mut source = serde_json::Map::new();
        if let Some(team) = &self.team {
            source.insert("team_id".into(), team.clone());
        }
        source.insert("timestamp".into(), timestamp(at_seconds).into());
        let source = Value::Object(source);
        let captured = captured
            .iter()
            .map(|event| self.process(captured_event(&source, event)))
            .collect();
        Some(TaskRun {
            plugin: name,
            schedule,
            at_seconds,
            failure,
            fuel: call.fuel,
            logs: call.logs,
            storage_changed,
            cache_changed,
            captured,
        })
    }

    /// Moves the logical clock of the plugin at `step` to `unix_seconds` (never back).
    pub fn advance_clock_to(&mut self, step: usize, unix_seconds: u64) {
        if let Ok(instance) = self.steps[step].instance() {
            instance.advance_clock_to(unix_seconds);
        }
    }

    /// The plugin at `step`'s clock now, if it has an instance.
    pub fn clock_seconds(&mut self, step: usize) -> Option<u64> {
        self.steps[step]
            .instance()
            .ok()
            .map(|instance| instance.clock_seconds())
    }
}
