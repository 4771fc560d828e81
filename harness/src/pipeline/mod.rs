//! The ordered reference pipeline, with PostHog's plugin-server semantics
//! (`shared/guide/pipeline-semantics.md`):
//!
//! 1. plugins run in order, each on the previous one's output;
//! 2. `none` drops the event: the chain stops, no `on-event` runs, the drop is counted against
//!    that plugin;
//! 3. an error, a trap, a limit hit or output that is not a JSON object fails the plugin: the
//!    failure is recorded and the chain goes on with the event as it was before that plugin; a
//!    trapped instance is replaced by a fresh one for the next event;
//! 4. a changed `team_id` is restored and fails the plugin (the rest of its output is kept, as
//!    in PostHog); `team_id` is compared as a number, so `13.0` is no change (JavaScript's
//!    `!==` on numbers);
//! 5. `$plugins_succeeded` and `$plugins_failed` (`"name (position)"`) are added to the
//!    properties when any plugin ran or the event came with them; a plugin already listed in
//!    the incoming lists is not run again (current PostHog,
//!    `PostHog/posthog:plugin-server/src/worker/plugins/run.ts`, `runProcessEvent`:
//!    `pluginsAlreadyProcessed`), and when every plugin is disabled nothing is added;
//! 6. `$snapshot` and `$performance_event` skip `process-event` and `on-event` (the plugin
//!    server ran only `onSnapshot` for recordings);
//! 7. `on-event` then runs for every plugin exporting it, on the final event; its failures are
//!    recorded and change nothing;
//! 8. every event ends emitted or dropped by exactly one named plugin;
//! 9. events a plugin `capture`s run through the pipeline after the event that captured them
//!    ([`Pipeline::ingest`]); what those capture in turn is counted and not run again;
//! 10. a batch exporter (`export-events`) gets the final events in buffered batches, flushed by
//!     size and time and retried with backoff as PostHog's `exportEvents` was ([`export`]).
//!
//! [`file`] reads pipeline files (`pipeline.toml`) and loads their plugins. `run`, `verify`,
//! `diff`, `order` and the benches all go through [`Pipeline::ingest`].

pub mod export;
pub mod file;
pub mod health;
pub mod tasks;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::host::{CapturedEvent, LogLine, Services};
use crate::instance::{Failure, FailureKind, PluginInstance};
use crate::plugin::LoadedPlugin;

/// Event names that never go through `process-event`.
pub const SKIPS_PROCESSING: [&str; 2] = ["$snapshot", "$performance_event"];

/// What happened to one event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Disposition {
    Emitted { event: Value },
    Dropped { plugin: String, position: usize },
}

/// What one plugin did with one event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepRecord {
    pub plugin: String,
    pub position: usize,
    pub outcome: StepOutcome,
    pub fuel: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StepOutcome {
    Succeeded,
    Dropped,
    Failed {
        failure: Failure,
    },
    /// The plugin is disabled (its setup failed) and was passed over.
    Disabled,
}

/// The result of running one event through the pipeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventResult {
    pub disposition: Disposition,
    /// One record per `process-event` call, in order.
    pub steps: Vec<StepRecord>,
    /// Failures of `on-event` calls.
    pub on_event_failures: Vec<(String, Failure)>,
    /// Events plugins captured while handling this one.
    pub captured: Vec<CapturedEvent>,
    pub logs: Vec<(String, LogLine)>,
}

/// One ingested event: what happened to it, and to the events plugins captured meanwhile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ingested {
    pub result: EventResult,
    /// The captured events' own results, in capture order.
    pub captured: Vec<EventResult>,
}

impl EventResult {
    /// A result with nothing in it yet (emitted, no steps).
    fn empty() -> EventResult {
        EventResult {
            disposition: Disposition::Emitted { event: Value::Null },
            steps: Vec::new(),
            on_event_failures: Vec::new(),
            captured: Vec::new(),
            logs: Vec::new(),
        }
    }
}

impl Ingested {
    /// The event's result, then the captured events' results.
    pub fn results(&self) -> impl Iterator<Item = &EventResult> {
        std::iter::once(&self.result).chain(&self.captured)
    }
}

/// Counts for one plugin over a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PluginCounts {
    pub succeeded: u64,
    pub dropped: u64,
    pub failed: u64,
    pub on_event_failed: u64,
    pub failures_by_rule: BTreeMap<String, u64>,
    pub instances_replaced: u64,
    pub captured: u64,
    /// Events passed over because runtime health had disabled the plugin (`run` only).
    pub skipped_unhealthy: u64,
    /// The plugin's health at the end, when health is watched (`run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<health::HealthState>,
    /// Its health transitions, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub health_transitions: Vec<health::Transition>,
    /// What a batch exporter exported, retried and gave up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<export::ExportCounts>,
    /// Scheduled task runs, by PostHog's task name (`runEveryMinute`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tasks: BTreeMap<String, tasks::TaskCounts>,
}

/// The run's summary. `events_in == emitted + sum(dropped)` always holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub events_in: u64,
    pub emitted: u64,
    pub dropped: u64,
    /// Input lines that were not events (counted, not processed).
    pub invalid_input: u64,
    /// Unpaired UTF-16 surrogate escapes in the input replaced by U+FFFD (as PostHog's capture).
    pub surrogates_replaced: u64,
    pub per_plugin: Vec<(String, PluginCounts)>,
}

impl Summary {
    /// Whether every event is accounted for: emitted, or dropped by a plugin.
    pub fn adds_up(&self) -> bool {
        let dropped_by_plugins: u64 = self.per_plugin.iter().map(|(_, c)| c.dropped).sum();
        self.events_in == self.emitted + self.dropped && self.dropped == dropped_by_plugins
    }
}

struct Step {
    plugin: Arc<LoadedPlugin>,
    position: usize,
    instance: Option<PluginInstance>,
    /// The plugin's storage while it has no live instance.
    services: Option<Services>,
    /// Why the plugin is disabled, when its setup failed.
    disabled: Option<Failure>,
    counts: PluginCounts,
    /// Runtime health, when watched.
    health: Option<health::Health>,
    /// A batch exporter's buffer and retries.
    export: Option<export::ExportQueue>,
    /// The buffer size for the next event's text (from the last one's length).
    text_capacity: usize,
    /// The scheduled tasks the plugin exports, each with when it is next due (set when the
    /// pipeline first looks).
    tasks: Vec<(crate::contract::Schedule, Option<u64>)>,
}

impl Step {
    /// The live instance, making (and setting up) a fresh one when there is none.
    fn instance(&mut self) -> Result<&mut PluginInstance, Failure> {
        if let Some(failure) = &self.disabled {
            return Err(failure.clone());
        }
        if self.instance.is_none() {
            let services = self.services.take().unwrap_or_default();
            let mut instance = match PluginInstance::new(&self.plugin, services) {
                Ok(instance) => instance,
                Err(failure) => {
                    self.disabled = Some(failure.clone());
                    return Err(failure);
                }
            };
            if let Err(failure) = instance.setup(&self.plugin.config).result {
                let failure = Failure::new(
                    FailureKind::Instantiate,
                    format!("setup failed: {}", failure.message),
                );
                self.disabled = Some(failure.clone());
                self.services = Some(instance.into_services());
                return Err(failure);
            }
            self.instance = Some(instance);
        }
        Ok(self.instance.as_mut().expect("set above"))
    }

    /// Retires a poisoned instance; the next event gets a fresh one with the same storage.
    fn replace_if_poisoned(&mut self) {
        if self.instance.as_ref().is_some_and(|i| i.is_poisoned()) {
            let instance = self.instance.take().expect("checked above");
            self.services = Some(instance.into_services());
            self.counts.instances_replaced += 1;
        }
    }

    fn label(&self) -> String {
        format!("{} ({})", self.plugin.name, self.position)
    }

    /// Sends one batch to the exporter and settles it: exported, waiting for a retry, or
    /// given up (counted under its rule, with the message).
    fn send_batch(&mut self, batch: export::Batch, result: &mut EventResult) {
        use crate::instance::ExportRefusal;
        use export::{Answer, Settled};
        let (answer, message, now) = match self.instance() {
            Err(failure) => (
                Answer::GiveUp,
                Some((failure.kind.on_event_rule(), failure.message)),
                0,
            ),
            Ok(instance) => {
                let now = instance.clock_seconds();
                let call = instance.export_events(batch.json());
                result
                    .logs
                    .extend(call.logs.into_iter().map(|l| (self.plugin.name.clone(), l)));
                match call.result {
                    Ok(Ok(())) => (Answer::Exported, None, now),
                    Ok(Err(ExportRefusal::Retry(m))) => (
                        Answer::Retry,
                        Some((crate::model::rules::id::RUN_EXPORT_RETRIES_EXHAUSTED, m)),
                        now,
                    ),
                    Ok(Err(ExportRefusal::Failed(m))) => (
                        Answer::GiveUp,
                        Some((crate::model::rules::id::RUN_EXPORT_FAILED, m)),
                        now,
                    ),
                    // Not an event's failure (a batch may flush at the end, after every event):
                    // counted, and kept with the batch given up.
                    Err(failure) => {
                        self.counts.on_event_failed += 1;
                        let rule = failure.kind.on_event_rule();
                        (Answer::GiveUp, Some((rule, failure.message)), now)
                    }
                }
            }
        };
        let events = batch.events.len();
        let id = batch.id;
        let retries = batch.retries_so_far;
        let Some(queue) = self.export.as_mut() else {
            return;
        };
        if let (Settled::GivenUp { .. }, Some((rule, message))) =
            (queue.settle(batch, answer, now), message)
        {
            let why = if rule == crate::model::rules::id::RUN_EXPORT_RETRIES_EXHAUSTED {
                format!("given up after {retries} retries: {message}")
            } else {
                message
            };
            queue
                .counts
                .note_given_up(rule, format!("batch {id} ({events} events): {why}"));
            *self
                .counts
                .failures_by_rule
                .entry(rule.to_owned())
                .or_default() += 1;
        }
        self.replace_if_poisoned();
    }

    /// Hands the final event to a batch exporter and sends what is due.
    fn export(&mut self, name: &str, text: &str, result: &mut EventResult) {
        if self.export.is_none() {
            return;
        }
        let Ok(instance) = self.instance() else {
            return;
        };
        let now = instance.clock_seconds();
        let Some(queue) = self.export.as_mut() else {
            return;
        };
        let mut ready = queue.add(name, text.to_owned(), now);
        ready.extend(queue.due(now));
        for batch in ready {
            self.send_batch(batch, result);
        }
    }

    /// At the end: the buffer and every waiting retry, until nothing is left.
    fn drain_exports(&mut self) {
        let mut result = EventResult::empty();
        while let Some(batch) = self.export.as_mut().and_then(export::ExportQueue::drain) {
            self.send_batch(batch, &mut result);
        }
    }
}

/// The ordered pipeline: one reused instance per plugin, PostHog's rules between them.
pub struct Pipeline {
    steps: Vec<Step>,
    summary: Summary,
    /// When health buckets were last refilled.
    last_tick: Option<std::time::Instant>,
    /// The `team_id` of the first event, for events scheduled tasks capture.
    team: Option<Value>,
}

impl Pipeline {
    /// A pipeline running `plugins` in the given order (positions count from 1).
    pub fn new(plugins: Vec<Arc<LoadedPlugin>>) -> Pipeline {
        let steps = plugins
            .into_iter()
            .enumerate()
            .map(|(index, plugin)| Step {
                position: index + 1,
                instance: None,
                services: None,
                disabled: None,
                counts: PluginCounts::default(),
                health: None,
                text_capacity: 1024,
                export: plugin.exports.export_events.is_some().then(|| {
                    export::ExportQueue::new(export::ExportSettings::from_config(&plugin.config))
                }),
                tasks: plugin
                    .exports
                    .schedules()
                    .into_iter()
                    .map(|schedule| (schedule, None))
                    .collect(),
                plugin,
            })
            .collect();
        Pipeline {
            steps,
            summary: Summary::default(),
            last_tick: None,
            team: None,
        }
    }

    /// Watches every plugin's health with `config` (see [`health`]): what `run` does.
    pub fn with_health(mut self, config: health::HealthConfig) -> Pipeline {
        for step in &mut self.steps {
            step.health = Some(health::Health::new(config));
        }
        self
    }

    /// Sets up every plugin now rather than on its first event, and schedules their tasks from
    /// now; returns the plugins whose setup failed (they stay disabled, events flow on without
    /// them).
    pub fn start(&mut self) -> Vec<(String, Failure)> {
        let mut failed = Vec::new();
        for step in &mut self.steps {
            match step.instance() {
                Err(failure) => failed.push((step.plugin.name.clone(), failure)),
                // Scheduled tasks are next due at the start of the next period after now.
                Ok(instance) => {
                    let now = instance.clock_seconds();
                    for (schedule, next) in &mut step.tasks {
                        next.get_or_insert(schedule.next_after(now));
                    }
                }
            }
        }
        failed
    }

    /// Counts an input line that was not an event.
    pub fn count_invalid_input(&mut self) {
        self.summary.invalid_input += 1;
    }

    /// Runs one event through the pipeline.
    pub fn process(&mut self, event: Value) -> EventResult {
        self.summary.events_in += 1;
        if self.team.is_none() {
            self.team = event.get("team_id").cloned();
        }
        let mut result = EventResult::empty();
        let skips = event
            .get("event")
            .and_then(Value::as_str)
            .is_some_and(|name| SKIPS_PROCESSING.contains(&name));
        let mut current = event;
        // The incoming bookkeeping: kept, and its plugins not run again.
        let listed = |key: &str| -> Vec<String> {
            current
                .get("properties")
                .and_then(|p| p.get(key))
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut succeeded = listed("$plugins_succeeded");
        let mut failed = listed("$plugins_failed");
        let already: std::collections::BTreeSet<String> =
            succeeded.iter().chain(&failed).cloned().collect();
        let incoming = !already.is_empty();

        let event_number = self.summary.events_in;
        // Health is watched in `run` only; verification's hot path reads no clock for it.
        if self.steps.iter().any(|step| step.health.is_some()) {
            let now = std::time::Instant::now();
            let elapsed = self
                .last_tick
                .map_or(std::time::Duration::ZERO, |t| now - t);
            self.last_tick = Some(now);
            for health in self
                .steps
                .iter_mut()
                .filter_map(|step| step.health.as_mut())
            {
                health.tick(elapsed, event_number);
            }
        }
        if !skips {
            for step in &mut self.steps {
                if step.plugin.exports.process_event.is_none()
                    || (incoming && already.contains(&step.label()))
                {
                    continue;
                }
                if step
                    .health
                    .as_ref()
                    .is_some_and(|h| h.state() == health::HealthState::Disabled)
                {
                    step.counts.skipped_unhealthy += 1;
                    result.steps.push(StepRecord {
                        plugin: step.plugin.name.clone(),
                        position: step.position,
                        outcome: StepOutcome::Disabled,
                        fuel: 0,
                    });
                    continue;
                }
                let started = step.health.is_some().then(std::time::Instant::now);
                let (outcome, fuel) = run_step(step, &mut current, &mut result);
                if let (Some(health), Some(started)) = (&mut step.health, started) {
                    let failed = matches!(outcome, StepOutcome::Failed { .. });
                    health.record(failed, started.elapsed(), event_number);
                }
                match &outcome {
                    StepOutcome::Succeeded => {
                        step.counts.succeeded += 1;
                        succeeded.push(step.label());
                    }
                    StepOutcome::Failed { failure } => {
                        step.counts.failed += 1;
                        *step
                            .counts
                            .failures_by_rule
                            .entry(failure.kind.rule().to_owned())
                            .or_default() += 1;
                        failed.push(step.label());
                    }
                    StepOutcome::Dropped => step.counts.dropped += 1,
                    StepOutcome::Disabled => {}
                }
                let dropped = matches!(outcome, StepOutcome::Dropped);
                result.steps.push(StepRecord {
                    plugin: step.plugin.name.clone(),
                    position: step.position,
                    outcome,
                    fuel,
                });
                step.replace_if_poisoned();
                if dropped {
                    self.summary.dropped += 1;
                    result.disposition = Disposition::Dropped {
                        plugin: step.plugin.name.clone(),
                        position: step.position,
                    };
                    self.collect_captured(&mut result);
                    return result;
                }
            }
        }

        if incoming || !succeeded.is_empty() || !failed.is_empty() {
            add_bookkeeping(&mut current, succeeded, failed);
        }
        if !skips {
            self.run_final(&current, &mut result);
        }
        self.collect_captured(&mut result);
        self.summary.emitted += 1;
        result.disposition = Disposition::Emitted { event: current };
        result
    }

    /// Ingests one event as PostHog's plugin server does: runs it through the pipeline, then
    /// runs each event a plugin captured meanwhile (named by the plugin's call, `distinct_id`
    /// the plugin's name, team and timestamp of the capturing event). Events captured by
    /// captured events are counted in their result and not run again.
    pub fn ingest(&mut self, event: Value) -> Ingested {
        // Only the fields a captured event inherits are kept (not a copy of the whole event).
        let source = Value::Object(
            CAPTURE_INHERITS
                .iter()
                .filter_map(|&key| Some((key.to_owned(), event.get(key)?.clone())))
                .collect(),
        );
        let result = self.process(event);
        let captured = result
            .captured
            .iter()
            .map(|captured| self.process(captured_event(&source, captured)))
            .collect();
        Ingested { result, captured }
    }

    /// The final event to every plugin that sees it: `on-event`, then batch exporters' buffers
    /// (its text serialised once for both).
    fn run_final(&mut self, event: &Value, result: &mut EventResult) {
        if !self
            .steps
            .iter()
            .any(|s| s.plugin.exports.on_event.is_some() || s.export.is_some())
        {
            return;
        }
        let text = json_text(event, 1024);
        for step in &mut self.steps {
            if step.plugin.exports.on_event.is_none() {
                continue;
            }
            let call = match step.instance() {
                Ok(instance) => instance.on_event(&text),
                Err(_) => continue,
            };
            result
                .logs
                .extend(call.logs.into_iter().map(|l| (step.plugin.name.clone(), l)));
            if let Err(failure) = call.result {
                step.counts.on_event_failed += 1;
                *step
                    .counts
                    .failures_by_rule
                    .entry(failure.kind.on_event_rule().to_owned())
                    .or_default() += 1;
                result
                    .on_event_failures
                    .push((step.plugin.name.clone(), failure));
            }
            step.replace_if_poisoned();
        }
        let name = event.get("event").and_then(Value::as_str).unwrap_or("");
        for step in &mut self.steps {
            step.export(name, &text, result);
        }
    }

    fn collect_captured(&mut self, result: &mut EventResult) {
        for step in &mut self.steps {
            if let Some(instance) = step.instance.as_mut() {
                let captured = instance.take_captured();
                step.counts.captured += captured.len() as u64;
                result.captured.extend(captured);
            }
        }
    }

    /// Calls `teardown` on every live instance and returns the run's summary.
    pub fn finish(mut self) -> Summary {
        for step in &mut self.steps {
            step.drain_exports();
            if let Some(instance) = step.instance.as_mut() {
                let _ = instance.teardown();
            }
        }
        self.summary()
    }

    /// The summary so far.
    pub fn summary(&self) -> Summary {
        let mut summary = self.summary.clone();
        summary.per_plugin = self
            .steps
            .iter()
            .map(|s| {
                let mut counts = s.counts.clone();
                if let Some(health) = &s.health {
                    counts.health = Some(health.state());
                    counts.health_transitions = health.transitions.clone();
                }
                counts.export = s.export.as_ref().map(|queue| queue.counts.clone());
                (s.plugin.name.clone(), counts)
            })
            .collect();
        summary
    }

    /// The plugins, in order.
    pub fn plugins(&self) -> impl Iterator<Item = &Arc<LoadedPlugin>> {
        self.steps.iter().map(|s| &s.plugin)
    }

    /// The largest linear memory each live instance has reached, in bytes.
    pub fn peak_memory(&self) -> Vec<(String, usize)> {
        self.steps
            .iter()
            .filter_map(|s| {
                let instance = s.instance.as_ref()?;
                Some((s.plugin.name.clone(), instance.peak_memory_bytes()))
            })
            .collect()
    }
}

/// Runs one plugin's `process-event` on `current`, updating it per the rules above.
fn run_step(step: &mut Step, current: &mut Value, result: &mut EventResult) -> (StepOutcome, u64) {
    let input = json_text(current, step.text_capacity);
    step.text_capacity = input.len() + input.len() / 8 + 64;
    let instance = match step.instance() {
        Ok(instance) => instance,
        Err(_) => return (StepOutcome::Disabled, 0),
    };
    let call = instance.process_event(input);
    result
        .logs
        .extend(call.logs.into_iter().map(|l| (step.plugin.name.clone(), l)));
    let outcome = match call.result {
        Err(failure) => StepOutcome::Failed { failure },
        Ok(None) => StepOutcome::Dropped,
        Ok(Some(output)) => match serde_json::from_str::<Value>(&output) {
            Err(e) => StepOutcome::Failed {
                failure: Failure::new(
                    FailureKind::InvalidOutput,
                    format!("returned text that is not JSON: {e}"),
                ),
            },
            Ok(Value::Object(mut object)) => {
                let before = current.get("team_id").cloned();
                let after = object.get("team_id").cloned();
                if !same_team(before.as_ref(), after.as_ref()) {
                    match before {
                        Some(team_id) => object.insert("team_id".into(), team_id),
                        None => object.remove("team_id"),
                    };
                    *current = Value::Object(object);
                    StepOutcome::Failed {
                        failure: Failure::new(
                            FailureKind::TeamIdChanged,
                            format!(
                                "plugin tried to change event.team_id (to {}); restored",
                                after.map_or("nothing".into(), |v| v.to_string())
                            ),
                        ),
                    }
                } else {
                    *current = Value::Object(object);
                    StepOutcome::Succeeded
                }
            }
            Ok(other) => StepOutcome::Failed {
                failure: Failure::new(
                    FailureKind::InvalidOutput,
                    format!("returned JSON that is not an object: {}", json_kind(&other)),
                ),
            },
        },
    };
    (outcome, call.fuel)
}

/// `value` as compact JSON text, the same bytes as `value.to_string()`, written straight into
/// a buffer of `capacity` bytes rather than token by token through `Display`'s formatter.
pub fn json_text(value: &Value, capacity: usize) -> String {
    let mut buffer = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut buffer, value).expect("a JSON value always serialises");
    String::from_utf8(buffer).expect("serde_json writes UTF-8")
}

/// Whether two `team_id`s are the same team: numbers compare as numbers (`13.0` is `13`).
fn same_team(before: Option<&Value>, after: Option<&Value>) -> bool {
    match (before, after) {
        (Some(Value::Number(a)), Some(Value::Number(b))) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        (a, b) => a == b,
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Adds `$plugins_succeeded` and `$plugins_failed` to the event's properties (created when
/// absent). Properties that a plugin turned into something other than an object are left as
/// they are, for the schema stage to report: the pipeline does not repair events.
fn add_bookkeeping(event: &mut Value, succeeded: Vec<String>, failed: Vec<String>) {
    let Some(object) = event.as_object_mut() else {
        return;
    };
    let properties = object
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(properties) = properties.as_object_mut() else {
        return;
    };
    properties.insert(
        "$plugins_succeeded".into(),
        Value::Array(succeeded.into_iter().map(Value::String).collect()),
    );
    properties.insert(
        "$plugins_failed".into(),
        Value::Array(failed.into_iter().map(Value::String).collect()),
    );
}

/// The fields of the capturing event that a captured event inherits.
const CAPTURE_INHERITS: [&str; 4] = ["team_id", "timestamp", "now", "site_url"];

/// The event a `capture` call makes: named by the plugin's call, `distinct_id` the plugin's
/// name, team and timestamp of the event that captured it.
pub fn captured_event(source: &Value, captured: &CapturedEvent) -> Value {
    let mut event = Map::new();
    event.insert("event".into(), captured.event.clone().into());
    event.insert("distinct_id".into(), captured.plugin.clone().into());
    event.insert("properties".into(), captured.properties.clone());
    for key in CAPTURE_INHERITS {
        if let Some(value) = source.get(key) {
            event.insert(key.into(), value.clone());
        }
    }
    Value::Object(event)
}
