//! JSON Schemas for events: the harness's own (`schemas/event.schema.json`, which applies the
//! per-event-type schemas of `schemas/events/` by event name) and the input and output schemas
//! a plugin declares in its manifest. Every schema is compiled once (draft 2020-12 unless it
//! says otherwise, `format` asserted) and reused for every event; a violation names the JSON
//! pointer into the event and the schema file that rejected it.
//!
//! `$ref`s resolve only among the harness's schemas (by their `$id`, or by their path under
//! `schemas/`) and, for a plugin's schemas, the files inside the plugin's directory: nothing is
//! fetched from the network or read from elsewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Retrieve, Uri, ValidationError, Validator};
use serde_json::Value;

use crate::corpus::{Corpus, SourcedEvent};
use crate::error::HarnessError;
use crate::manifest::Manifest;
use crate::model::{Finding, FindingCollector, Location};

/// The base URI of the harness's schemas: `event.schema.json`'s `$id` is this plus its name,
/// and a schema under `schemas/` without an `$id` gets this plus its path.
pub const SCHEMAS_BASE_URI: &str = "https://posthog-harness.local/schemas/";
/// The base schema, in the schemas directory.
pub const EVENT_SCHEMA_FILE: &str = "event.schema.json";
/// The directory of per-event-type schemas (`*.schema.json`), in the schemas directory.
pub const EVENT_TYPE_SCHEMAS_DIR: &str = "events";
/// Rule id: an output event breaks the event schema or its event type's schema.
pub const RULE_OUTPUT_INVALID: &str = "schema/output-invalid";
/// Rule id: an output event breaks the output schema its plugin declared.
pub const RULE_OUTPUT_CONTRACT: &str = "schema/output-contract";

/// The base URI a plugin's schema file gets (plus its path in the plugin directory) when it
/// has no `$id`; `$ref`s under it are read from the plugin directory.
const PLUGIN_BASE_URI: &str = "https://posthog-harness.local/plugin/";
/// Messages longer than this show a summary of the offending value instead of all of it.
const MAX_MESSAGE_CHARS: usize = 160;

/// One way an event breaks a schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending value in the event (`""` is the whole event; for a missing
    /// property, the object that lacks it).
    pub pointer: String,
    /// One line.
    pub message: String,
    /// The schema file that rejected it.
    pub schema: String,
}

impl fmt::Display for Violation {
    /// `/uuid: "abc" is not a "uuid" (schemas/event.schema.json)`; no pointer for the whole event.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.pointer.is_empty() {
            write!(f, "{}: ", self.pointer)?;
        }
        write!(f, "{} ({})", self.message, self.schema)
    }
}

/// The harness's event schemas, compiled: `event.schema.json` and, through it, the
/// per-event-type schemas. Built once, shared by every check.
pub struct EventSchemas {
    event: CompiledSchema,
    /// Every schema of the directory, by URI, for `$ref`s from plugins' schemas.
    documents: Arc<BTreeMap<String, Value>>,
    /// File name (for violations) of every schema, by URI.
    names: Arc<BTreeMap<String, String>>,
    files: Vec<PathBuf>,
}

impl fmt::Debug for EventSchemas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSchemas")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

/// A plugin's declared schemas (`schemas.input`, `schemas.output` in `plugin.json`), compiled.
#[derive(Default)]
pub struct PluginSchemas {
    input: Option<CompiledSchema>,
    output: Option<CompiledSchema>,
}

impl fmt::Debug for PluginSchemas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginSchemas")
            .field("input", &self.input.as_ref().map(|s| &s.file))
            .field("output", &self.output.as_ref().map(|s| &s.file))
            .finish()
    }
}

/// A schema file of the harness's schemas directory, read.
struct SchemaFile {
    path: PathBuf,
    /// Its `$id`, or else `path_uri`.
    uri: String,
    /// [`SCHEMAS_BASE_URI`] plus its path in the directory.
    path_uri: String,
    schema: Value,
}

impl SchemaFile {
    fn read(dir: &Path, path: &Path) -> Result<SchemaFile, HarnessError> {
        let text = crate::error::read_to_string(path)?;
        let schema: Value = serde_json::from_str(&text)
            .map_err(|e| HarnessError::Other(crate::error::json_error(path, &e)))?;
        let relative = path.strip_prefix(dir).unwrap_or(path);
        let path_uri = format!("{SCHEMAS_BASE_URI}{}", encode_relative_path(relative));
        let uri = match declared_id(&schema) {
            Some(Ok(id)) => id,
            Some(Err(message)) => return Err(HarnessError::bad_file(path, message)),
            None => path_uri.clone(),
        };
        Ok(SchemaFile {
            path: path.to_owned(),
            uri,
            path_uri,
            schema,
        })
    }
}

/// One compiled schema and how to name the files its keywords come from.
struct CompiledSchema {
    validator: Validator,
    /// The schema's own file, for keywords with no known file.
    file: String,
    names: Arc<BTreeMap<String, String>>,
}

impl EventSchemas {
    /// Compiles the base schema and per-event schemas in `dir` (`schemas/`). A schema that is
    /// not a valid schema, a `$ref` that does not resolve: HarnessError naming the file.
    pub fn load(dir: &Path) -> Result<EventSchemas, HarnessError> {
        let base_path = dir.join(EVENT_SCHEMA_FILE);
        let mut files = vec![base_path.clone()];
        let types_dir = dir.join(EVENT_TYPE_SCHEMAS_DIR);
        if types_dir.is_dir() {
            let entries =
                std::fs::read_dir(&types_dir).map_err(|e| HarnessError::io(&types_dir, e))?;
            let mut type_files: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| {
                    path.is_file()
                        && path
                            .file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.ends_with(".schema.json"))
                })
                .collect();
            type_files.sort();
            files.extend(type_files);
        }

        // Read them all first, so that any of them can refer to any other.
        let mut documents = BTreeMap::new();
        let mut names = BTreeMap::new();
        let mut read_one = |path: &Path| -> Result<SchemaFile, HarnessError> {
            let file = SchemaFile::read(dir, path)?;
            let name = path.display().to_string();
            if let Some(earlier) = names.insert(file.uri.clone(), name.clone()) {
                return Err(HarnessError::bad_file(
                    path,
                    format!("has the same $id as {earlier}: {}", file.uri),
                ));
            }
            // A schema with an `$id` can still be reached by its path.
            names.entry(file.path_uri.clone()).or_insert(name);
            documents.insert(file.uri.clone(), file.schema.clone());
            documents
                .entry(file.path_uri.clone())
                .or_insert_with(|| file.schema.clone());
            Ok(file)
        };
        let base = read_one(&base_path)?;
        let event_types = files[1..]
            .iter()
            .map(|path| read_one(path))
            .collect::<Result<Vec<_>, _>>()?;
        let documents = Arc::new(documents);
        let names = Arc::new(names);

        // The per-event-type schemas first, so that a broken one is named rather than the base
        // schema that refers to it; then the base schema, which must use every one of them.
        for file in &event_types {
            compile(
                &file.schema,
                &file.uri,
                SchemaRetriever::new(documents.clone(), None),
            )
            .map_err(|message| HarnessError::bad_file(&file.path, message))?;
        }
        let retriever = SchemaRetriever::new(documents.clone(), None);
        let requested = retriever.requested.clone();
        let validator = compile(&base.schema, &base.uri, retriever)
            .map_err(|message| HarnessError::bad_file(&base_path, message))?;
        let requested = requested.lock().unwrap_or_else(|e| e.into_inner());
        for file in &event_types {
            if !requested.contains(&file.uri) && !requested.contains(&file.path_uri) {
                return Err(HarnessError::bad_file(
                    &file.path,
                    format!(
                        "not used: {} has no $ref to it ({})",
                        base_path.display(),
                        file.uri
                    ),
                ));
            }
        }
        Ok(EventSchemas {
            event: CompiledSchema {
                validator,
                file: base_path.display().to_string(),
                names: names.clone(),
            },
            documents,
            names,
            files,
        })
    }

    /// The schema files compiled, the base schema first.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Violations of the base and per-event schemas (empty = valid).
    pub fn validate(&self, event: &Value) -> Vec<Violation> {
        self.event.violations(event)
    }

    /// The plugin's declared schemas (manifest `schemas.input` / `schemas.output`, relative to
    /// `plugin_dir`), compiled; the error is one line naming the file (missing file, not JSON,
    /// not a valid schema, unresolved $ref).
    ///
    /// A declared schema may `$ref` the harness's schemas by their `$id` (to build on
    /// `event.schema.json`) and other files of the plugin directory by relative path.
    pub fn plugin_schemas(
        &self,
        manifest: &Manifest,
        plugin_dir: &Path,
    ) -> Result<PluginSchemas, String> {
        let Some(declared) = &manifest.schemas else {
            return Ok(PluginSchemas::default());
        };
        let compile_declared = |key: &str, relative: &Option<String>| {
            relative
                .as_deref()
                .map(|relative| self.compile_plugin_schema(key, relative, plugin_dir))
                .transpose()
        };
        Ok(PluginSchemas {
            input: compile_declared("input", &declared.input)?,
            output: compile_declared("output", &declared.output)?,
        })
    }

    fn compile_plugin_schema(
        &self,
        key: &str,
        relative: &str,
        plugin_dir: &Path,
    ) -> Result<CompiledSchema, String> {
        let path = plugin_dir.join(relative);
        let inside = Path::new(relative)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside || relative.is_empty() {
            return Err(format!(
                "{}: schemas.{key} must be a path inside the plugin directory",
                path.display()
            ));
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let schema: Value =
            serde_json::from_str(&text).map_err(|e| crate::error::json_error(&path, &e))?;
        let path_uri = format!(
            "{PLUGIN_BASE_URI}{}",
            encode_relative_path(Path::new(relative))
        );
        let uri = match declared_id(&schema) {
            Some(Ok(id)) => id,
            Some(Err(message)) => return Err(format!("{}: {message}", path.display())),
            None => path_uri,
        };
        let retriever = SchemaRetriever::new(self.documents.clone(), Some(plugin_dir.to_owned()));
        let requested = retriever.requested.clone();
        let validator = compile(&schema, &uri, retriever)
            .map_err(|message| format!("{}: {message}", path.display()))?;
        let mut names = (*self.names).clone();
        names.insert(uri, path.display().to_string());
        // The plugin's other files its `$ref`s reached.
        let requested = requested.lock().unwrap_or_else(|e| e.into_inner());
        for document in requested.iter() {
            if let Some(relative) = document
                .strip_prefix(PLUGIN_BASE_URI)
                .and_then(decode_relative_path)
            {
                names
                    .entry(document.clone())
                    .or_insert_with(|| plugin_dir.join(relative).display().to_string());
            }
        }
        Ok(CompiledSchema {
            validator,
            file: path.display().to_string(),
            names: Arc::new(names),
        })
    }
}

impl PluginSchemas {
    /// Violations of the declared input schema only (empty when none is declared).
    pub fn validate_input(&self, event: &Value) -> Vec<Violation> {
        self.input
            .as_ref()
            .map_or_else(Vec::new, |schema| schema.violations(event))
    }

    /// Violations of the declared output schema only (empty when none is declared).
    pub fn validate_output(&self, event: &Value) -> Vec<Violation> {
        self.output
            .as_ref()
            .map_or_else(Vec::new, |schema| schema.violations(event))
    }

    /// The declared input schema's file, if any.
    pub fn input_file(&self) -> Option<&str> {
        self.input.as_ref().map(|s| s.file.as_str())
    }

    /// The declared output schema's file, if any.
    pub fn output_file(&self) -> Option<&str> {
        self.output.as_ref().map(|s| s.file.as_str())
    }
}

impl CompiledSchema {
    fn violations(&self, value: &Value) -> Vec<Violation> {
        self.keyed_violations(value)
            .into_iter()
            .map(|(violation, _)| violation)
            .collect()
    }

    /// Each violation with a key that stays the same when only the offending value changes
    /// (its pointer and the keyword that failed).
    fn keyed_violations(&self, value: &Value) -> Vec<(Violation, String)> {
        if self.validator.is_valid(value) {
            return Vec::new();
        }
        let mut seen = BTreeSet::new();
        self.validator
            .iter_errors(value)
            .map(|error| {
                let keyword = error
                    .absolute_keyword_location()
                    .map_or_else(|| error.schema_path().to_string(), |uri| uri.to_string());
                let violation = Violation {
                    pointer: error.instance_path().to_string(),
                    message: describe(&error, "the event"),
                    schema: self.schema_file(&error),
                };
                let key = format!("{}\u{0}{keyword}", violation.pointer);
                (violation, key)
            })
            // The event schema and an event type's schema may say the same thing.
            .filter(|(violation, _)| {
                seen.insert((violation.pointer.clone(), violation.message.clone()))
            })
            .collect()
    }

    /// The file of the schema that holds the keyword that failed.
    fn schema_file(&self, error: &ValidationError<'_>) -> String {
        error
            .absolute_keyword_location()
            .and_then(|uri| {
                let document = uri.as_str().split('#').next().unwrap_or_default();
                self.names.get(document).cloned()
            })
            .unwrap_or_else(|| self.file.clone())
    }
}

/// Checks every corpus event once; the first invalid event is a HarnessError naming file, line
/// and JSON pointer (`corpus/x.jsonl:12: /uuid: "abc" is not a "uuid"`).
pub fn check_corpus(schemas: &EventSchemas, corpus: &Corpus) -> Result<(), HarnessError> {
    let mut first: Option<(&SourcedEvent, Violation, usize)> = None;
    let mut invalid_events = 0;
    for sourced in &corpus.events {
        let violations = schemas.validate(&sourced.event);
        if let Some(violation) = violations.first() {
            invalid_events += 1;
            if first.is_none() {
                first = Some((sourced, violation.clone(), violations.len()));
            }
        }
    }
    let Some((sourced, violation, count)) = first else {
        return Ok(());
    };
    let mut message = violation.to_string();
    if count > 1 {
        message.push_str(&format!(" (and {} more violations)", count - 1));
    }
    if invalid_events > 1 {
        message.push_str(&format!(
            "; {} more corpus events do not match the event schemas",
            invalid_events - 1
        ));
    }
    Err(HarnessError::BadLine {
        path: sourced.file.to_path_buf(),
        line: sourced.line,
        message,
    })
}

/// The schema stage's findings for one plugin's outputs: `outputs` is (source event, output
/// event) pairs. Rule `schema/output-invalid`: the output breaks the event schemas (a violation
/// the source event already had is not the plugin's doing and is left out); rule
/// `schema/output-contract`: the output breaks the plugin's declared output schema. One finding
/// per rule, counting events, with the first few as examples.
pub fn output_findings(
    schemas: &EventSchemas,
    plugin: &PluginSchemas,
    outputs: &[(&SourcedEvent, &Value)],
) -> Vec<Finding> {
    let mut invalid = FindingCollector::default();
    let mut contract = FindingCollector::default();
    for (source, output) in outputs {
        let mut violations = schemas.event.keyed_violations(output);
        if !violations.is_empty() {
            let already: BTreeSet<String> = schemas
                .event
                .keyed_violations(&source.event)
                .into_iter()
                .map(|(_, key)| key)
                .collect();
            violations.retain(|(_, key)| !already.contains(key));
        }
        add_violations(
            &mut invalid,
            RULE_OUTPUT_INVALID,
            source,
            violations.into_iter().map(|(v, _)| v).collect(),
        );
        add_violations(
            &mut contract,
            RULE_OUTPUT_CONTRACT,
            source,
            plugin.validate_output(output),
        );
    }
    let total = outputs.len();
    let declared = plugin.output_file().unwrap_or("the declared output schema");
    let message = |what: String| {
        move |finding: &Finding| {
            let at = finding.location.as_ref().map_or_else(String::new, |l| {
                l.file.as_ref().map_or_else(String::new, |file| {
                    format!(" at {}:{}", file.display(), l.line.unwrap_or(0))
                })
            });
            format!(
                "{} {what}; first: {}{at}",
                finding.occurrences, finding.message
            )
        }
    };
    let mut findings = invalid.finish(message(format!(
        "of {total} output events break the event schemas"
    )));
    findings.extend(contract.finish(message(format!(
        "of {total} output events break the plugin's output schema {declared}"
    ))));
    findings
}

/// One output event's violations of one rule, as one occurrence (its first violation).
fn add_violations(
    collector: &mut FindingCollector,
    rule: &str,
    source: &SourcedEvent,
    violations: Vec<Violation>,
) {
    let Some(first) = violations.first() else {
        return;
    };
    let mut message = first.to_string();
    if violations.len() > 1 {
        message.push_str(&format!(" (and {} more violations)", violations.len() - 1));
    }
    let location = Location {
        file: Some(source.file.to_path_buf()),
        line: Some(source.line),
        pointer: Some(first.pointer.clone()),
        uuid: source.uuid().map(str::to_owned),
    };
    collector.add(rule, &message, location);
}

/// Compiles one schema whose URI is `uri`, resolving `$ref`s with `retriever`; the error is
/// one line.
fn compile(schema: &Value, uri: &str, retriever: SchemaRetriever) -> Result<Validator, String> {
    let mut options = jsonschema::options()
        .should_validate_formats(true)
        .with_retriever(retriever);
    if declared_id(schema).is_none() {
        options = options.with_base_uri(uri);
    }
    options.build(schema).map_err(|error| match error.kind() {
        ValidationErrorKind::Referencing(jsonschema::ReferencingError::Unretrievable {
            uri,
            source,
        }) => one_line(&format!("unresolved $ref to {uri}: {source}")),
        ValidationErrorKind::Referencing(referencing) => {
            one_line(&format!("unresolved $ref: {referencing}"))
        }
        _ => {
            let at = error.instance_path().to_string();
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" at {at}")
            };
            format!(
                "not a valid JSON Schema{at}: {}",
                describe(&error, "the schema")
            )
        }
    })
}

/// The schema's `$id`, if it declares one: `Ok` if it is an absolute URI.
fn declared_id(schema: &Value) -> Option<Result<String, String>> {
    let id = schema.get("$id")?;
    Some(match id.as_str() {
        Some(id) if jsonschema::uri::from_str(id.trim_end_matches('#')).is_ok() => {
            Ok(id.trim_end_matches('#').to_owned())
        }
        _ => Err(format!("$id must be an absolute URI, not {id}")),
    })
}

/// Serves `$ref`s: the harness's schemas by URI, and (for a plugin's schema) the files of the
/// plugin's directory under [`PLUGIN_BASE_URI`]. Records what was asked for.
struct SchemaRetriever {
    documents: Arc<BTreeMap<String, Value>>,
    plugin_dir: Option<PathBuf>,
    requested: Arc<Mutex<BTreeSet<String>>>,
}

impl SchemaRetriever {
    fn new(documents: Arc<BTreeMap<String, Value>>, plugin_dir: Option<PathBuf>) -> Self {
        SchemaRetriever {
            documents,
            plugin_dir,
            requested: Arc::default(),
        }
    }
}

impl Retrieve for SchemaRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let document = uri.as_str().split('#').next().unwrap_or_default();
        self.requested
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(document.to_owned());
        if let Some(schema) = self.documents.get(document) {
            return Ok(schema.clone());
        }
        if let (Some(dir), Some(relative)) =
            (&self.plugin_dir, document.strip_prefix(PLUGIN_BASE_URI))
        {
            let relative =
                decode_relative_path(relative).ok_or("not a path inside the plugin directory")?;
            let path = dir.join(relative);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            return serde_json::from_str(&text)
                .map_err(|e| crate::error::json_error(&path, &e).into());
        }
        Err(if self.plugin_dir.is_some() {
            "neither one of the harness's schemas nor a file in the plugin directory".into()
        } else {
            "not one of the harness's schemas".into()
        })
    }
}

/// A relative path as a URI path: `/`-separated, each segment percent-encoded.
fn encode_relative_path(path: &Path) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    /// Everything but RFC 3986's unreserved characters.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let segments: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(segment) => Some(segment.to_string_lossy()),
            _ => None,
        })
        .map(|segment| utf8_percent_encode(&segment, SEGMENT).to_string())
        .collect();
    segments.join("/")
}

/// The inverse of [`encode_relative_path`]; `None` for anything that could leave the directory
/// (and for a malformed escape).
fn decode_relative_path(uri_path: &str) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for segment in uri_path.split('/') {
        // percent-encoding passes a malformed escape (`%2`, `%zz`) through; refuse it instead.
        let bytes = segment.as_bytes();
        let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
            b != b'%'
                || bytes
                    .get(i + 1..i + 3)
                    .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
        });
        if !well_formed {
            return None;
        }
        let segment = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .ok()?
            .into_owned();
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains(['/', '\\'])
        {
            return None;
        }
        path.push(segment);
    }
    Some(path)
}

/// A validation error as one line: alternatives spelled out for `anyOf`/`oneOf`, and a summary
/// of the offending value instead of all of it when that would be long (`root` names the whole
/// document: "the event", "the schema").
fn describe(error: &ValidationError<'_>, root: &str) -> String {
    let subject = || {
        if error.instance_path().as_str().is_empty() {
            root.to_owned()
        } else {
            summarize(error.instance())
        }
    };
    match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let prefix = error.instance_path().to_string();
            let alternatives: Vec<String> = context
                .iter()
                .filter_map(|branch| branch.first())
                .map(|inner| {
                    let pointer = inner.instance_path().to_string();
                    let relative = pointer.strip_prefix(&prefix).unwrap_or(&pointer);
                    let message = describe(inner, root);
                    if relative.is_empty() {
                        message
                    } else {
                        format!("{relative}: {message}")
                    }
                })
                .collect();
            one_line(&format!(
                "{} matches none of the alternatives: {}",
                subject(),
                alternatives.join("; or ")
            ))
        }
        _ => {
            let message = error.to_string();
            if message.chars().count() <= MAX_MESSAGE_CHARS {
                one_line(&message)
            } else {
                one_line(&error.masked_with(subject()).to_string())
            }
        }
    }
}

/// A short stand-in for a value in a message.
fn summarize(value: &Value) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match value {
        Value::Object(map) => format!(
            "an object with {}",
            plural(map.len(), "property", "properties")
        ),
        Value::Array(items) => format!("an array of {}", plural(items.len(), "item", "items")),
        Value::String(text) if text.chars().count() > 40 => {
            let start: String = text.chars().take(40).collect();
            format!("{}…", Value::from(start))
        }
        other => other.to_string(),
    }
}

/// `text` with line breaks turned into spaces.
fn one_line(text: &str) -> String {
    text.trim().replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_schemas_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<EventSchemas>();
        shareable::<PluginSchemas>();
    }

    #[test]
    fn relative_paths_survive_the_round_trip_through_a_uri() {
        let path = Path::new("schemas/my output/ü%.json");
        let encoded = encode_relative_path(path);
        assert_eq!(encoded, "schemas/my%20output/%C3%BC%25.json");
        assert_eq!(decode_relative_path(&encoded).as_deref(), Some(path));
    }

    #[test]
    fn uri_paths_that_could_leave_the_directory_are_refused() {
        for uri_path in [
            "../x.json",
            "a/../../x.json",
            "a//b",
            "%2E%2E/x",
            "a%2Fb",
            "a%2",
            "%FF",
        ] {
            assert_eq!(decode_relative_path(uri_path), None, "{uri_path}");
        }
    }

    #[test]
    fn long_values_are_summarised() {
        assert_eq!(
            summarize(&serde_json::json!({"a": 1})),
            "an object with 1 property"
        );
        assert_eq!(summarize(&serde_json::json!([1, 2])), "an array of 2 items");
        assert_eq!(
            summarize(&Value::from("x".repeat(50))),
            format!("\"{}\"…", "x".repeat(40))
        );
        assert_eq!(summarize(&Value::from("short")), "\"short\"");
        assert_eq!(one_line(" a\nb\r\n"), "a b");
    }
}
