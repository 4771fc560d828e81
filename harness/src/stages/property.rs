//! The property stage: generated events (`crate::generators`, steered by the plugin's config)
//! through the plugin, each checked against rules every plugin must keep. A failure is shrunk by
//! proptest to a minimal event, shown in the finding, and saved in
//! `corpus/regressions/<plugin>.jsonl`; saved events run first on every later run. The run is
//! seeded, so the seed in the report replays it.
//!
//! The plugin runs on bare instances ([`PluginInstance`]), not in the pipeline: each rule is
//! about the plugin's own answer to one event, before the pipeline's bookkeeping.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::Value;

use crate::corpus::parse_line;
use crate::error::HarnessError;
use crate::generators::{self, Bias};
use crate::host::{LimitHit, Services};
use crate::instance::{Failure, FailureKind, PluginInstance};
use crate::model::json::{self, human_count, shorten};
use crate::model::{Example, Finding, FindingCollector, Location, Stage, StageReport};
use crate::plugin::LoadedPlugin;
use crate::schema::EventSchemas;
use crate::stages::{Subject, VerifyOptions};

/// The plugin failed (trapped, hit a limit, or returned an error it does not declare).
pub const RULE_NO_FAILURE: &str = "property/no-failure";
/// The output is a JSON object with the event schema's required fields.
pub const RULE_OUTPUT_VALID: &str = "property/output-valid";
/// `uuid`, `team_id`, `timestamp` and `distinct_id` are unchanged unless `mayChange` lists them.
pub const RULE_IDENTITY_PRESERVED: &str = "property/identity-preserved";
/// The same event on two fresh instances gives the same result.
pub const RULE_DETERMINISTIC: &str = "property/deterministic";
/// Every call stays within the fuel budget per event.
pub const RULE_FUEL_BUDGET: &str = "property/fuel-budget";
/// f(f(e)) == f(e), for plugins that declare `idempotent`.
pub const RULE_IDEMPOTENT: &str = "property/idempotent";
/// A fresh instance and one that processed earlier events agree, unless the plugin is `stateful`.
pub const RULE_FRESH_VS_REUSED: &str = "property/fresh-vs-reused";
/// A saved regression file that cannot be read.
pub const RULE_REGRESSIONS_UNREADABLE: &str = "property/regressions-unreadable";

/// The top-level fields a plugin must leave alone unless its manifest's `mayChange` lists them.
pub const IDENTITY_FIELDS: [&str; 4] = ["uuid", "team_id", "timestamp", "distinct_id"];
/// Properties the pipeline adds; ignored when comparing f(f(e)) with f(e).
const BOOKKEEPING: [&str; 2] = ["$plugins_succeeded", "$plugins_failed"];
/// Shrinking stops after this many attempts (a bound on time, independent of the machine, so
/// that a seed always shrinks to the same event).
const MAX_SHRINK_ITERS: u32 = 1024;
/// Checks spent simplifying a shrunk event further ([`polish`]).
const MAX_POLISH_CHECKS: u32 = 400;
/// Longest event JSON shown in a finding (the regression file keeps all of it).
const MAX_EVENT_CHARS: usize = 1500;

/// How to run the property stage.
#[derive(Clone, Debug)]
pub struct PropertyOptions {
    /// Generated events per plugin (saved regressions run on top of these).
    pub cases: u32,
    /// Seed of the generator; the report prints it so that a run can be replayed.
    pub seed: u64,
    /// The directory of saved regressions (`corpus/regressions/`): failing events are added to
    /// `<plugin>.jsonl` there and replayed first. `None`: nothing is saved or replayed.
    pub regressions: Option<PathBuf>,
}

impl Default for PropertyOptions {
    fn default() -> Self {
        PropertyOptions {
            cases: 64,
            seed: 0,
            regressions: None,
        }
    }
}

/// One broken rule, for one event.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Violation {
    rule: &'static str,
    message: String,
}

impl Violation {
    fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Violation {
            rule,
            message: message.into(),
        }
    }
}

/// What one `process-event` call gave.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Emitted(Value),
    Dropped,
    Failed(Failure),
    /// Text that is not a JSON object.
    Invalid(String),
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Outcome::Emitted(event) => format!("emitted {}", shorten(&event.to_string(), 300)),
            Outcome::Dropped => "dropped the event".into(),
            Outcome::Failed(failure) => {
                format!("failed ({}: {})", failure.kind.rule(), failure.message)
            }
            Outcome::Invalid(message) => format!("returned {message}"),
        }
    }
}

/// Runs events through fresh and reused instances of one plugin and checks the rules.
struct Checker<'a> {
    plugin: &'a LoadedPlugin,
    schemas: Option<&'a EventSchemas>,
    /// The instance that sees every event of the run, for `fresh-vs-reused`.
    reused: RefCell<Option<PluginInstance>>,
    /// Storage of the reused instance after it trapped.
    reused_services: RefCell<Option<Services>>,
    reused_events: Cell<u64>,
    max_fuel: Cell<u64>,
}

impl<'a> Checker<'a> {
    fn fresh(&self) -> Result<PluginInstance, Failure> {
        fresh_instance(self.plugin, Services::default())
    }

    fn call(&self, instance: &mut PluginInstance, input: &str) -> Outcome {
        let call = instance.process_event(input);
        self.max_fuel.set(self.max_fuel.get().max(call.fuel));
        match call.result {
            Err(failure) => Outcome::Failed(failure),
            Ok(None) => Outcome::Dropped,
            Ok(Some(text)) => match serde_json::from_str::<Value>(&text) {
                Ok(value @ Value::Object(_)) => Outcome::Emitted(value),
                Ok(_) => Outcome::Invalid("JSON that is not an object".into()),
                Err(e) => Outcome::Invalid(format!("text that is not JSON ({e})")),
            },
        }
    }

    /// The first rule `event` breaks, if any.
    fn check(&self, event: &Value) -> Result<(), Violation> {
        let manifest = &self.plugin.manifest;
        let input = event.to_string();
        let mut instance = self.fresh().map_err(|failure| {
            Violation::new(
                RULE_NO_FAILURE,
                format!("a fresh instance failed: {}", failure.message),
            )
        })?;
        let first = self.call(&mut instance, &input);

        // no-failure, fuel-budget, identity-preserved, output-valid
        let fuel_budget = self.plugin.limits().budget_for(input.len());
        match &first {
            Outcome::Failed(failure) if failure.kind == FailureKind::Limit(LimitHit::Fuel) => {
                return Err(Violation::new(
                    RULE_FUEL_BUDGET,
                    format!(
                        "used more than the budget of {} fuel on one event",
                        human_count(fuel_budget)
                    ),
                ));
            }
            Outcome::Failed(failure)
                if failure.kind == FailureKind::ErrorResult && manifest.rejects_some_inputs => {}
            Outcome::Failed(failure) => {
                return Err(Violation::new(
                    RULE_NO_FAILURE,
                    format!("{}: {}", failure.kind.rule(), failure.message),
                ));
            }
            Outcome::Invalid(message) => {
                return Err(Violation::new(
                    RULE_OUTPUT_VALID,
                    format!("returned {message}"),
                ));
            }
            Outcome::Emitted(output) => {
                // Identity first: "`uuid` changed" says more than "`uuid` is missing".
                identity_preserved(event, output, &manifest.may_change)?;
                self.output_valid(event, output)?;
            }
            Outcome::Dropped => {}
        }
        if instance.exports_on_event()
            && let Outcome::Emitted(output) = &first
        {
            let call = instance.on_event(output.to_string());
            self.max_fuel.set(self.max_fuel.get().max(call.fuel));
            match call.result {
                Ok(()) => {}
                Err(failure) if failure.kind == FailureKind::Limit(LimitHit::Fuel) => {
                    return Err(Violation::new(
                        RULE_FUEL_BUDGET,
                        format!(
                            "on-event used more than the budget of {} fuel",
                            human_count(fuel_budget)
                        ),
                    ));
                }
                Err(failure)
                    if failure.kind == FailureKind::ErrorResult && manifest.rejects_some_inputs => {
                }
                Err(failure) => {
                    return Err(Violation::new(
                        RULE_NO_FAILURE,
                        format!("on-event: {}: {}", failure.kind.rule(), failure.message),
                    ));
                }
            }
        }
        drop(instance);

        // deterministic
        let mut other = self.fresh().map_err(|failure| {
            Violation::new(
                RULE_DETERMINISTIC,
                format!("a second fresh instance failed: {}", failure.message),
            )
        })?;
        let second = self.call(&mut other, &input);
        drop(other);
        if second != first {
            return Err(Violation::new(
                RULE_DETERMINISTIC,
                format!(
                    "two fresh instances disagree: the first {}, the second {}",
                    first.describe(),
                    second.describe()
                ),
            ));
        }

        // idempotent
        if manifest.idempotent
            && let Outcome::Emitted(output) = &first
        {
            let mut again = self.fresh().map_err(|failure| {
                Violation::new(
                    RULE_IDEMPOTENT,
                    format!("a fresh instance failed: {}", failure.message),
                )
            })?;
            let twice = self.call(&mut again, &output.to_string());
            match &twice {
                Outcome::Emitted(twice) => {
                    let (once, twice) = (without_bookkeeping(output), without_bookkeeping(twice));
                    if once != twice {
                        return Err(Violation::new(
                            RULE_IDEMPOTENT,
                            format!(
                                "running it on its own output changed the event again: {}",
                                first_difference(&once, &twice)
                            ),
                        ));
                    }
                }
                other => {
                    return Err(Violation::new(
                        RULE_IDEMPOTENT,
                        format!("on its own output the plugin {}", other.describe()),
                    ));
                }
            }
        }

        // fresh-vs-reused
        if !manifest.stateful {
            let reused = self.call_reused(&input);
            if reused != first {
                return Err(Violation::new(
                    RULE_FRESH_VS_REUSED,
                    format!(
                        "an instance that had processed {} events before disagrees with a fresh one: the fresh one {}, the reused one {} (a plugin that remembers events declares `stateful`)",
                        self.reused_events.get() - 1,
                        first.describe(),
                        reused.describe()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Runs `input` on the instance that sees every event; a poisoned one is replaced (its
    /// storage kept), as the pipeline does.
    fn call_reused(&self, input: &str) -> Outcome {
        let mut slot = self.reused.borrow_mut();
        if slot.is_none() {
            let services = self.reused_services.borrow_mut().take().unwrap_or_default();
            match fresh_instance(self.plugin, services) {
                Ok(instance) => *slot = Some(instance),
                Err(failure) => return Outcome::Failed(failure),
            }
        }
        let instance = slot.as_mut().expect("set above");
        self.reused_events.set(self.reused_events.get() + 1);
        let outcome = self.call(instance, input);
        if instance.is_poisoned() {
            let instance = slot.take().expect("checked above");
            *self.reused_services.borrow_mut() = Some(instance.into_services());
        }
        outcome
    }

    fn output_valid(&self, input: &Value, output: &Value) -> Result<(), Violation> {
        for (field, check) in REQUIRED_FIELDS {
            if check(input.get(field)) && !check(output.get(field)) {
                let found = output
                    .get(field)
                    .map_or_else(|| "missing".to_owned(), |v| shorten(&v.to_string(), 120));
                return Err(Violation::new(
                    RULE_OUTPUT_VALID,
                    format!(
                        "`{field}` in the output is not {}: {found}",
                        describe_field(field)
                    ),
                ));
            }
        }
        if let Some(schemas) = self.schemas
            && schemas.validate(input).is_empty()
            && let Some(violation) = schemas.validate(output).first()
        {
            return Err(Violation::new(
                RULE_OUTPUT_VALID,
                format!("the output breaks the event schema: {violation}"),
            ));
        }
        Ok(())
    }
}

/// A new instance of `plugin` with `services`, set up with its config.
fn fresh_instance(plugin: &LoadedPlugin, services: Services) -> Result<PluginInstance, Failure> {
    let mut instance = PluginInstance::new(plugin, services)?;
    instance.setup(&plugin.config).result.map_err(|failure| {
        Failure::new(
            FailureKind::Instantiate,
            format!("setup failed: {}", failure.message),
        )
    })?;
    Ok(instance)
}

type FieldCheck = fn(Option<&Value>) -> bool;

/// The base event schema's required fields, checked by hand (the schemas, when loaded, check
/// the rest).
const REQUIRED_FIELDS: [(&str, FieldCheck); 6] = [
    ("event", |v| {
        v.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
    }),
    ("distinct_id", |v| {
        v.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
    }),
    ("uuid", |v| v.and_then(Value::as_str).is_some_and(is_uuid)),
    ("team_id", |v| {
        v.and_then(Value::as_i64).is_some_and(|t| t >= 1)
    }),
    ("timestamp", |v| {
        v.and_then(Value::as_str).is_some_and(is_rfc3339)
    }),
    ("properties", |v| v.is_some_and(Value::is_object)),
];

fn describe_field(field: &str) -> &'static str {
    match field {
        "uuid" => "a hyphenated UUID",
        "team_id" => "an integer of at least 1",
        "timestamp" => "an RFC 3339 date-time",
        "properties" => "an object",
        _ => "a non-empty string",
    }
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(text: &str) -> bool {
    // The hyphenated form only, as PostHog's events carry it.
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`).
fn is_rfc3339(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

fn identity_preserved(
    input: &Value,
    output: &Value,
    may_change: &[String],
) -> Result<(), Violation> {
    for field in IDENTITY_FIELDS {
        if may_change.iter().any(|allowed| allowed == field) {
            continue;
        }
        let (before, after) = (input.get(field), output.get(field));
        if before != after {
            let show = |v: Option<&Value>| {
                v.map_or_else(|| "nothing".to_owned(), |v| shorten(&v.to_string(), 120))
            };
            return Err(Violation::new(
                RULE_IDENTITY_PRESERVED,
                format!(
                    "`{field}` changed from {} to {} (a plugin that may change it lists it in `mayChange`)",
                    show(before),
                    show(after)
                ),
            ));
        }
    }
    Ok(())
}

fn without_bookkeeping(event: &Value) -> Value {
    let mut event = event.clone();
    if let Some(properties) = event.get_mut("properties").and_then(Value::as_object_mut) {
        for key in BOOKKEEPING {
            properties.shift_remove(key);
        }
    }
    event
}

/// One step into a JSON value.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn at_mut<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get_mut(key.as_str()),
        Step::Index(index) => value.get_mut(*index),
    })
}

/// Simplifies a shrunk failing event further, one edit at a time, keeping each edit after which
/// `still_fails` (the same rule broken): the optional top-level fields and, inside them and
/// `properties`, keys and items removed, containers replaced by one of their items, strings cut
/// in half or to one character, numbers set to 0. proptest shrinks what its strategies built;
/// this reaches what they cannot (a value nested in a generated object, a repeated piece).
/// Returns the event and the checks spent (at most [`MAX_POLISH_CHECKS`]).
fn polish(event: Value, mut still_fails: impl FnMut(&Value) -> bool) -> (Value, u32) {
    const REQUIRED: [&str; 6] = [
        "event",
        "distinct_id",
        "uuid",
        "team_id",
        "timestamp",
        "properties",
    ];
    let mut current = event;
    let mut checks = 0;
    'search: loop {
        // Every node below the top level, parents before children.
        let mut paths: Vec<Vec<Step>> = Vec::new();
        let mut stack: Vec<Vec<Step>> = current
            .as_object()
            .map(|o| o.keys().rev().map(|k| vec![Step::Key(k.clone())]).collect())
            .unwrap_or_default();
        while let Some(path) = stack.pop() {
            let mut probe = current.clone();
            match at_mut(&mut probe, &path) {
                Some(Value::Object(map)) => {
                    for key in map.keys().rev() {
                        stack.push([path.clone(), vec![Step::Key(key.clone())]].concat());
                    }
                }
                Some(Value::Array(items)) => {
                    for index in (0..items.len()).rev() {
                        stack.push([path.clone(), vec![Step::Index(index)]].concat());
                    }
                }
                _ => {}
            }
            paths.push(path);
        }
        for path in &paths {
            let top_level_required = path.len() == 1
                && matches!(&path[0], Step::Key(k) if REQUIRED.contains(&k.as_str()));
            if path.len() == 1
                && top_level_required
                && !matches!(&path[0], Step::Key(k) if k == "properties")
            {
                continue;
            }
            for candidate in edits(&current, path, top_level_required) {
                if checks >= MAX_POLISH_CHECKS {
                    break 'search;
                }
                checks += 1;
                if still_fails(&candidate) {
                    current = candidate;
                    continue 'search;
                }
            }
        }
        break;
    }
    (current, checks)
}

/// The simpler events one edit at `path` makes of `event`.
fn edits(event: &Value, path: &[Step], keep: bool) -> Vec<Value> {
    let mut out = Vec::new();
    let Some((last, parent_path)) = path.split_last() else {
        return out;
    };
    let mut probe = event.clone();
    let Some(node) = at_mut(&mut probe, path).cloned() else {
        return out;
    };
    if !keep {
        let mut removed = event.clone();
        match (at_mut(&mut removed, parent_path), last) {
            (Some(Value::Object(map)), Step::Key(key)) => {
                map.shift_remove(key);
            }
            (Some(Value::Array(items)), Step::Index(index)) => {
                items.remove(*index);
            }
            _ => {}
        }
        out.push(removed);
    }
    let mut replaced = |value: Value| {
        let mut edited = event.clone();
        if let Some(slot) = at_mut(&mut edited, path) {
            *slot = value;
        }
        out.push(edited);
    };
    match node {
        Value::Object(map) if path.len() > 1 => map.into_iter().for_each(|(_, v)| replaced(v)),
        Value::Array(items) if path.len() > 1 => items.into_iter().for_each(&mut replaced),
        Value::String(text) if text.chars().count() > 1 => {
            let chars: Vec<char> = text.chars().collect();
            let half = chars.len() / 2;
            replaced(Value::from(chars[..half].iter().collect::<String>()));
            replaced(Value::from(chars[half..].iter().collect::<String>()));
            if chars.len() <= 8 {
                for c in chars {
                    replaced(Value::from(c.to_string()));
                }
            }
        }
        Value::Number(n) if n.as_f64() != Some(0.0) && path.len() > 1 => replaced(Value::from(0)),
        _ => {}
    }
    out
}

/// Where two values first differ: a JSON pointer and both sides.
fn first_difference(a: &Value, b: &Value) -> String {
    let Some(change) = json::diff(a, b, json::Arrays::Whole).into_iter().next() else {
        return "no difference".into();
    };
    let text = |value: &Value| shorten(&value.to_string(), 120);
    match (&change.old, &change.new) {
        (Some(old), None) => format!("{} was removed (it was {})", change.pointer, text(old)),
        (None, Some(new)) => format!("{} was added: {}", change.pointer, text(new)),
        (Some(old), Some(new)) => format!(
            "{} went from {} to {}",
            if change.pointer.is_empty() {
                "the event"
            } else {
                &change.pointer
            },
            text(old),
            text(new)
        ),
        (None, None) => "no difference".into(),
    }
}

/// The regression file of a plugin: `<dir>/<name>.jsonl`, the name made safe for a file name.
pub fn regression_file(dir: &Path, plugin_name: &str) -> PathBuf {
    let safe: String = plugin_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.jsonl"))
}

/// The saved events of a regression file, with their line numbers (none when the file does not
/// exist). A line that is not an event is an error naming file and line.
pub fn read_regressions(path: &Path) -> Result<Vec<(usize, Value)>, HarnessError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(HarnessError::io(path, e)),
    };
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        match parse_line(path, index + 1, line) {
            None => {}
            Some(Ok(event)) => events.push((index + 1, event)),
            Some(Err(bad)) => {
                return Err(HarnessError::BadLine {
                    path: bad.file,
                    line: bad.line,
                    message: bad.message,
                });
            }
        }
    }
    Ok(events)
}

/// Checks every regression file (`*.jsonl`) of `dir`, so that a broken one stops `verify`
/// before any plugin is judged (as a broken corpus does). A missing directory is fine.
pub fn check_regressions(dir: &Path) -> Result<usize, HarnessError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut events = 0;
    for file in files {
        events += read_regressions(&file)?.len();
    }
    Ok(events)
}

/// Appends `event` to the regression file unless it is there already; returns its line.
pub fn save_regression(path: &Path, event: &Value) -> Result<usize, HarnessError> {
    let existing = read_regressions(path)?;
    if let Some((line, _)) = existing.iter().find(|(_, saved)| saved == event) {
        return Ok(*line);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| HarnessError::io(dir, e))?;
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| HarnessError::io(path, e))?;
    let mut line = String::new();
    if !text.is_empty() && !text.ends_with('\n') {
        line.push('\n');
    }
    line.push_str(&event.to_string());
    line.push('\n');
    file.write_all(line.as_bytes())
        .map_err(|e| HarnessError::io(path, e))?;
    Ok(text.lines().count() + 1)
}

/// The 32-byte ChaCha seed of a `u64` seed.
fn chacha_seed(seed: u64) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(b"posthog!");
    bytes
}

/// A failing event and what it broke.
struct Found {
    violation: Violation,
    event: Value,
    location: Location,
    /// How it was found, for the message.
    origin: String,
}

pub fn run(subject: &mut Subject, options: &VerifyOptions) -> StageReport {
    let Some(plugin) = subject.plugin.clone() else {
        return StageReport::skipped(Stage::Property, "the plugin did not load");
    };
    if plugin.exports.process_event.is_none() && plugin.exports.on_event.is_none() {
        return StageReport::skipped(
            Stage::Property,
            "the plugin exports neither process-event nor on-event (a batch exporter's batches are checked by the corpus stage)",
        );
    }
    if let Err(failure) = fresh_instance(&plugin, Services::default()) {
        return StageReport::skipped(
            Stage::Property,
            &format!("a fresh instance could not be set up ({})", failure.message),
        );
    }
    let property = &options.property;
    let manifest = &plugin.manifest;
    let checker = Checker {
        plugin: &plugin,
        schemas: options.schemas.as_deref(),
        reused: RefCell::new(None),
        reused_services: RefCell::new(None),
        reused_events: Cell::new(0),
        max_fuel: Cell::new(0),
    };
    let mut found: Vec<Found> = Vec::new();
    let mut findings = Vec::new();

    // Saved regressions first.
    let regression_path = property
        .regressions
        .as_deref()
        .map(|dir| regression_file(dir, &plugin.name));
    let regressions = match regression_path.as_deref().map(read_regressions) {
        None => Vec::new(),
        Some(Ok(events)) => events,
        Some(Err(error)) => {
            findings.push(Finding::new(RULE_REGRESSIONS_UNREADABLE, error.to_string()));
            Vec::new()
        }
    };
    for (line, event) in &regressions {
        if let Err(violation) = checker.check(event) {
            found.push(Found {
                violation,
                event: event.clone(),
                location: Location {
                    file: regression_path.clone(),
                    line: Some(*line),
                    ..Location::default()
                },
                origin: "a saved regression".into(),
            });
        }
    }

    // Then generated events, shrinking the first failure.
    let config = Config {
        cases: property.cases,
        failure_persistence: None,
        source_file: None,
        test_name: None,
        fork: false,
        timeout: 0,
        verbose: 0,
        // Bounded in the test closure instead (proptest prints to stderr when it stops
        // itself); `u32::MAX` would mean `4 * cases` to proptest.
        max_shrink_iters: u32::MAX - 1,
        max_shrink_time: 0,
        max_local_rejects: 1_000,
        max_global_rejects: 1_000,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &chacha_seed(property.seed)),
    );
    let strategy = generators::event(&Bias::from_config(&plugin.config));
    let target: Cell<Option<&'static str>> = Cell::new(None);
    let last: RefCell<Option<Violation>> = RefCell::new(None);
    let generated = Cell::new(0u32);
    let shrink_steps = Cell::new(0u32);
    let result = runner.run(&strategy, |event| {
        if target.get().is_some() {
            if shrink_steps.get() >= MAX_SHRINK_ITERS {
                // Enough: every further candidate "passes", so proptest ends where it is.
                return Ok(());
            }
            shrink_steps.set(shrink_steps.get() + 1);
            options
                .progress
                .emit(crate::stages::StageProgress::Shrinking {
                    steps: shrink_steps.get(),
                });
        } else {
            generated.set(generated.get() + 1);
            options.progress.emit(crate::stages::StageProgress::Step {
                stage: Stage::Property,
                done: u64::from(generated.get()),
                total: u64::from(property.cases),
            });
        }
        match checker.check(&event) {
            Ok(()) => Ok(()),
            // While shrinking, only the rule first broken counts: a smaller event that breaks
            // another rule is not a smaller example of this failure.
            Err(violation) if target.get().is_some_and(|rule| rule != violation.rule) => Ok(()),
            Err(violation) => {
                target.set(Some(violation.rule));
                let rule = violation.rule;
                *last.borrow_mut() = Some(violation);
                Err(TestCaseError::fail(rule))
            }
        }
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(_, event)) => {
            let mut violation = last.borrow_mut().take().unwrap_or_else(|| {
                Violation::new(target.get().unwrap_or(RULE_NO_FAILURE), "failed")
            });
            let rule = violation.rule;
            // A simpler event must still be a valid one, when the shrunk one was.
            let schemas = options.schemas.as_deref();
            let keep_valid = schemas.is_some_and(|s| s.validate(&event).is_empty());
            let (event, polish_steps) = polish(event, |candidate| {
                if keep_valid && schemas.is_some_and(|s| !s.validate(candidate).is_empty()) {
                    return false;
                }
                match checker.check(candidate) {
                    Err(found) if found.rule == rule => {
                        violation = found;
                        true
                    }
                    _ => false,
                }
            });
            shrink_steps.set(shrink_steps.get() + polish_steps);
            let mut location = Location::default();
            if let Some(path) = &regression_path {
                match save_regression(path, &event) {
                    Ok(line) => {
                        location.file = Some(path.clone());
                        location.line = Some(line);
                    }
                    Err(error) => findings.push(Finding::new(
                        RULE_REGRESSIONS_UNREADABLE,
                        format!("could not save the failing event: {error}"),
                    )),
                }
            }
            found.push(Found {
                violation,
                event,
                location,
                origin: format!(
                    "generated event {} of {} (seed {}), shrunk in {} steps",
                    generated.get(),
                    property.cases,
                    property.seed,
                    shrink_steps.get()
                ),
            });
        }
        Err(TestError::Abort(reason)) => {
            let finding = Finding::new(
                "property/aborted",
                format!("the generator gave up: {reason}"),
            );
            findings.push(finding);
        }
    }
    findings.extend(collect(found, property.seed));

    let mut checked = vec![
        "no-failure",
        "output-valid",
        "identity-preserved",
        "deterministic",
        "fuel-budget",
    ];
    let mut not_checked = Vec::new();
    if manifest.idempotent {
        checked.push("idempotent");
    } else {
        not_checked.push("idempotent (not declared)");
    }
    if manifest.stateful {
        not_checked.push("fresh-vs-reused (stateful)");
    } else {
        checked.push("fresh-vs-reused");
    }
    let generated_text = if generated.get() < property.cases {
        format!(
            "{} of {} generated events (stopped at the first failure)",
            generated.get(),
            property.cases
        )
    } else {
        format!("{} generated events", generated.get())
    };
    let mut summary = format!(
        "seed {}: {generated_text}, {} saved regression{}; checked {}",
        property.seed,
        regressions.len(),
        if regressions.len() == 1 { "" } else { "s" },
        checked.join(", "),
    );
    if !not_checked.is_empty() {
        summary.push_str(&format!("; not {}", not_checked.join(", ")));
    }
    summary.push_str(&format!(
        "; fuel max {}",
        human_count(checker.max_fuel.get())
    ));
    let mut stage = StageReport::new(Stage::Property, summary, findings);
    let metrics: BTreeMap<String, Value> = [
        ("seed", Value::from(property.seed)),
        ("generatedEvents", generated.get().into()),
        ("regressions", regressions.len().into()),
        ("shrinkSteps", shrink_steps.get().into()),
        ("fuelMax", checker.max_fuel.get().into()),
        ("checked", checked.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    stage.metrics = metrics;
    stage
}

/// One finding per rule: the first failure's message, every failing event as an example.
fn collect(found: Vec<Found>, seed: u64) -> Vec<Finding> {
    let mut collector = FindingCollector::default();
    for found in found {
        collector.add_example(
            found.violation.rule,
            &format!(
                "{} (on {}; replay with --property-seed {seed})",
                found.violation.message, found.origin
            ),
            Example {
                location: found.location.clone(),
                message: shorten(&found.event.to_string(), MAX_EVENT_CHARS),
            },
        );
    }
    collector.finish(|finding| finding.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uuids_and_timestamps_are_checked_by_hand() {
        assert!(is_uuid("00000000-0000-4000-8000-000000000001"));
        assert!(!is_uuid("00000000-0000-4000-8000-00000000001"));
        assert!(!is_uuid("0000000g-0000-4000-8000-000000000001"));
        for good in [
            "2024-03-05T14:22:31.123Z",
            "2024-03-05T14:22:31+05:30",
            "2024-03-05t14:22:31z",
        ] {
            assert!(is_rfc3339(good), "{good}");
        }
        for bad in [
            "2024-03-05",
            "2024-03-05T14:22:31",
            "2024-03-05T14:22:31.Z",
            "yesterday",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn identity_fields_may_change_only_when_listed() {
        let input = json!({"uuid": "a", "distinct_id": "u1", "team_id": 1, "timestamp": "t"});
        let mut output = input.clone();
        output["distinct_id"] = json!("u2");
        let err = identity_preserved(&input, &output, &[]).unwrap_err();
        assert_eq!(err.rule, RULE_IDENTITY_PRESERVED);
        assert!(
            err.message
                .starts_with("`distinct_id` changed from \"u1\" to \"u2\""),
            "{}",
            err.message
        );
        assert!(identity_preserved(&input, &output, &["distinct_id".into()]).is_ok());
    }

    #[test]
    fn differences_name_the_pointer() {
        let a = json!({"properties": {"url": "a/", "x": 1}});
        let b = json!({"properties": {"url": "a", "x": 1}});
        assert_eq!(
            first_difference(&a, &b),
            "/properties/url went from \"a/\" to \"a\""
        );
        let c = json!({"properties": {"x": 1}});
        assert_eq!(
            first_difference(&a, &c),
            "/properties/url was removed (it was \"a/\")"
        );
    }

    #[test]
    fn regressions_are_appended_once_and_bad_lines_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = regression_file(dir.path(), "my/plugin");
        assert!(path.ends_with("my_plugin.jsonl"));
        assert_eq!(read_regressions(&path).unwrap(), []);
        let event = json!({"event": "a"});
        assert_eq!(save_regression(&path, &event).unwrap(), 1);
        assert_eq!(save_regression(&path, &json!({"event": "b"})).unwrap(), 2);
        assert_eq!(save_regression(&path, &event).unwrap(), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        std::fs::write(&path, "{\"event\":\"a\"}\n{oops\n").unwrap();
        let err = read_regressions(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("{}:2: not JSON: key must be a string", path.display())
        );
        assert!(check_regressions(dir.path()).is_err());
    }
}
