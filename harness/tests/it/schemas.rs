//! The event schemas under `schemas/` and `harness::schema`: every schema compiles, a table of
//! events that must pass and must fail (with the JSON pointer), the corpus validates, broken
//! schemas are one-line errors naming the file, and plugins' declared schemas are enforced on
//! their outputs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use harness::corpus::{Corpus, SourcedEvent};
use harness::manifest::Manifest;
use harness::model::Severity;
use harness::schema::{self, EventSchemas, Violation};
use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schemas_dir() -> PathBuf {
    workspace().join("schemas")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas")
}

fn schemas() -> &'static EventSchemas {
    static SCHEMAS: OnceLock<EventSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| EventSchemas::load(&schemas_dir()).unwrap_or_else(|e| panic!("{e}")))
}

/// A custom event with every envelope field.
fn event() -> Value {
    json!({
        "event": "order completed",
        "distinct_id": "user-1",
        "uuid": "0b8f6b7e-3c1b-4f5e-9a8e-2f3c4d5e6f70",
        "team_id": 13,
        "timestamp": "2024-03-05T14:22:31.123Z",
        "ip": "203.0.113.7",
        "site_url": "https://us.i.posthog.com",
        "now": "2024-03-05T14:22:33.000Z",
        "sent_at": "2024-03-05T14:22:32.500Z",
        "properties": { "amount": 12.5 }
    })
}

/// `event()` named `name`, with `properties`.
fn typed(name: &str, properties: Value) -> Value {
    let mut event = event();
    event["event"] = json!(name);
    event["properties"] = properties;
    event
}

/// `event` with the top-level fields of `changes` set (`null` removes the field).
fn with(mut event: Value, changes: Value) -> Value {
    let object = event.as_object_mut().unwrap();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.clone(), value.clone());
        }
    }
    event
}

fn all_schema_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_schema_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
}

#[test]
fn every_schema_file_is_a_valid_draft_2020_12_schema_and_compiles() {
    let mut files = Vec::new();
    all_schema_files(&schemas_dir(), &mut files);
    assert!(files.len() >= 6, "{files:?}");
    let mut documents = Vec::new();
    for file in &files {
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            schema["$schema"],
            json!("https://json-schema.org/draft/2020-12/schema"),
            "{}",
            file.display()
        );
        if let Err(error) = jsonschema::meta::validate(&schema) {
            panic!("{}: {error}", file.display());
        }
        // Known by its `$id`, or else by its path.
        let uri = match schema["$id"].as_str() {
            Some(id) => id.to_owned(),
            None => format!("file://{}", file.canonicalize().unwrap().display()),
        };
        documents.push((file, uri, schema));
    }
    // Each compiles with the others there for its `$ref`s (and nothing else: no network).
    let registry = jsonschema::Registry::new()
        .extend(
            documents
                .iter()
                .map(|(_, uri, schema)| (uri.as_str(), schema)),
        )
        .unwrap()
        .prepare()
        .unwrap_or_else(|e| panic!("schemas/: {e}"));
    for (file, uri, schema) in &documents {
        if let Err(error) = jsonschema::options()
            .should_validate_formats(true)
            .with_registry(&registry)
            .with_base_uri(uri.as_str())
            .build(schema)
        {
            panic!("{}: {error}", file.display());
        }
    }
}

#[test]
fn the_event_schemas_are_documented_and_all_used() {
    let loaded = EventSchemas::load(&schemas_dir()).unwrap();
    let files = loaded.files();
    assert!(files[0].ends_with(schema::EVENT_SCHEMA_FILE), "{files:?}");
    let names: Vec<&str> = files[1..]
        .iter()
        .map(|f| f.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "autocapture.schema.json",
            "dead_click.schema.json",
            "exception.schema.json",
            "groupidentify.schema.json",
            "heatmap.schema.json",
            "identify.schema.json",
            "pageview.schema.json",
            "rageclick.schema.json",
            "snapshot.schema.json",
            "web_vitals.schema.json"
        ]
    );
    for file in files {
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        assert!(schema["$id"].is_string(), "{}: $id", file.display());
        let mut undocumented = Vec::new();
        undocumented_properties(&schema, "", &mut undocumented);
        assert!(
            undocumented.is_empty(),
            "{}: no title or description at {undocumented:?}",
            file.display()
        );
    }
}

/// Pointers of the schema's root and of every property declared under `properties` that lack
/// a title or a description.
fn undocumented_properties(schema: &Value, at: &str, missing: &mut Vec<String>) {
    let Some(object) = schema.as_object() else {
        return;
    };
    if at.is_empty() && !(object.contains_key("title") && object.contains_key("description")) {
        missing.push("(root)".into());
    }
    for (key, value) in object {
        let here = format!("{at}/{key}");
        if key == "properties"
            && let Some(properties) = value.as_object()
        {
            for (name, property) in properties {
                let documented = property.get("title").is_some_and(Value::is_string)
                    && property.get("description").is_some_and(Value::is_string);
                if !documented {
                    missing.push(format!("{here}/{name}"));
                }
                undocumented_properties(property, &format!("{here}/{name}"), missing);
            }
        } else if key == "if" {
            // A condition, not a declaration.
        } else if value.is_object() {
            undocumented_properties(value, &here, missing);
        } else if let Some(items) = value.as_array() {
            for (i, item) in items.iter().enumerate() {
                undocumented_properties(item, &format!("{here}/{i}"), missing);
            }
        }
    }
}

#[test]
fn events_that_must_pass() {
    let cases: Vec<(&str, Value)> = vec![
        ("a custom event", event()),
        (
            "only the required fields",
            with(
                event(),
                json!({"ip": null, "site_url": null, "now": null, "sent_at": null}),
            ),
        ),
        ("ip null", with(event(), json!({"ip": Value::Null}))),
        (
            "extra top-level fields",
            with(
                event(),
                json!({"offset": 150, "$lib": "web", "elements": []}),
            ),
        ),
        ("empty properties", with(event(), json!({"properties": {}}))),
        (
            "upper-case uuid, lower-case t and z, time zone offsets, nanoseconds",
            with(
                event(),
                json!({"uuid": "E0000000-0000-4000-8000-000000000034",
                       "timestamp": "2024-06-01t12:00:00.000z",
                       "now": "2024-06-01T17:30:00.123456789+05:30",
                       "sent_at": "2024-06-01T04:00:00-08:00"}),
            ),
        ),
        (
            "$set and $set_once on any event",
            with(event(), json!({"$set": {"plan": "pro"}, "$set_once": {}})),
        ),
        (
            "$pageview",
            typed(
                "$pageview",
                json!({"$current_url": "https://App.example.COM/a/?q=1#x"}),
            ),
        ),
        (
            "$identify linking an anonymous id",
            typed(
                "$identify",
                json!({"$anon_distinct_id": "018f0000-0000-7000-8000-000000000001"}),
            ),
        ),
        (
            "$identify with top-level $set",
            with(
                typed("$identify", json!({})),
                json!({"$set": {"email": "a@b.c"}}),
            ),
        ),
        (
            "$identify with only $set_once",
            with(typed("$identify", json!({})), json!({"$set_once": {}})),
        ),
        (
            "$identify with $set in properties",
            typed("$identify", json!({"$set": {"email": "a@b.c"}})),
        ),
        (
            "$groupidentify",
            typed(
                "$groupidentify",
                json!({"$group_type": "company", "$group_key": "acme", "$group_set": {"plan": "pro"}}),
            ),
        ),
        (
            "$groupidentify without $group_set (PostHog takes it as empty)",
            typed(
                "$groupidentify",
                json!({"$group_type": "company", "$group_key": "acme"}),
            ),
        ),
        (
            "$autocapture with $elements",
            typed(
                "$autocapture",
                json!({"$event_type": "click", "$elements": [{"tag_name": "button", "$el_text": "Buy"}, {"tag_name": "body"}]}),
            ),
        ),
        (
            "$autocapture with $elements_chain",
            typed(
                "$autocapture",
                json!({"$elements_chain": "button.btn:text=\"Buy\";body"}),
            ),
        ),
        (
            "$snapshot",
            typed(
                "$snapshot",
                json!({"$snapshot_data": {"type": 4, "data": {}}, "$session_id": "s1", "$window_id": null}),
            ),
        ),
        (
            "$snapshot with a list of rrweb events",
            typed(
                "$snapshot",
                json!({"$snapshot_data": [{"type": 3}], "$session_id": "s1"}),
            ),
        ),
        (
            "a server-side $pageview without $current_url (posthog-node sends it, PostHog ingests it)",
            typed(
                "$pageview",
                json!({"path": "/api/render", "$lib": "posthog-node", "$is_server": true}),
            ),
        ),
        (
            "a $pageview without $lib or $current_url",
            typed("$pageview", json!({"title": "Checkout"})),
        ),
        (
            "$exception with an $exception_list (posthog-js and posthog-node)",
            typed(
                "$exception",
                json!({"$exception_list": [{"type": "TypeError", "value": "x is undefined",
                    "mechanism": {"handled": false}, "stacktrace": {"type": "raw", "frames": []}}],
                    "$exception_level": "error"}),
            ),
        ),
        (
            "$exception as older posthog-js sent it, and with an empty message",
            typed(
                "$exception",
                json!({"$exception_type": "Error", "$exception_message": "",
                    "$exception_list": [{"type": "Error", "value": ""}]}),
            ),
        ),
        (
            "$web_vitals with one metric",
            typed(
                "$web_vitals",
                json!({"$web_vitals_CLS_value": 0, "$web_vitals_CLS_event": {"name": "CLS"}}),
            ),
        ),
        (
            "$rageclick with an elements chain",
            typed(
                "$rageclick",
                json!({"$event_type": "click", "$elements_chain": "button.btn:text=\"Go\""}),
            ),
        ),
        (
            "$dead_click with elements",
            typed(
                "$dead_click",
                json!({"$elements": [{"tag_name": "span"}], "$dead_click_absolute_timeout": true}),
            ),
        ),
        (
            "$$heatmap",
            typed(
                "$$heatmap",
                json!({"$heatmap_data": {"https://a.example/": [{"x": 1, "y": 2.5, "type": "click", "target_fixed": false}]},
                    "$viewport_width": 1280}),
            ),
        ),
        (
            "an event type with no schema of its own",
            typed("$pageleave", json!({"$current_url": null})),
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, event)| {
            let violations = schemas().validate(event);
            (!violations.is_empty()).then(|| format!("{name}: {violations:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn events_that_must_fail_name_the_pointer() {
    // (what, event, [(pointer, a part of the message, the schema file's name)])
    type Expected = Vec<(&'static str, &'static str, &'static str)>;
    let cases: Vec<(&str, Value, Expected)> = vec![
        (
            "missing distinct_id",
            with(event(), json!({"distinct_id": null})),
            vec![(
                "",
                "\"distinct_id\" is a required property",
                "event.schema.json",
            )],
        ),
        (
            "empty distinct_id",
            with(event(), json!({"distinct_id": ""})),
            vec![(
                "/distinct_id",
                "shorter than 1 character",
                "event.schema.json",
            )],
        ),
        (
            "numeric distinct_id",
            with(event(), json!({"distinct_id": 42})),
            vec![(
                "/distinct_id",
                "42 is not of type \"string\"",
                "event.schema.json",
            )],
        ),
        (
            "missing event, uuid, team_id, timestamp and properties",
            json!({"distinct_id": "d"}),
            vec![
                ("", "\"event\" is a required property", "event.schema.json"),
                (
                    "",
                    "\"properties\" is a required property",
                    "event.schema.json",
                ),
                (
                    "",
                    "\"team_id\" is a required property",
                    "event.schema.json",
                ),
                (
                    "",
                    "\"timestamp\" is a required property",
                    "event.schema.json",
                ),
                ("", "\"uuid\" is a required property", "event.schema.json"),
            ],
        ),
        (
            "empty event name",
            with(event(), json!({"event": ""})),
            vec![("/event", "shorter than 1 character", "event.schema.json")],
        ),
        (
            "properties a string",
            with(event(), json!({"properties": "{\"a\":1}"})),
            vec![(
                "/properties",
                "is not of type \"object\"",
                "event.schema.json",
            )],
        ),
        (
            "properties a string on a $pageview (said once, not by both schemas)",
            typed("$pageview", json!("oops")),
            vec![(
                "/properties",
                "\"oops\" is not of type \"object\"",
                "event.schema.json",
            )],
        ),
        (
            "bad uuid",
            with(event(), json!({"uuid": "abc"})),
            vec![("/uuid", "\"abc\" is not a \"uuid\"", "event.schema.json")],
        ),
        (
            "uuid without hyphens",
            with(event(), json!({"uuid": "0b8f6b7e3c1b4f5e9a8e2f3c4d5e6f70"})),
            vec![("/uuid", "is not a \"uuid\"", "event.schema.json")],
        ),
        (
            "timestamp without a time",
            with(event(), json!({"timestamp": "2024-03-05"})),
            vec![("/timestamp", "is not a \"date-time\"", "event.schema.json")],
        ),
        (
            "timestamp without a time zone",
            with(event(), json!({"timestamp": "2024-03-05T14:22:31"})),
            vec![("/timestamp", "is not a \"date-time\"", "event.schema.json")],
        ),
        (
            "timestamp as epoch milliseconds",
            with(event(), json!({"timestamp": 1709648551123_i64})),
            vec![(
                "/timestamp",
                "is not of type \"string\"",
                "event.schema.json",
            )],
        ),
        (
            "sent_at and now not date-times",
            with(
                event(),
                json!({"sent_at": "yesterday", "now": "2024-13-01T00:00:00Z"}),
            ),
            vec![
                ("/now", "is not a \"date-time\"", "event.schema.json"),
                ("/sent_at", "is not a \"date-time\"", "event.schema.json"),
            ],
        ),
        (
            "team_id a string",
            with(event(), json!({"team_id": "13"})),
            vec![(
                "/team_id",
                "is not of type \"integer\"",
                "event.schema.json",
            )],
        ),
        (
            "team_id a fraction",
            with(event(), json!({"team_id": 1.5})),
            vec![(
                "/team_id",
                "is not of type \"integer\"",
                "event.schema.json",
            )],
        ),
        (
            "team_id zero",
            with(event(), json!({"team_id": 0})),
            vec![(
                "/team_id",
                "less than the minimum of 1",
                "event.schema.json",
            )],
        ),
        (
            "ip a number, site_url an array, offset a string",
            with(event(), json!({"ip": 127, "site_url": [], "offset": "5"})),
            vec![
                (
                    "/ip",
                    "127 is not of types \"null\", \"string\"",
                    "event.schema.json",
                ),
                ("/offset", "is not of type \"integer\"", "event.schema.json"),
                (
                    "/site_url",
                    "is not of type \"string\"",
                    "event.schema.json",
                ),
            ],
        ),
        (
            "$set a string",
            with(event(), json!({"$set": "email=a@b.c", "$set_once": []})),
            vec![
                ("/$set", "is not of type \"object\"", "event.schema.json"),
                (
                    "/$set_once",
                    "is not of type \"object\"",
                    "event.schema.json",
                ),
            ],
        ),
        (
            "$pageview from posthog-js without $current_url",
            typed("$pageview", json!({"$pathname": "/a", "$lib": "web"})),
            vec![(
                "/properties",
                "\"$current_url\" is a required property",
                "pageview.schema.json",
            )],
        ),
        (
            "$pageview with a numeric $current_url",
            typed("$pageview", json!({"$current_url": 42})),
            vec![(
                "/properties/$current_url",
                "42 is not of type \"string\"",
                "pageview.schema.json",
            )],
        ),
        (
            "a server-side $pageview with an empty $current_url and a numeric $lib",
            typed("$pageview", json!({"$current_url": "", "$lib": 5})),
            vec![
                (
                    "/properties/$current_url",
                    "shorter than 1 character",
                    "pageview.schema.json",
                ),
                (
                    "/properties/$lib",
                    "5 is not of type \"string\"",
                    "pageview.schema.json",
                ),
            ],
        ),
        (
            "$exception with neither an exception list nor a type",
            typed("$exception", json!({"$exception_level": "error"})),
            vec![(
                "/properties",
                "matches none of the alternatives: \"$exception_list\" is a required property; or \"$exception_type\" is a required property",
                "exception.schema.json",
            )],
        ),
        (
            "$exception with an empty list, and one without a message",
            typed(
                "$exception",
                json!({"$exception_list": [], "$exception_type": "Error"}),
            ),
            vec![(
                "/properties/$exception_list",
                "[] has less than 1 item",
                "exception.schema.json",
            )],
        ),
        (
            "$exception whose exception has no message",
            typed(
                "$exception",
                json!({"$exception_list": [{"type": "Error"}]}),
            ),
            vec![(
                "/properties/$exception_list/0",
                "\"value\" is a required property",
                "exception.schema.json",
            )],
        ),
        (
            "$web_vitals without a metric",
            typed(
                "$web_vitals",
                json!({"$web_vitals_LCP_event": {"name": "LCP"}}),
            ),
            vec![(
                "/properties",
                "matches none of the alternatives",
                "web_vitals.schema.json",
            )],
        ),
        (
            "$web_vitals with a negative value and a measurement that is not an object",
            typed(
                "$web_vitals",
                json!({"$web_vitals_FCP_value": -1, "$web_vitals_FCP_event": 3}),
            ),
            vec![
                (
                    "/properties/$web_vitals_FCP_event",
                    "3 is not of type \"object\"",
                    "web_vitals.schema.json",
                ),
                (
                    "/properties/$web_vitals_FCP_value",
                    "less than the minimum of 0",
                    "web_vitals.schema.json",
                ),
            ],
        ),
        (
            "$rageclick without elements",
            typed("$rageclick", json!({"$event_type": "click"})),
            vec![(
                "/properties",
                "\"$elements\" is a required property; or \"$elements_chain\" is a required property",
                "autocapture.schema.json",
            )],
        ),
        (
            "$dead_click with an empty chain",
            typed("$dead_click", json!({"$elements_chain": ""})),
            vec![(
                "/properties/$elements_chain",
                "shorter than 1 character",
                "autocapture.schema.json",
            )],
        ),
        (
            "$$heatmap without $heatmap_data",
            typed("$$heatmap", json!({"$viewport_width": 1280})),
            vec![(
                "/properties",
                "\"$heatmap_data\" is a required property",
                "heatmap.schema.json",
            )],
        ),
        (
            "$$heatmap with a point without y",
            typed(
                "$$heatmap",
                json!({"$heatmap_data": {"https://a.example/": [{"x": 1, "type": "click"}]}}),
            ),
            vec![(
                "/properties/$heatmap_data/https:~1~1a.example~1/0",
                "\"y\" is a required property",
                "heatmap.schema.json",
            )],
        ),
        (
            "$autocapture with neither elements field",
            typed("$autocapture", json!({"$event_type": "click"})),
            vec![(
                "/properties",
                "matches none of the alternatives: \"$elements\" is a required property; or \"$elements_chain\" is a required property",
                "autocapture.schema.json",
            )],
        ),
        (
            "$autocapture with an empty chain",
            typed("$autocapture", json!({"$elements_chain": ""})),
            vec![(
                "/properties/$elements_chain",
                "shorter than 1 character",
                "autocapture.schema.json",
            )],
        ),
        (
            "$autocapture with an element without a tag",
            typed(
                "$autocapture",
                json!({"$elements": [{"tag_name": "a"}, {"$el_text": "x"}]}),
            ),
            vec![(
                "/properties/$elements/1",
                "\"tag_name\" is a required property",
                "autocapture.schema.json",
            )],
        ),
        (
            "$identify that neither links nor sets anything",
            typed("$identify", json!({"$browser": "Chrome"})),
            vec![(
                "",
                "the event matches none of the alternatives: \"$set\" is a required property; or \"$set_once\" is a required property; or /properties: \"$anon_distinct_id\" is a required property",
                "identify.schema.json",
            )],
        ),
        (
            "$identify with a numeric $anon_distinct_id",
            typed("$identify", json!({"$anon_distinct_id": 5})),
            vec![(
                "/properties/$anon_distinct_id",
                "5 is not of type \"string\"",
                "identify.schema.json",
            )],
        ),
        (
            "$groupidentify without $group_key, with $group_set a string",
            typed(
                "$groupidentify",
                json!({"$group_type": "company", "$group_set": "x"}),
            ),
            vec![
                (
                    "/properties",
                    "\"$group_key\" is a required property",
                    "groupidentify.schema.json",
                ),
                (
                    "/properties/$group_set",
                    "is not of type \"object\"",
                    "groupidentify.schema.json",
                ),
            ],
        ),
        (
            "$snapshot without $session_id",
            typed("$snapshot", json!({"$snapshot_data": {"type": 4}})),
            vec![(
                "/properties",
                "\"$session_id\" is a required property",
                "snapshot.schema.json",
            )],
        ),
        (
            "$snapshot with an empty $session_id and data a string",
            typed(
                "$snapshot",
                json!({"$snapshot_data": "{}", "$session_id": ""}),
            ),
            vec![
                (
                    "/properties/$session_id",
                    "shorter than 1 character",
                    "snapshot.schema.json",
                ),
                (
                    "/properties/$snapshot_data",
                    "\"{}\" is not of types \"array\", \"object\"",
                    "snapshot.schema.json",
                ),
            ],
        ),
        (
            "not an object (said once, not by every event type's schema)",
            json!(["$pageview"]),
            vec![(
                "",
                "[\"$pageview\"] is not of type \"object\"",
                "event.schema.json",
            )],
        ),
        (
            "a long offending value is summarised",
            with(event(), json!({"distinct_id": {"id": "x".repeat(500)}})),
            vec![(
                "/distinct_id",
                "an object with 1 property is not of type \"string\"",
                "event.schema.json",
            )],
        ),
    ];
    let mut failures = Vec::new();
    for (name, event, expected) in &cases {
        let mut violations = schemas().validate(event);
        violations.sort_by(|a, b| (&a.pointer, &a.message).cmp(&(&b.pointer, &b.message)));
        let matches = violations.len() == expected.len()
            && violations
                .iter()
                .zip(expected)
                .all(|(v, (pointer, message, schema))| {
                    v.pointer == *pointer
                        && v.message.contains(message)
                        && v.schema.ends_with(schema)
                        && !v.message.contains('\n')
                });
        if !matches {
            failures.push(format!(
                "{name}: expected {expected:?}, got {violations:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn violations_read_as_pointer_message_and_schema() {
    let violations = schemas().validate(&with(event(), json!({"uuid": "abc"})));
    let line = violations[0].to_string();
    assert!(
        line.starts_with("/uuid: \"abc\" is not a \"uuid\" ("),
        "{line}"
    );
    assert!(line.ends_with("event.schema.json)"), "{line}");
    let missing = schemas().validate(&with(event(), json!({"distinct_id": null})));
    assert!(
        missing[0]
            .to_string()
            .starts_with("\"distinct_id\" is a required property ("),
        "{}",
        missing[0]
    );
}

#[test]
fn every_corpus_event_validates() {
    let corpus_dir = workspace().join("corpus");
    let corpus = Corpus::load(&corpus_dir).unwrap_or_else(|e| {
        panic!("the corpus must be there (generate it with `cargo xtask corpus generate`): {e}")
    });
    assert!(
        !corpus.events.is_empty(),
        "no events in {}",
        corpus_dir.display()
    );
    let started = Instant::now();
    let results: Vec<(&SourcedEvent, Vec<Violation>)> = corpus
        .events
        .iter()
        .map(|sourced| (sourced, schemas().validate(&sourced.event)))
        .collect();
    let elapsed = started.elapsed();
    eprintln!(
        "validated {} corpus events in {:.1} ms: {:.1} µs per event",
        corpus.events.len(),
        elapsed.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64() * 1e6 / corpus.events.len() as f64
    );
    let invalid: Vec<String> = results
        .iter()
        .filter(|(_, violations)| !violations.is_empty())
        .map(|(sourced, violations)| {
            let list: Vec<String> = violations.iter().map(Violation::to_string).collect();
            format!("{}: {}", sourced.location(), list.join("; "))
        })
        .collect();
    assert!(
        invalid.is_empty(),
        "{} of {} corpus events do not match the event schemas:\n{}",
        invalid.len(),
        corpus.events.len(),
        invalid.join("\n")
    );
    // And check_corpus, which `verify` runs before judging plugins, agrees.
    schema::check_corpus(schemas(), &corpus).unwrap();
}

#[test]
fn check_corpus_names_file_line_and_pointer_of_the_first_invalid_event() {
    let dir = tempfile::tempdir().unwrap();
    let line = |event: &Value| serde_json::to_string(event).unwrap();
    std::fs::write(dir.path().join("a.jsonl"), format!("{}\n", line(&event()))).unwrap();
    std::fs::write(
        dir.path().join("b.jsonl"),
        format!(
            "{}\n{}\n\n{}\n",
            line(&event()),
            line(&with(event(), json!({"uuid": "abc"}))),
            line(&typed("$pageview", json!({"$lib": "web"}))),
        ),
    )
    .unwrap();
    let corpus = Corpus::load(dir.path()).unwrap();
    let error = schema::check_corpus(schemas(), &corpus)
        .unwrap_err()
        .to_string();
    let expected = format!(
        "{}:2: /uuid: \"abc\" is not a \"uuid\" (",
        dir.path().join("b.jsonl").display()
    );
    assert!(error.starts_with(&expected), "{error}");
    assert!(
        error.ends_with("; 1 more corpus events do not match the event schemas"),
        "{error}"
    );
    assert!(!error.contains('\n'), "{error}");

    std::fs::write(dir.path().join("b.jsonl"), format!("{}\n", line(&event()))).unwrap();
    let corpus = Corpus::load(dir.path()).unwrap();
    schema::check_corpus(schemas(), &corpus).unwrap();
}

/// A copy of `schemas/` to break.
fn schemas_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    all_schema_files(&schemas_dir(), &mut files);
    for file in files {
        let to = dir.path().join(file.strip_prefix(schemas_dir()).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file, &to).unwrap();
    }
    dir
}

fn edit(path: &Path, change: impl FnOnce(&mut Value)) {
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    change(&mut schema);
    std::fs::write(path, serde_json::to_string_pretty(&schema).unwrap()).unwrap();
}

#[test]
fn broken_event_schemas_are_one_line_errors_naming_the_file() {
    type Breakage = fn(&Path);
    let cases: Vec<(&str, Breakage, &str, &str)> = vec![
        (
            "base schema not JSON",
            |dir| {
                std::fs::write(
                    dir.join("event.schema.json"),
                    "{\n  \"type\": \"object\",\n  oops\n}",
                )
                .unwrap()
            },
            "event.schema.json:3:3: ",
            "key must be a string",
        ),
        (
            "per-event schema not JSON",
            |dir| std::fs::write(dir.join("events/pageview.schema.json"), "").unwrap(),
            "events/pageview.schema.json:1:0: ",
            "EOF while parsing",
        ),
        (
            "not a valid schema",
            |dir| {
                edit(&dir.join("events/snapshot.schema.json"), |s| {
                    s["type"] = json!(12)
                })
            },
            "events/snapshot.schema.json: ",
            "not a valid JSON Schema at /type: ",
        ),
        (
            "a $ref to nowhere in the base schema",
            |dir| {
                edit(&dir.join("event.schema.json"), |s| {
                    s["allOf"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!({"$ref": "events/nowhere.schema.json"}))
                })
            },
            "event.schema.json: ",
            "unresolved $ref",
        ),
        (
            "a $ref to nowhere in a per-event schema",
            |dir| {
                edit(&dir.join("events/identify.schema.json"), |s| {
                    s["properties"]["$set"] = json!({"$ref": "#/$defs/missing"})
                })
            },
            "events/identify.schema.json: ",
            "unresolved $ref",
        ),
        (
            "a $ref to the network",
            |dir| {
                edit(&dir.join("events/pageview.schema.json"), |s| {
                    s["allOf"] = json!([{"$ref": "https://json-schema.example/never.json"}])
                })
            },
            "events/pageview.schema.json: ",
            "https://json-schema.example/never.json",
        ),
        (
            "a per-event schema the base schema does not use",
            |dir| {
                std::fs::write(
                    dir.join("events/screen.schema.json"),
                    r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}"#,
                )
                .unwrap()
            },
            "events/screen.schema.json: ",
            "not used: ",
        ),
        (
            "two schemas with one $id",
            |dir| {
                edit(&dir.join("events/snapshot.schema.json"), |s| {
                    s["$id"] =
                        json!("https://posthog-harness.local/schemas/events/pageview.schema.json")
                })
            },
            "events/snapshot.schema.json: ",
            "has the same $id as ",
        ),
        (
            "no base schema",
            |dir| std::fs::remove_file(dir.join("event.schema.json")).unwrap(),
            "event.schema.json: ",
            "No such file",
        ),
    ];
    for (name, breakage, file, message) in cases {
        let dir = schemas_copy();
        breakage(dir.path());
        let error = match EventSchemas::load(dir.path()) {
            Ok(_) => panic!("{name}: loaded"),
            Err(error) => error.to_string(),
        };
        let expected = format!("{}", dir.path().join(file).display());
        assert!(error.starts_with(&expected), "{name}: {error}");
        assert!(error.contains(message), "{name}: {error}");
        assert!(!error.contains('\n'), "{name}: {error}");
    }
}

fn manifest_declaring(output: &str) -> Manifest {
    Manifest::parse(
        Path::new("plugin.json"),
        &json!({"name": "p", "schemas": {"output": output}}).to_string(),
    )
    .unwrap()
}

#[test]
fn broken_plugin_schemas_are_one_line_errors_naming_the_file() {
    let plugin_dir = fixtures().join("bad-plugin");
    let cases = [
        (
            "schemas/not-json.schema.json",
            "schemas/not-json.schema.json:1:21: key must be a string",
        ),
        (
            "schemas/not-a-schema.schema.json",
            "schemas/not-a-schema.schema.json: not a valid JSON Schema at /type: ",
        ),
        (
            "schemas/ref-to-nowhere.schema.json",
            "schemas/ref-to-nowhere.schema.json: unresolved $ref to https://posthog-harness.local/plugin/schemas/nowhere.schema.json: ",
        ),
        (
            "schemas/remote-ref.schema.json",
            "schemas/remote-ref.schema.json: unresolved $ref to https://example.com/schemas/event.schema.json: neither one of",
        ),
        (
            "schemas/missing.schema.json",
            "schemas/missing.schema.json: No such file",
        ),
        (
            "../locale-plugin/schemas/output.schema.json",
            "must be a path inside the plugin directory",
        ),
        (
            "/etc/hostname",
            "must be a path inside the plugin directory",
        ),
    ];
    for (declared, expected) in cases {
        let error = match schemas().plugin_schemas(&manifest_declaring(declared), &plugin_dir) {
            Ok(_) => panic!("{declared}: compiled"),
            Err(error) => error,
        };
        assert!(error.contains(expected), "{declared}: {error}");
        assert!(!error.contains('\n'), "{declared}: {error}");
        if !declared.starts_with('/') {
            let file = plugin_dir.join(declared).display().to_string();
            assert!(error.starts_with(&file), "{declared}: {error}");
        }
    }
}

#[test]
fn a_plugin_without_declared_schemas_accepts_everything() {
    let manifest = Manifest::parse(Path::new("plugin.json"), r#"{"name": "p"}"#).unwrap();
    let declared = schemas()
        .plugin_schemas(&manifest, Path::new("/nowhere"))
        .unwrap();
    assert!(declared.validate_input(&json!(1)).is_empty());
    assert!(declared.validate_output(&json!(1)).is_empty());
}

#[test]
fn the_manifest_declares_schemas_in_camel_case_and_rejects_unknown_keys() {
    let manifest = Manifest::parse(
        Path::new("plugin.json"),
        r#"{"name": "p", "schemas": {"input": "in.json"}}"#,
    )
    .unwrap();
    let declared = manifest.schemas.as_ref().unwrap();
    assert_eq!(declared.input.as_deref(), Some("in.json"));
    assert_eq!(declared.output, None);
    assert_eq!(
        serde_json::to_value(&manifest).unwrap()["schemas"],
        json!({"input": "in.json"})
    );
    let without = Manifest::parse(Path::new("plugin.json"), r#"{"name": "p"}"#).unwrap();
    assert!(
        serde_json::to_value(&without)
            .unwrap()
            .get("schemas")
            .is_none()
    );
    let err = Manifest::parse(
        Path::new("plugin.json"),
        r#"{"name": "p", "schemas": {"outputs": "out.json"}}"#,
    )
    .unwrap_err();
    assert!(err.contains("unknown field `outputs`"), "{err}");
}

fn locale_plugin() -> harness::schema::PluginSchemas {
    let dir = fixtures().join("locale-plugin");
    let manifest = Manifest::parse(
        &dir.join("plugin.json"),
        &std::fs::read_to_string(dir.join("plugin.json")).unwrap(),
    )
    .unwrap();
    schemas().plugin_schemas(&manifest, &dir).unwrap()
}

#[test]
fn a_declared_output_schema_is_enforced_with_refs_to_the_event_schema_and_plugin_files() {
    let plugin = locale_plugin();
    assert!(
        plugin
            .output_file()
            .unwrap()
            .ends_with("schemas/output.schema.json")
    );
    let good = typed(
        "$pageview",
        json!({"$current_url": "https://a.example/", "locale": "de-DE"}),
    );
    assert_eq!(plugin.validate_output(&good), []);

    // Its own requirement.
    let without_locale = typed("$pageview", json!({"$current_url": "https://a.example/"}));
    let violations = plugin.validate_output(&without_locale);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].pointer, "/properties");
    assert_eq!(violations[0].message, "\"locale\" is a required property");
    assert!(
        violations[0]
            .schema
            .ends_with("locale-plugin/schemas/output.schema.json")
    );

    // A file of the plugin it refers to, named as the schema that rejected the value.
    let bad_locale = typed("custom", json!({"locale": "German"}));
    let violations = plugin.validate_output(&bad_locale);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].pointer, "/properties/locale");
    assert!(
        violations[0]
            .schema
            .ends_with("locale-plugin/schemas/locale.schema.json"),
        "{violations:?}"
    );

    // The event schema it builds on.
    let violations = plugin.validate_output(&with(good.clone(), json!({"uuid": "abc"})));
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].pointer, "/uuid");
    assert!(
        violations[0].schema.ends_with("schemas/event.schema.json"),
        "{violations:?}"
    );

    // The input schema is separate.
    assert_eq!(plugin.validate_input(&good).len(), 1);
    assert_eq!(
        plugin.validate_input(&typed("x", json!({"$browser_language": "de-DE"}))),
        []
    );
}

fn sourced(line: usize, event: Value) -> SourcedEvent {
    SourcedEvent {
        file: Arc::from(Path::new("corpus/test.jsonl")),
        line,
        event,
    }
}

#[test]
fn output_findings_count_events_per_rule_and_point_into_the_output() {
    let plugin = locale_plugin();
    let input = |n: usize| {
        let mut event = typed(
            "$pageview",
            json!({"$current_url": "https://a.example/", "$lib": "web"}),
        );
        event["uuid"] = json!(format!("00000000-0000-4000-8000-{n:012}"));
        sourced(n, event)
    };
    let sources: Vec<SourcedEvent> = (1..=6).map(input).collect();
    let localised = |source: &SourcedEvent| {
        let mut output = source.event.clone();
        output["properties"]["locale"] = json!("de-DE");
        output
    };
    let outputs: Vec<Value> = vec![
        // 1: fine.
        localised(&sources[0]),
        // 2: removes distinct_id.
        with(localised(&sources[1]), json!({"distinct_id": null})),
        // 3: sets properties to a string.
        with(
            localised(&sources[2]),
            json!({"properties": "locale=de-DE"}),
        ),
        // 4: forgets the locale it promised.
        sources[3].event.clone(),
        // 5: drops the $current_url a posthog-js $pageview needs.
        {
            let mut output = localised(&sources[4]);
            output["properties"]
                .as_object_mut()
                .unwrap()
                .remove("$current_url");
            output
        },
        // 6: fine.
        localised(&sources[5]),
    ];
    let pairs: Vec<(&SourcedEvent, &Value)> = sources.iter().zip(&outputs).collect();
    let findings = schema::output_findings(schemas(), &plugin, &pairs);
    let rules: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(
        rules,
        [schema::RULE_OUTPUT_INVALID, schema::RULE_OUTPUT_CONTRACT]
    );

    let invalid = &findings[0];
    assert_eq!(invalid.severity, Severity::Error);
    assert_eq!(invalid.occurrences, 3);
    assert_eq!(invalid.examples.len(), 3);
    assert!(
        invalid.message.starts_with("3 of 6 output events break the event schemas; first: \"distinct_id\" is a required property"),
        "{}",
        invalid.message
    );
    let example = &invalid.examples[0];
    assert_eq!(
        example.location.file.as_deref(),
        Some(Path::new("corpus/test.jsonl"))
    );
    assert_eq!(example.location.line, Some(2));
    assert_eq!(example.location.pointer.as_deref(), Some(""));
    assert_eq!(
        example.location.uuid.as_deref(),
        Some("00000000-0000-4000-8000-000000000002")
    );
    assert_eq!(invalid.location.as_ref(), Some(&example.location));
    let properties = &invalid.examples[1];
    assert_eq!(properties.location.line, Some(3));
    assert_eq!(properties.location.pointer.as_deref(), Some("/properties"));
    assert!(
        properties
            .message
            .starts_with("/properties: \"locale=de-DE\" is not of type \"object\" ("),
        "{}",
        properties.message
    );
    let current_url = &invalid.examples[2];
    assert!(
        current_url
            .message
            .starts_with("/properties: \"$current_url\" is a required property ("),
        "{}",
        current_url.message
    );
    assert!(
        current_url.message.contains("pageview.schema.json"),
        "{}",
        current_url.message
    );

    // The output schema builds on the event schema, so the events that break that break it too.
    let contract = &findings[1];
    assert_eq!(contract.occurrences, 4, "{contract:#?}");
    let lines: Vec<Option<usize>> = contract.examples.iter().map(|e| e.location.line).collect();
    assert_eq!(lines, [Some(2), Some(3), Some(4)]);
    assert!(
        contract
            .message
            .contains("output events break the plugin's output schema")
            && contract
                .message
                .contains("locale-plugin/schemas/output.schema.json"),
        "{}",
        contract.message
    );
    assert!(
        contract.examples[2]
            .message
            .starts_with("/properties: \"locale\" is a required property ("),
        "{}",
        contract.examples[2].message
    );
}

#[test]
fn output_findings_blame_a_plugin_only_for_what_it_broke() {
    let plugin = harness::schema::PluginSchemas::default();
    // The source already breaks the schema; passing it through (or changing the bad value) is
    // not the plugin's doing. Breaking something else is.
    let source = sourced(7, with(event(), json!({"uuid": "not-a-uuid"})));
    let passed_through = source.event.clone();
    let changed_value = with(source.event.clone(), json!({"uuid": "still-not-a-uuid"}));
    let broke_more = with(source.event.clone(), json!({"team_id": "13"}));
    let pairs = [(&source, &passed_through), (&source, &changed_value)];
    assert_eq!(schema::output_findings(schemas(), &plugin, &pairs), []);
    let findings = schema::output_findings(schemas(), &plugin, &[(&source, &broke_more)]);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].occurrences, 1);
    assert_eq!(
        findings[0].examples[0].location.pointer.as_deref(),
        Some("/team_id")
    );
    assert_eq!(schema::output_findings(schemas(), &plugin, &[]), []);
}
