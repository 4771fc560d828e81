//! The snapshot stage: what the plugin did to every corpus event (the corpus stage's results,
//! not a second run), compared with the snapshots kept beside the plugin, so that a change in
//! behaviour shows up as a diff a reviewer reads in the pull request.
//!
//! One file per corpus file: `<plugin dir>/snapshots/<corpus file stem>.snap`, in insta's
//! format (a `---` header with `source` and `expression`, `---`, then the body) so that
//! `cargo insta review` can read them as well as `cargo xtask review`. The body is JSON: an
//! object keyed `"line N"` (the event's corpus line, in corpus order), each entry saying what
//! came out: `"outcome"` (`emitted` or `dropped`), `"failures"` (rule and message, when the
//! plugin failed), `"set"` (each value the output has that the input did not, by JSON pointer),
//! `"removed"` (pointers the output lacks) and `"captured"` (events the plugin captured). The
//! input is the corpus line beside it in the repository, so the entry is the output, exactly,
//! without repeating the input. Values deeper than the entry's fields are written on one line,
//! so that a diff shows one line per changed value.
//!
//! Nothing is redacted: while verifying, the clock, random numbers and http answers are
//! deterministic, and the snapshots hold no paths, so a run repeats byte for byte.
//!
//! In CI ([`SnapshotMode::Check`]) a new or changed snapshot is an error and nothing is
//! written; locally ([`SnapshotMode::Review`]) a new snapshot is recorded and a changed one is
//! written beside the old as `<name>.snap.new` (an error until accepted with
//! `cargo xtask review` or `cargo xtask verify --accept`); [`SnapshotMode::Accept`] writes them
//! all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::corpus::SourcedEvent;
use crate::model::json;
use crate::model::{Example, Finding, Location, Stage, StageReport};
use crate::pipeline::{Disposition, EventResult, StepOutcome};
use crate::stages::{Subject, VerifyOptions};

/// The directory of a plugin's snapshots, inside the plugin's directory.
pub const SNAPSHOT_DIR: &str = "snapshots";
/// The extension of an accepted snapshot.
pub const SNAPSHOT_EXTENSION: &str = "snap";
/// What a pending snapshot's name ends with.
pub const PENDING_SUFFIX: &str = ".snap.new";

/// Rule: a snapshot differs from what the plugin does now.
pub const RULE_CHANGED: &str = "snapshot/changed";
/// Rule: there is no snapshot yet (an error in CI only).
pub const RULE_NEW: &str = "snapshot/new";
/// Rule: a snapshot file that cannot be read (edited by hand into invalid form).
pub const RULE_INVALID: &str = "snapshot/invalid";
/// Rule: a snapshot whose corpus file is gone.
pub const RULE_STALE: &str = "snapshot/stale";
/// Rule: a snapshot could not be written.
pub const RULE_WRITE: &str = "snapshot/write-failed";

/// Lines of diff shown in a finding; the `.snap.new` file and `cargo xtask review` have it all.
const MAX_DIFF_LINES: usize = 60;
/// Changed corpus lines named in a finding.
const MAX_LINES_NAMED: usize = 10;
/// Changed events kept whole (input, output, snapshot entry before and now) in the stage's
/// `changedEvents` metric, for the HTML report's side-by-side view.
pub const MAX_CHANGED_EVENTS_KEPT: usize = 20;

/// What the snapshot stage does with a new or changed snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SnapshotMode {
    /// CI: compare only. A new or changed snapshot is an error; nothing is written.
    #[default]
    Check,
    /// Local: a new snapshot is recorded; a changed one is written as `<name>.snap.new` beside
    /// the old one and is an error until it is accepted.
    Review,
    /// Write every snapshot as it is now (`--accept`).
    Accept,
}

impl SnapshotMode {
    /// `Accept` when asked; otherwise `Check` in CI (the `CI` variable set, and not `false` or
    /// `0`), `Review` elsewhere.
    pub fn from_env(accept: bool) -> SnapshotMode {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        if accept {
            SnapshotMode::Accept
        } else if ci {
            SnapshotMode::Check
        } else {
            SnapshotMode::Review
        }
    }
}

/// A snapshot file that cannot be read: one line naming the file and line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct SnapshotError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

/// A snapshot file, split into its insta header and its body.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotFile {
    /// The header lines between the two `---` lines.
    pub header: Vec<String>,
    /// The body's text.
    pub body: String,
    /// The 1-based line the body starts at.
    pub body_line: usize,
}

impl SnapshotFile {
    /// Splits `text` (the contents of `path`) into header and body.
    pub fn parse(path: &Path, text: &str) -> Result<SnapshotFile, SnapshotError> {
        let error = |line: usize, message: &str| SnapshotError {
            path: path.to_owned(),
            line,
            message: message.to_owned(),
        };
        let mut lines = text.split_inclusive('\n');
        let first = lines.next().unwrap_or("");
        if first.trim_end() != "---" {
            return Err(error(1, "not a snapshot: the first line must be `---`"));
        }
        let mut header = Vec::new();
        let mut offset = first.len();
        for (index, line) in lines.enumerate() {
            offset += line.len();
            if line.trim_end() == "---" {
                return Ok(SnapshotFile {
                    header,
                    body: text[offset..].to_owned(),
                    body_line: index + 3,
                });
            }
            header.push(line.trim_end().to_owned());
        }
        Err(error(
            header.len() + 1,
            "not a snapshot: the header has no closing `---`",
        ))
    }

    /// The body as JSON, the error naming the file's line.
    pub fn json(&self, path: &Path) -> Result<Value, SnapshotError> {
        serde_json::from_str(&self.body).map_err(|e| {
            let message = e.to_string();
            let message = message
                .rfind(" at line ")
                .map_or(message.clone(), |at| message[..at].to_owned());
            SnapshotError {
                path: path.to_owned(),
                line: self.body_line + e.line().saturating_sub(1),
                message: format!("not JSON: {message} (column {})", e.column()),
            }
        })
    }

    /// The body as a snapshot of a plugin's events: an object of objects.
    pub fn entries(&self, path: &Path) -> Result<Map<String, Value>, SnapshotError> {
        let Value::Object(entries) = self.json(path)? else {
            return Err(SnapshotError {
                path: path.to_owned(),
                line: self.body_line,
                message: "not a snapshot of events: the body must be a JSON object".into(),
            });
        };
        if let Some((key, _)) = entries.iter().find(|(_, entry)| !entry.is_object()) {
            let line = self
                .body
                .lines()
                .position(|l| l.contains(&format!("{key:?}")))
                .map_or(self.body_line, |at| self.body_line + at);
            return Err(SnapshotError {
                path: path.to_owned(),
                line,
                message: format!("not a snapshot of events: the entry {key:?} is not an object"),
            });
        }
        Ok(entries)
    }
}

/// Reads and parses a snapshot file.
pub fn read_snapshot(path: &Path) -> Result<SnapshotFile, SnapshotError> {
    let text = std::fs::read_to_string(path).map_err(|e| SnapshotError {
        path: path.to_owned(),
        line: 1,
        message: e.to_string(),
    })?;
    SnapshotFile::parse(path, &text)
}

/// Renders a snapshot file: insta's header, then the body.
pub fn render_file(source: &str, expression: &str, body: &Value) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    format!(
        "---\nsource: {}\nexpression: {}\n---\n{}\n",
        quote(source),
        quote(expression),
        render_body(body)
    )
}

/// Pretty JSON whose first three levels (the file, each event, each event's fields) are spread
/// over lines and whose deeper values sit on one line each.
pub fn render_body(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    const EXPANDED_LEVELS: usize = 3;
    let indent = |out: &mut String, depth: usize| out.push_str(&"  ".repeat(depth));
    match value {
        Value::Object(map) if depth < EXPANDED_LEVELS && !map.is_empty() => {
            out.push_str("{\n");
            for (index, (key, item)) in map.iter().enumerate() {
                indent(out, depth + 1);
                out.push_str(&serde_json::to_string(key).unwrap_or_default());
                out.push_str(": ");
                write_value(out, item, depth + 1);
                out.push_str(if index + 1 < map.len() { ",\n" } else { "\n" });
            }
            indent(out, depth);
            out.push('}');
        }
        Value::Array(items) if depth < EXPANDED_LEVELS && !items.is_empty() => {
            out.push_str("[\n");
            for (index, item) in items.iter().enumerate() {
                indent(out, depth + 1);
                write_value(out, item, depth + 1);
                out.push_str(if index + 1 < items.len() { ",\n" } else { "\n" });
            }
            indent(out, depth);
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The snapshot entry of one event: what came out of the plugin, as a change to what went in.
pub fn entry(input: &Value, result: &EventResult) -> Value {
    let mut entry = Map::new();
    let mut failures = Vec::new();
    for step in &result.steps {
        if let StepOutcome::Failed { failure } = &step.outcome {
            failures
                .push(serde_json::json!({"rule": failure.kind.rule(), "message": failure.message}));
        }
    }
    for (_, failure) in &result.on_event_failures {
        failures.push(serde_json::json!({
            "rule": format!("{}-on-event", failure.kind.rule()),
            "message": failure.message,
        }));
    }
    match &result.disposition {
        Disposition::Emitted { event } => {
            entry.insert("outcome".into(), "emitted".into());
            if !failures.is_empty() {
                entry.insert("failures".into(), Value::Array(failures));
            }
            let (set, removed) = delta(input, event);
            if !set.is_empty() {
                entry.insert("set".into(), Value::Object(set));
            }
            if !removed.is_empty() {
                entry.insert("removed".into(), Value::Array(removed));
            }
        }
        Disposition::Dropped { .. } => {
            entry.insert("outcome".into(), "dropped".into());
            if !failures.is_empty() {
                entry.insert("failures".into(), Value::Array(failures));
            }
        }
    }
    if !result.captured.is_empty() {
        let captured = result
            .captured
            .iter()
            .map(|c| serde_json::json!({"event": c.event, "properties": c.properties}))
            .collect();
        entry.insert("captured".into(), Value::Array(captured));
    }
    Value::Object(entry)
}

/// The JSON pointers at which `after` differs from `before`: values set (objects are compared
/// key by key, anything else whole) and keys removed.
fn delta(before: &Value, after: &Value) -> (Map<String, Value>, Vec<Value>) {
    let mut set = Map::new();
    let mut removed = Vec::new();
    for change in json::diff(before, after, json::Arrays::Whole) {
        match change.new {
            Some(value) => {
                set.insert(change.pointer, value);
            }
            None => removed.push(Value::from(change.pointer)),
        }
    }
    (set, removed)
}

/// The snapshot bodies of a corpus run: for each corpus file, in corpus order, its events'
/// entries keyed `"line N"`.
pub fn snapshot_bodies(
    events: &[SourcedEvent],
    results: &[EventResult],
    files: &[PathBuf],
) -> Vec<(PathBuf, Value)> {
    let mut order: Vec<PathBuf> = files.to_vec();
    let mut bodies: BTreeMap<PathBuf, Map<String, Value>> = files
        .iter()
        .map(|file| (file.clone(), Map::new()))
        .collect();
    for (sourced, result) in events.iter().zip(results) {
        let file = sourced.file.to_path_buf();
        let body = bodies.entry(file.clone()).or_insert_with(|| {
            order.push(file.clone());
            Map::new()
        });
        body.insert(
            format!("line {}", sourced.line),
            entry(&sourced.event, result),
        );
    }
    order
        .into_iter()
        .map(|file| {
            let body = bodies.remove(&file).unwrap_or_default();
            (file, Value::Object(body))
        })
        .collect()
}

/// The snapshot file for a corpus file, in `dir`.
pub fn snapshot_path(dir: &Path, corpus_file: &Path) -> PathBuf {
    let stem = corpus_file
        .file_stem()
        .map_or_else(|| "corpus".into(), |s| s.to_string_lossy().into_owned());
    dir.join(format!("{stem}.{SNAPSHOT_EXTENSION}"))
}

/// The pending file beside a snapshot.
pub fn pending_path(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// The corpus lines (`"line N"` keys) whose entries differ between two bodies, in order.
pub fn changed_entries(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<&String> = new.keys().collect();
    keys.extend(old.keys().filter(|k| !new.contains_key(*k)));
    keys.into_iter()
        .filter(|key| old.get(*key) != new.get(*key))
        .cloned()
        .collect()
}

/// A unified line diff between two texts, at most `max_lines` lines (`None`: all).
pub fn unified_diff(
    old: &str,
    new: &str,
    old_name: &str,
    new_name: &str,
    max_lines: Option<usize>,
) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header(old_name, new_name)
        .to_string();
    match max_lines {
        Some(max) if text.lines().count() > max => {
            let total = text.lines().count();
            let mut cut: String = text.lines().take(max).map(|l| format!("{l}\n")).collect();
            cut.push_str(&format!("… {} more lines of diff\n", total - max));
            cut
        }
        _ => text,
    }
}

/// Writes `text` to `path` through a temporary file, so that a file is whole or absent.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, path)
}

/// What the stage did with one corpus file's snapshot.
#[derive(Default)]
struct Tally {
    unchanged: usize,
    changed: Vec<(String, usize)>,
    recorded: usize,
    missing: usize,
    accepted: usize,
    events_changed: usize,
}

pub fn run(subject: &mut Subject, options: &VerifyOptions) -> StageReport {
    if subject.plugin.is_none() {
        return StageReport::skipped(Stage::Snapshot, "the plugin did not load");
    }
    let corpus = &options.corpus;
    if subject.corpus_results.len() != corpus.events.len() {
        return StageReport::skipped(Stage::Snapshot, "the corpus stage did not run");
    }
    let mode = options.snapshots;
    let plugin_name = subject
        .manifest
        .as_ref()
        .map_or_else(|| subject.source.display_name(), |m| m.name.clone());
    let dir = subject.source.dir().join(SNAPSHOT_DIR);
    let results: Vec<EventResult> = subject
        .corpus_results
        .iter()
        .map(|ingested| ingested.result.clone())
        .collect();
    let bodies = snapshot_bodies(&corpus.events, &results, &corpus.files);
    let mut findings = Vec::new();
    let mut tally = Tally::default();
    let mut wanted = BTreeSet::new();
    let index_of: BTreeMap<(&Path, usize), usize> = corpus
        .events
        .iter()
        .enumerate()
        .map(|(index, sourced)| ((&*sourced.file, sourced.line), index))
        .collect();
    let mut changed_events: Vec<Value> = Vec::new();

    for (corpus_file, body) in &bodies {
        let path = snapshot_path(&dir, corpus_file);
        wanted.insert(path.clone());
        let pending = pending_path(&path);
        let file_name = corpus_file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let text = render_file(
            &file_name,
            &format!("{plugin_name}: each event of {file_name} (by line) as the plugin leaves it"),
            body,
        );
        let events = body.as_object().map_or(0, Map::len);
        let write = |target: &Path, findings: &mut Vec<Finding>| {
            if let Err(e) = write_atomically(target, &text) {
                findings.push(Finding::new(
                    RULE_WRITE,
                    format!("{}: {e}", target.display()),
                ));
            }
        };
        let remove_pending = || {
            let _ = std::fs::remove_file(&pending);
        };

        if !path.exists() {
            match mode {
                SnapshotMode::Check => {
                    tally.missing += 1;
                    findings.push(
                        Finding::new(
                            RULE_NEW,
                            format!(
                                "{}: no snapshot yet ({events} events); record it with `cargo xtask verify --accept` and commit it",
                                path.display()
                            ),
                        )
                        .at(file_location(&path)),
                    );
                }
                SnapshotMode::Review | SnapshotMode::Accept => {
                    write(&path, &mut findings);
                    remove_pending();
                    tally.recorded += 1;
                }
            }
            continue;
        }

        let old = read_snapshot(&path).and_then(|file| file.entries(&path));
        let new_entries = body.as_object().cloned().unwrap_or_default();
        let old_entries = match old {
            Ok(entries) => entries,
            Err(error) => {
                match mode {
                    SnapshotMode::Accept => {
                        write(&path, &mut findings);
                        remove_pending();
                        tally.accepted += 1;
                    }
                    SnapshotMode::Review => {
                        write(&pending, &mut findings);
                        findings.push(
                            Finding::new(
                                RULE_INVALID,
                                format!(
                                    "{error}; wrote {} with what the plugin does now",
                                    pending.display()
                                ),
                            )
                            .at(file_location(&path)),
                        );
                    }
                    SnapshotMode::Check => {
                        findings.push(
                            Finding::new(RULE_INVALID, error.to_string()).at(file_location(&path)),
                        );
                    }
                }
                continue;
            }
        };
        let changed = changed_entries(&old_entries, &new_entries);
        if changed.is_empty() {
            tally.unchanged += 1;
            if mode != SnapshotMode::Check {
                remove_pending();
            }
            continue;
        }
        tally.events_changed += changed.len();
        if mode == SnapshotMode::Accept {
            write(&path, &mut findings);
            remove_pending();
            tally.accepted += 1;
            continue;
        }
        tally.changed.push((file_name.clone(), changed.len()));
        for key in &changed {
            if changed_events.len() >= MAX_CHANGED_EVENTS_KEPT {
                break;
            }
            let Ok(line) = key.trim_start_matches("line ").parse::<usize>() else {
                continue;
            };
            let Some(&index) = index_of.get(&(corpus_file.as_path(), line)) else {
                continue;
            };
            let output = match &results[index].disposition {
                Disposition::Emitted { event } => event.clone(),
                Disposition::Dropped { .. } => Value::Null,
            };
            changed_events.push(serde_json::json!({
                "file": corpus_file,
                "line": line,
                "input": corpus.events[index].event,
                "output": output,
                "before": old_entries.get(key).cloned().unwrap_or(Value::Null),
                "now": new_entries.get(key).cloned().unwrap_or(Value::Null),
            }));
        }
        let diff = unified_diff(
            &render_body(&Value::Object(old_entries)),
            &render_body(body),
            &path.display().to_string(),
            "now",
            Some(MAX_DIFF_LINES),
        );
        let named: Vec<&str> = changed
            .iter()
            .take(MAX_LINES_NAMED)
            .map(|key| key.trim_start_matches("line "))
            .collect();
        let more = if changed.len() > MAX_LINES_NAMED {
            ", …"
        } else {
            ""
        };
        let action = if mode == SnapshotMode::Review {
            write(&pending, &mut findings);
            format!(
                "; wrote {}: review it with `cargo xtask review`, or accept all with `cargo xtask verify --accept`",
                pending.display()
            )
        } else {
            "; nothing written (CI): run `cargo xtask verify` locally and review".into()
        };
        let mut finding = Finding::new(
            RULE_CHANGED,
            format!(
                "{}: {} of {events} events changed (lines {}{more}){action}\n{}",
                path.display(),
                changed.len(),
                named.join(", "),
                diff.trim_end()
            ),
        )
        .at(file_location(&path));
        finding.occurrences = changed.len() as u64;
        finding.examples = changed
            .iter()
            .take(crate::model::EXAMPLES_PER_FINDING)
            .filter_map(|key| {
                let line: usize = key.trim_start_matches("line ").parse().ok()?;
                Some(Example {
                    location: Location {
                        file: Some(corpus_file.clone()),
                        line: Some(line),
                        ..Location::default()
                    },
                    message: "the plugin's output for this event changed".into(),
                })
            })
            .collect();
        findings.push(finding);
    }

    // Snapshots of corpus files that are gone.
    let mut stale = 0;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.extension().is_none_or(|e| e != SNAPSHOT_EXTENSION) || wanted.contains(&path) {
                continue;
            }
            stale += 1;
            if mode == SnapshotMode::Accept {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(pending_path(&path));
            } else {
                let finding = Finding::new(
                    RULE_STALE,
                    format!(
                        "{}: no corpus file of that name; delete it, or run `cargo xtask verify --accept`",
                        path.display()
                    ),
                )
                .at(file_location(&path));
                findings.push(finding);
            }
        }
    }

    let mut parts = vec![format!("{} unchanged", tally.unchanged)];
    if !tally.changed.is_empty() {
        let named: Vec<String> = tally
            .changed
            .iter()
            .map(|(file, n)| format!("{} ({n})", file.trim_end_matches(".jsonl")))
            .collect();
        parts.push(format!(
            "{} changed: {}",
            tally.changed.len(),
            named.join(", ")
        ));
    }
    if tally.missing > 0 {
        parts.push(format!("{} missing", tally.missing));
    }
    if tally.recorded > 0 {
        parts.push(format!("{} recorded", tally.recorded));
    }
    if tally.accepted > 0 {
        parts.push(format!("{} accepted", tally.accepted));
    }
    if stale > 0 {
        parts.push(format!(
            "{stale} stale{}",
            if mode == SnapshotMode::Accept {
                " (deleted)"
            } else {
                ""
            }
        ));
    }
    let summary = format!(
        "{} snapshots in {}: {}; {} of {} events changed",
        bodies.len(),
        dir.display(),
        parts.join(", "),
        tally.events_changed,
        corpus.events.len()
    );
    let mut stage = StageReport::new(Stage::Snapshot, summary, findings);
    for (key, value) in [
        ("snapshots", bodies.len()),
        ("unchanged", tally.unchanged),
        ("changed", tally.changed.len()),
        ("missing", tally.missing),
        ("recorded", tally.recorded),
        ("accepted", tally.accepted),
        ("stale", stale),
        ("eventsChanged", tally.events_changed),
    ] {
        stage.metrics.insert(key.into(), value.into());
    }
    if !changed_events.is_empty() {
        stage
            .metrics
            .insert("changedEvents".into(), Value::Array(changed_events));
    }
    stage
}

fn file_location(path: &Path) -> Location {
    Location {
        file: Some(path.to_owned()),
        ..Location::default()
    }
}

/// A snapshot waiting for review: `<name>.snap.new` beside `<name>.snap` (which may not exist).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSnapshot {
    pub snapshot: PathBuf,
    pub pending: PathBuf,
}

impl PendingSnapshot {
    /// A unified diff from the accepted snapshot (or nothing) to the pending one. JSON bodies
    /// are compared as rendered, so that only changed values show.
    pub fn diff(&self) -> Result<String, SnapshotError> {
        let new = read_snapshot(&self.pending)?;
        let old = if self.snapshot.exists() {
            Some(read_snapshot(&self.snapshot)?)
        } else {
            None
        };
        let normal = |file: &SnapshotFile, path: &Path| match file.json(path) {
            Ok(value) => render_body(&value) + "\n",
            Err(_) => file.body.clone(),
        };
        let new_text = normal(&new, &self.pending);
        let old_text = old
            .as_ref()
            .map_or_else(String::new, |file| normal(file, &self.snapshot));
        Ok(unified_diff(
            &old_text,
            &new_text,
            &self.snapshot.display().to_string(),
            &self.pending.display().to_string(),
            None,
        ))
    }

    /// Makes the pending snapshot the accepted one.
    pub fn accept(&self) -> std::io::Result<()> {
        std::fs::rename(&self.pending, &self.snapshot)
    }

    /// Throws the pending snapshot away.
    pub fn reject(&self) -> std::io::Result<()> {
        std::fs::remove_file(&self.pending)
    }
}

/// The pending snapshots (`*.snap.new`) in `dirs` (each a snapshot directory, or a directory
/// whose `snapshots/` subdirectory is one), sorted by path.
pub fn pending_snapshots(dirs: &[PathBuf]) -> Vec<PendingSnapshot> {
    let mut found = Vec::new();
    for dir in dirs {
        for candidate in [dir.clone(), dir.join(SNAPSHOT_DIR)] {
            let Ok(entries) = std::fs::read_dir(&candidate) else {
                continue;
            };
            for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                let name = path.to_string_lossy();
                if let Some(snapshot) = name.strip_suffix(".new")
                    && name.ends_with(PENDING_SUFFIX)
                {
                    found.push(PendingSnapshot {
                        snapshot: PathBuf::from(snapshot),
                        pending: path.clone(),
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| a.pending.cmp(&b.pending));
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_body_is_expanded_three_levels_deep() {
        let body = json!({"line 1": {"outcome": "emitted", "set": {"/properties/a": {"b": [1, 2]}, "/x": []}}, "line 2": {"outcome": "dropped"}});
        assert_eq!(
            render_body(&body),
            r#"{
  "line 1": {
    "outcome": "emitted",
    "set": {
      "/properties/a": {"b":[1,2]},
      "/x": []
    }
  },
  "line 2": {
    "outcome": "dropped"
  }
}"#
        );
    }

    #[test]
    fn delta_names_pointers_set_and_removed() {
        let (set, removed) = delta(
            &json!({"event": "a", "properties": {"u": "X/", "ip": "1", "a/b": 1}}),
            &json!({"event": "b", "properties": {"u": "x", "a/b": 1, "new": [1]}}),
        );
        assert_eq!(
            Value::Object(set),
            json!({"/event": "b", "/properties/u": "x", "/properties/new": [1]})
        );
        assert_eq!(removed, [json!("/properties/ip")]);
    }

    #[test]
    fn files_round_trip_and_broken_ones_name_the_line() {
        let path = Path::new("p/snapshots/a.snap");
        let text = render_file(
            "a.jsonl",
            "p: a",
            &json!({"line 1": {"outcome": "dropped"}}),
        );
        let file = SnapshotFile::parse(path, &text).unwrap();
        assert_eq!(file.header, ["source: \"a.jsonl\"", "expression: \"p: a\""]);
        assert_eq!(file.body_line, 5);
        assert_eq!(
            file.entries(path).unwrap()["line 1"],
            json!({"outcome": "dropped"})
        );

        let broken = text.replace("\"dropped\"", "dropped");
        let err = SnapshotFile::parse(path, &broken)
            .unwrap()
            .entries(path)
            .unwrap_err();
        assert_eq!(err.line, 7, "{err}");
        assert!(
            err.to_string()
                .starts_with("p/snapshots/a.snap:7: not JSON: expected value"),
            "{err}"
        );

        let err = SnapshotFile::parse(path, "{}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "p/snapshots/a.snap:1: not a snapshot: the first line must be `---`"
        );
        let err = SnapshotFile::parse(path, "---\nsource: x\n").unwrap_err();
        assert_eq!(err.line, 2);
        let not_entries = text
            .replace("{\"outcome\": \"dropped\"}", "3")
            .replace("{\n    \"outcome\": \"dropped\"\n  }", "3");
        let err = SnapshotFile::parse(path, &not_entries)
            .unwrap()
            .entries(path)
            .unwrap_err();
        assert_eq!(err.line, 6, "{err}");
    }

    #[test]
    fn changed_entries_are_listed_in_order() {
        let old = json!({"line 1": {"a": 1}, "line 2": {"a": 2}, "line 3": {"a": 3}});
        let new = json!({"line 1": {"a": 1}, "line 2": {"a": 20}, "line 4": {"a": 4}});
        assert_eq!(
            changed_entries(old.as_object().unwrap(), new.as_object().unwrap()),
            ["line 2", "line 4", "line 3"]
        );
    }
}
