//! `plugin.json` checks: the document against `schemas/plugin.schema.json` (compiled once per
//! process), then what a schema cannot say: semantic versions and ranges, unique config keys,
//! choice and json defaults, secrets without defaults, required fields without values, and
//! limits under the harness's ceilings. The checks read the JSON value, not the typed
//! [`crate::manifest::Manifest`], so they report everything they can even when the manifest
//! would not parse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use semver::{Version, VersionReq};
use serde_json::Value;

use super::{Sink, at, rule, sanitize};
use crate::manifest::Capabilities;
use crate::model::Location;
use crate::model::limits::{EffectiveLimits, Limits};

/// The manifest schema's text, embedded at build time.
const PLUGIN_SCHEMA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../schemas/plugin.schema.json"
));

/// At most this many schema violations are reported one by one; the rest are counted.
const MAX_SCHEMA_FINDINGS: usize = 20;
/// Values quoted in messages are cut to this many characters.
const MAX_QUOTED_CHARS: usize = 60;

/// What the manifest declares that the component checks need.
#[derive(Clone, Debug)]
pub(super) struct Declared {
    pub manifest_path: PathBuf,
    /// `None` when `capabilities` is not readable (a schema finding says why): the component's
    /// imports are then not compared with it.
    pub capabilities: Option<Capabilities>,
    /// The limits the plugin runs under: the defaults, lowered by the manifest, capped at the
    /// ceilings.
    pub limits: EffectiveLimits,
}

/// `schemas/plugin.schema.json`, compiled once per process (draft 2020-12, formats asserted).
pub fn plugin_schema() -> &'static Validator {
    static SCHEMA: OnceLock<Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // The schema is part of the harness, and a test compiles it: failing here is a bug.
        let schema: Value =
            serde_json::from_str(PLUGIN_SCHEMA).expect("schemas/plugin.schema.json is JSON");
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("schemas/plugin.schema.json is a valid draft 2020-12 schema")
    })
}

/// Checks the manifest; returns what the component checks need to know from it.
pub(super) fn check(path: &Path, text: &str, sink: &mut Sink) -> Declared {
    let unknown = Declared {
        manifest_path: path.to_owned(),
        capabilities: None,
        limits: Limits::default().effective(),
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            sink.add(
                rule::MANIFEST_NOT_JSON,
                format!("plugin.json is not JSON: {error}"),
                Location {
                    file: Some(path.to_owned()),
                    line: Some(error.line()).filter(|line| *line > 0),
                    ..Location::default()
                },
            );
            return unknown;
        }
    };
    check_schema(path, &value, sink);
    let Some(object) = value.as_object() else {
        return unknown;
    };
    check_versions(path, object, sink);
    let fields = check_config(path, object, sink);
    check_verify_config(path, object, &fields, sink);
    let limits = check_limits(path, object, sink);
    let capabilities = match object.get("capabilities") {
        None => Some(Capabilities::default()),
        Some(value) => serde_json::from_value(value.clone()).ok(),
    };
    if let Some(config) = object.get("config").and_then(Value::as_array) {
        sink.metric("configFields", config.len());
    }
    Declared {
        manifest_path: path.to_owned(),
        capabilities,
        limits: limits.effective(),
    }
}

fn check_schema(path: &Path, value: &Value, sink: &mut Sink) {
    let validator = plugin_schema();
    if validator.is_valid(value) {
        return;
    }
    let secret_defaults = secret_default_pointers(value);
    let mut violations: Vec<(String, String)> = Vec::new();
    for error in validator.iter_errors(value) {
        let pointer = error.instance_path().to_string();
        match error.kind() {
            // Point at each unexpected property rather than at the object holding it.
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    violations.push((
                        format!("{pointer}/{}", escape_pointer(name)),
                        format!(
                            "unknown field `{}` (not in schemas/plugin.schema.json; check the spelling)",
                            sanitize(name, MAX_QUOTED_CHARS)
                        ),
                    ));
                }
            }
            _ => {
                // Never quote a value that may be a secret.
                let hide =
                    secret_defaults.contains(&pointer) || pointer.starts_with("/verifyConfig");
                violations.push((pointer, describe(&error, hide)));
            }
        }
    }
    let total = violations.len();
    for (pointer, message) in violations.into_iter().take(MAX_SCHEMA_FINDINGS) {
        sink.add(rule::MANIFEST_SCHEMA, message, at(Some(path), pointer));
    }
    if total > MAX_SCHEMA_FINDINGS {
        sink.add(
            rule::MANIFEST_SCHEMA,
            format!(
                "{} more schema violations not shown",
                total - MAX_SCHEMA_FINDINGS
            ),
            at(Some(path), ""),
        );
    }
}

/// Pointers to the `default` of every secret config field.
fn secret_default_pointers(value: &Value) -> BTreeSet<String> {
    value
        .get("config")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, field)| field.get("secret") == Some(&Value::Bool(true)))
        .map(|(index, _)| format!("/config/{index}/default"))
        .collect()
}

/// A schema violation as one line; long or hidden values are replaced by a description.
fn describe(error: &ValidationError<'_>, hide_value: bool) -> String {
    let message = error.to_string();
    if !hide_value && message.chars().count() <= 160 {
        return sanitize(&message, 160);
    }
    let stand_in = match error.instance().as_ref() {
        Value::Object(_) => "the object",
        Value::Array(_) => "the array",
        Value::String(_) => "the string",
        Value::Number(_) => "the number",
        Value::Bool(_) => "the boolean",
        Value::Null => "null",
    };
    sanitize(&error.masked_with(stand_in).to_string(), 160)
}

fn check_versions(path: &Path, object: &serde_json::Map<String, Value>, sink: &mut Sink) {
    if let Some(version) = object.get("version").and_then(Value::as_str)
        && !version.is_empty()
        && let Err(error) = Version::parse(version)
    {
        sink.add(
            rule::MANIFEST_VERSION,
            format!(
                "`version` {} is not a semantic version ({error}): write MAJOR.MINOR.PATCH, e.g. \"1.0.0\"",
                quote(version)
            ),
            at(Some(path), "/version"),
        );
    }
    if let Some(main) = object.get("main").and_then(Value::as_str) {
        let named = Path::new(main);
        let leaves = named.is_absolute()
            || named
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir));
        if leaves {
            sink.add(
                rule::MANIFEST_MAIN,
                format!(
                    "`main` {} is not inside the plugin directory (an absolute path or `..`): name the component file relative to plugin.json",
                    quote(main)
                ),
                at(Some(path), "/main"),
            );
        }
    }
    if let Some(range) = object.get("posthogVersion").and_then(Value::as_str)
        && !range.is_empty()
        && let Err(error) = parse_version_range(range)
    {
        sink.add(
            rule::MANIFEST_POSTHOG_VERSION,
            format!(
                "`posthogVersion` {} is not a semver range ({error}): write e.g. \">= 1.25.0\" or \">=1.25.0, <2\"",
                quote(range)
            ),
            at(Some(path), "/posthogVersion"),
        );
    }
}

/// Parses a PostHog-style version range: semver requirements (`>= 1.25.0`, `>=1.2, <2`),
/// npm-style space-separated comparators (`>=1.2.0 <2`), alternatives joined by `||`.
pub(super) fn parse_version_range(text: &str) -> Result<Vec<VersionReq>, String> {
    text.split("||")
        .map(|alternative| {
            let alternative = alternative.trim();
            VersionReq::parse(alternative)
                .or_else(|error| {
                    let comparators = join_comparators(alternative);
                    VersionReq::parse(&comparators).map_err(|_| error)
                })
                .map_err(|error| error.to_string())
        })
        .collect()
}

/// `>= 1.2.0 < 2` as `>=1.2.0, <2`: an operator alone is glued to the version after it.
fn join_comparators(text: &str) -> String {
    let mut comparators: Vec<String> = Vec::new();
    let mut pending_operator = String::new();
    for token in text.split_whitespace() {
        if token.chars().all(|c| "<>=~^".contains(c)) {
            pending_operator.push_str(token);
        } else {
            comparators.push(format!("{}{token}", std::mem::take(&mut pending_operator)));
        }
    }
    if !pending_operator.is_empty() {
        comparators.push(pending_operator);
    }
    comparators.join(", ")
}

/// A config field as the checks need it.
pub(super) struct Field {
    pub index: usize,
    pub field_type: String,
    pub choices: Option<Vec<String>>,
}

/// Checks each config field; returns the fields by key (the first of duplicates).
fn check_config(
    path: &Path,
    object: &serde_json::Map<String, Value>,
    sink: &mut Sink,
) -> BTreeMap<String, Field> {
    let mut fields: BTreeMap<String, Field> = BTreeMap::new();
    let Some(config) = object.get("config").and_then(Value::as_array) else {
        return fields;
    };
    let verify_config = object.get("verifyConfig").and_then(Value::as_object);
    for (index, field) in config.iter().enumerate() {
        let Some(field) = field.as_object() else {
            continue;
        };
        let pointer = format!("/config/{index}");
        let key = field.get("key").and_then(Value::as_str);
        let shown = key.map_or_else(
            || format!("#{index}"),
            |k| format!("`{}`", sanitize(k, MAX_QUOTED_CHARS)),
        );
        let field_type = field
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("string")
            .to_owned();
        let default = field.get("default").and_then(Value::as_str);
        let choices: Option<Vec<String>> =
            field
                .get("choices")
                .and_then(Value::as_array)
                .map(|choices| {
                    choices
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                });
        let flag = |name: &str| field.get(name) == Some(&Value::Bool(true));

        if let Some(key) = key {
            match fields.get(key) {
                Some(first) => {
                    sink.add(
                        rule::MANIFEST_DUPLICATE_CONFIG_KEY,
                        format!(
                            "config key {shown} is used twice (also at /config/{}): each field needs its own key",
                            first.index
                        ),
                        at(Some(path), format!("{pointer}/key")),
                    );
                }
                None => {
                    fields.insert(
                        key.to_owned(),
                        Field {
                            index,
                            field_type: field_type.clone(),
                            choices: choices.clone(),
                        },
                    );
                }
            }
        }

        if field_type == "choice" {
            match &choices {
                Some(choices) if !choices.is_empty() => {
                    if let Some(default) = default
                        && !choices.iter().any(|choice| choice == default)
                    {
                        sink.add(
                            rule::MANIFEST_CHOICE_DEFAULT,
                            format!(
                                "the default {} of choice field {shown} is not one of its choices ({}): make it one of them",
                                quote(default),
                                list_choices(choices)
                            ),
                            at(Some(path), format!("{pointer}/default")),
                        );
                    }
                }
                _ => {
                    sink.add(
                        rule::MANIFEST_CHOICE_WITHOUT_CHOICES,
                        format!(
                            "choice field {shown} has no `choices`: list the values the user may pick"
                        ),
                        at(Some(path), pointer.clone()),
                    );
                }
            }
        } else if choices.is_some() {
            sink.add(
                rule::MANIFEST_CHOICES_WITHOUT_CHOICE_TYPE,
                format!(
                    "field {shown} lists `choices` but its type is `{}`, so PostHog shows a free-text field: set `\"type\": \"choice\"` or remove `choices`",
                    sanitize(&field_type, MAX_QUOTED_CHARS)
                ),
                at(Some(path), format!("{pointer}/choices")),
            );
        }

        if field_type == "json"
            && let Some(default) = default
            && let Err(error) = serde_json::from_str::<Value>(default)
        {
            sink.add(
                rule::MANIFEST_JSON_DEFAULT,
                format!(
                    "the default of json field {shown} is not JSON text ({error}); write it as a JSON document in a string, e.g. \"{{\\\"a\\\": 1}}\""
                ),
                at(Some(path), format!("{pointer}/default")),
            );
        }

        if flag("secret") && default.is_some() {
            sink.add(
                rule::MANIFEST_SECRET_DEFAULT,
                format!(
                    "secret field {shown} has a default, which would publish the secret with the plugin: remove it (the user gives the value at install time; put a placeholder in `verifyConfig` for verifying)"
                ),
                at(Some(path), format!("{pointer}/default")),
            );
        }

        let verify_value = key.and_then(|key| verify_config.and_then(|values| values.get(key)));
        if flag("required") && default.is_none() && verify_value.is_none() {
            sink.add(
                rule::MANIFEST_REQUIRED_CONFIG,
                format!(
                    "required field {shown} has no default: it needs a value when the plugin is installed, and verifying runs without one (give one in `verifyConfig`)"
                ),
                at(Some(path), pointer.clone()),
            );
        }
    }
    fields
}

fn check_verify_config(
    path: &Path,
    object: &serde_json::Map<String, Value>,
    fields: &BTreeMap<String, Field>,
    sink: &mut Sink,
) {
    let Some(values) = object.get("verifyConfig").and_then(Value::as_object) else {
        return;
    };
    let has_config = object.get("config").is_some_and(Value::is_array);
    for (key, value) in values {
        let pointer = format!("/verifyConfig/{}", escape_pointer(key));
        let shown = sanitize(key, MAX_QUOTED_CHARS);
        let Some(field) = fields.get(key) else {
            if has_config || object.get("config").is_none() {
                sink.add(
                    rule::MANIFEST_VERIFY_CONFIG_UNKNOWN_KEY,
                    format!(
                        "`verifyConfig` gives a value for `{shown}`, but no config field has that key: the plugin never sees it (check the spelling)"
                    ),
                    at(Some(path), pointer),
                );
            }
            continue;
        };
        if field.field_type == "choice"
            && let (Some(value), Some(choices)) = (value.as_str(), &field.choices)
            && !choices.is_empty()
            && !choices.iter().any(|choice| choice == value)
        {
            sink.add(
                rule::MANIFEST_VERIFY_CONFIG_CHOICE,
                format!(
                    "`verifyConfig` gives choice field `{shown}` the value {}, which is not one of its choices ({})",
                    quote(value),
                    list_choices(choices)
                ),
                at(Some(path), pointer),
            );
        }
    }
}

/// Checks `limits` against the ceilings; returns the limits as written (defaults when not
/// readable).
fn check_limits(path: &Path, object: &serde_json::Map<String, Value>, sink: &mut Sink) -> Limits {
    let Some(limits) = object
        .get("limits")
        .and_then(|value| serde_json::from_value::<Limits>(value.clone()).ok())
    else {
        return Limits::default();
    };
    for (field, asked, ceiling) in limits.over_ceiling() {
        sink.add(
            rule::MANIFEST_LIMITS_OVER_CEILING,
            format!(
                "`limits.{field}` asks for {asked}, more than the ceiling of {ceiling}: ask for at most {ceiling} (the plugin runs with the ceiling otherwise)"
            ),
            at(Some(path), format!("/limits/{field}")),
        );
    }
    limits
}

fn list_choices(choices: &[String]) -> String {
    let shown: Vec<String> = choices
        .iter()
        .take(10)
        .map(|choice| quote(choice))
        .collect();
    let more = choices.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// A value from the manifest, quoted as JSON and cut short.
fn quote(text: &str) -> String {
    Value::from(sanitize(text, MAX_QUOTED_CHARS)).to_string()
}

/// A key as one JSON pointer segment (RFC 6901).
pub(super) fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_compiles() {
        let _ = plugin_schema();
    }

    #[test]
    fn posthog_style_ranges_are_semver_ranges() {
        for range in [
            ">= 1.25.0",
            ">=1.25.0",
            ">= 1.25.0, < 2",
            ">=1.25.0 <2",
            "^1.25",
            "*",
            ">=1.2.0 || >=2.0.0",
        ] {
            assert!(parse_version_range(range).is_ok(), "{range}");
        }
        for range in ["1.25.0 and up", ">= one", "latest", ">="] {
            assert!(parse_version_range(range).is_err(), "{range}");
        }
    }

    #[test]
    fn pointer_segments_are_escaped() {
        assert_eq!(escape_pointer("a/b~c"), "a~1b~0c");
    }
}
