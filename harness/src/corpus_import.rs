//! `corpus import`: a PostHog events export turned into corpus JSONL, so that a maintainer
//! verifies plugins against their own traffic.
//!
//! Read as PostHog writes them:
//! - **JSON**: the events API's page (`{"results": [...]}`, as `GET /api/projects/:id/events/`
//!   answers), a plain array of events, or JSON lines;
//! - **CSV**: the events table's export. A `*` column holds the whole event as JSON (the
//!   default columns of PostHog's events table); otherwise the columns are the event's fields
//!   (`uuid` or `id`, `event`, `distinct_id`, `timestamp`, `team_id`, `properties` as JSON
//!   text) and `properties.NAME` columns for single properties.
//!
//! Each record becomes the event a plugin sees: `event`, `distinct_id`, `properties` (an object;
//! a JSON string is parsed), `uuid` (from `uuid` or the API's `id`), `timestamp`, `team_id`
//! (the record's, else `--team-id`), and `$set` / `$set_once`, `ip`, `site_url`, `now`,
//! `sent_at` when present; what only the API adds (`person`, `elements_chain`, `matched_recordings`)
//! is left out. Personal data is kept, dropped, or replaced by a keyed digest
//! ([`Personal`]): `$ip`, `ip`, e-mail addresses, names, phone numbers, and with hashing the
//! `distinct_id`, so that a user's events stay linked without saying who they are. A record
//! that is not an event (no `event` name, properties that are not an object) is reported with
//! its line or record number and skipped; the others carry on.

use std::path::Path;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::HarnessError;

/// What to do with personal properties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Personal {
    #[default]
    Keep,
    Drop,
    /// Replace each value by `sha256(key || value)`, hex, prefixed `hashed:`: the same input
    /// gives the same digest, so joins survive; without the key it cannot be reversed by
    /// guessing common values.
    Hash {
        key: String,
    },
}

/// Properties (and top-level fields) that identify a person.
pub const PERSONAL_PROPERTIES: [&str; 14] = [
    "$ip",
    "ip",
    "email",
    "$email",
    "name",
    "$name",
    "first_name",
    "last_name",
    "phone",
    "$phone",
    "phone_number",
    "address",
    "$geoip_latitude",
    "$geoip_longitude",
];

/// How the import is done.
#[derive(Clone, Default)]
pub struct ImportOptions {
    pub personal: Personal,
    /// `team_id` for records that have none.
    pub team_id: i64,
    /// Event schemas the imported events must pass (an event that does not is skipped, named
    /// with the JSON pointer), so that the corpus check of `verify` accepts the file.
    pub schemas: Option<std::sync::Arc<crate::schema::EventSchemas>>,
}

/// What came of an import.
#[derive(Debug, Default)]
pub struct Imported {
    pub events: Vec<Value>,
    /// One line each: the record that was skipped, and why.
    pub skipped: Vec<String>,
}

/// Reads the export at `path` (CSV when the name ends in `.csv`, else JSON).
pub fn import_file(path: &Path, options: &ImportOptions) -> Result<Imported, HarnessError> {
    let text = crate::error::read_to_string(path)?;
    let csv = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"));
    let records = if csv {
        csv_records(path, &text)?
    } else {
        json_records(path, &text)?
    };
    let mut imported = Imported::default();
    for (place, record) in records {
        let checked = to_event(record, options).and_then(|event| {
            let Some(schemas) = &options.schemas else {
                return Ok(event);
            };
            match schemas.validate(&event).into_iter().next() {
                None => Ok(event),
                Some(v) => Err(format!(
                    "breaks {} at `{}`: {}",
                    v.schema,
                    if v.pointer.is_empty() {
                        "/"
                    } else {
                        &v.pointer
                    },
                    v.message
                )),
            }
        });
        match checked {
            Ok(event) => imported.events.push(event),
            Err(why) => imported
                .skipped
                .push(format!("{}:{place}: {why}", path.display())),
        }
    }
    Ok(imported)
}

/// Records of a JSON export, each with where it was (`line N` or `record N`).
fn json_records(path: &Path, text: &str) -> Result<Vec<(String, Value)>, HarnessError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => Ok(numbered(items)),
        Ok(Value::Object(mut page)) => match page.remove("results") {
            Some(Value::Array(items)) => Ok(numbered(items)),
            _ => Ok(vec![("record 1".into(), Value::Object(page))]),
        },
        Ok(_) => Err(HarnessError::bad_file(
            path,
            "neither an array of events, an events page ({\"results\": [...]}) nor JSON lines"
                .to_owned(),
        )),
        // JSON lines: one event per line.
        Err(_) => {
            let mut records = Vec::new();
            for (index, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value = serde_json::from_str(line).map_err(|e| {
                    HarnessError::bad_file(path, format!("line {}: not JSON: {e}", index + 1))
                })?;
                records.push((format!("{}", index + 1), value));
            }
            Ok(records)
        }
    }
}

fn numbered(items: Vec<Value>) -> Vec<(String, Value)> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| (format!("record {}", index + 1), item))
        .collect()
}

/// Records of a CSV export (line numbers count the header as line 1).
fn csv_records(path: &Path, text: &str) -> Result<Vec<(String, Value)>, HarnessError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| HarnessError::bad_file(path, format!("the CSV header: {e}")))?
        .clone();
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            HarnessError::bad_file(path, format!("line {line}: {e}"))
        })?;
        let line = row.position().map_or(0, |p| p.line());
        let mut event = Map::new();
        let mut properties = Map::new();
        for (header, cell) in headers.iter().zip(row.iter()) {
            if header == "*" {
                match serde_json::from_str::<Value>(cell) {
                    Ok(Value::Object(whole)) => event.extend(whole),
                    _ => {
                        event.insert("*".into(), Value::from(cell));
                    }
                }
            } else if let Some(name) = header.strip_prefix("properties.") {
                if !cell.is_empty() {
                    properties.insert(name.to_owned(), cell_value(cell));
                }
            } else if !cell.is_empty() {
                event.insert(header.to_owned(), Value::from(cell));
            }
        }
        if !properties.is_empty() {
            let merged = event
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::String(text) = merged {
                *merged = serde_json::from_str(text).unwrap_or(Value::Object(Map::new()));
            }
            if let Value::Object(merged) = merged {
                merged.extend(properties);
            }
        }
        records.push((format!("{line}"), Value::Object(event)));
    }
    Ok(records)
}

/// A CSV cell as a property value: JSON when it is a JSON number, boolean, array or object,
/// else the text.
fn cell_value(cell: &str) -> Value {
    match serde_json::from_str::<Value>(cell) {
        Ok(value @ (Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_))) => {
            value
        }
        _ => Value::from(cell),
    }
}

/// Top-level fields kept from a record, besides those read below.
const KEPT: [&str; 6] = ["$set", "$set_once", "ip", "site_url", "now", "sent_at"];

/// The event a plugin sees, from one exported record.
fn to_event(record: Value, options: &ImportOptions) -> Result<Value, String> {
    let Value::Object(mut record) = record else {
        return Err("not a JSON object".into());
    };
    let name = match record.remove("event") {
        Some(Value::String(name)) if !name.is_empty() => name,
        _ => return Err("no `event` name".into()),
    };
    let distinct_id = match record.remove("distinct_id") {
        Some(Value::String(id)) => id,
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("no `distinct_id`".into()),
    };
    let properties = match record.remove("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(properties)) => properties,
        Some(Value::String(text)) => match serde_json::from_str(&text) {
            Ok(Value::Object(properties)) => properties,
            _ => return Err("`properties` is not a JSON object".into()),
        },
        Some(_) => return Err("`properties` is not an object".into()),
    };
    let mut event = Map::new();
    event.insert("event".into(), Value::from(name));
    event.insert(
        "distinct_id".into(),
        Value::from(match &options.personal {
            Personal::Hash { key } => digest(key, "distinct_id", &distinct_id),
            _ => distinct_id,
        }),
    );
    let uuid = record
        .remove("uuid")
        .or_else(|| record.remove("id"))
        .and_then(|v| v.as_str().map(str::to_owned));
    match uuid {
        Some(uuid) if uuid::Uuid::parse_str(&uuid).is_ok() => {
            event.insert("uuid".into(), Value::from(uuid));
        }
        Some(other) => return Err(format!("`{other}` is not a UUID")),
        None => return Err("no `uuid` (or `id`)".into()),
    }
    let team_id = match record.remove("team_id") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(text)) => text.parse().ok(),
        _ => None,
    };
    event.insert(
        "team_id".into(),
        Value::from(team_id.unwrap_or(options.team_id)),
    );
    if let Some(timestamp) = record.remove("timestamp") {
        event.insert("timestamp".into(), timestamp);
    }
    for key in KEPT {
        if let Some(value) = record.remove(key) {
            event.insert(key.into(), value);
        }
    }
    event.insert("properties".into(), Value::Object(properties));
    scrub(&mut event, &options.personal);
    Ok(Value::Object(event))
}

/// Drops or hashes the personal fields of the event, its properties, `$set` and `$set_once`.
fn scrub(event: &mut Map<String, Value>, personal: &Personal) {
    if *personal == Personal::Keep {
        return;
    }
    scrub_map(event, personal);
    for key in ["properties", "$set", "$set_once"] {
        if let Some(Value::Object(map)) = event.get_mut(key) {
            scrub_map(map, personal);
        }
    }
}

fn scrub_map(map: &mut Map<String, Value>, personal: &Personal) {
    for key in PERSONAL_PROPERTIES {
        match personal {
            Personal::Keep => {}
            Personal::Drop => {
                map.remove(key);
            }
            Personal::Hash { key: secret } => {
                if let Some(value) = map.get_mut(key)
                    && !value.is_null()
                {
                    let text = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned);
                    *value = Value::from(digest(secret, key, &text));
                }
            }
        }
    }
}

/// `hashed:` and the first 32 hex digits of sha256 over the key, the field's name and the value.
fn digest(key: &str, field: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [key, field, value] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    format!("hashed:{}", &hex::encode(hasher.finalize())[..32])
}

/// The events as corpus JSONL.
pub fn to_jsonl(events: &[Value]) -> String {
    let mut out = String::new();
    for event in events {
        out.push_str(&event.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn import(name: &str, text: &str, options: &ImportOptions) -> Imported {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        import_file(&path, options).unwrap()
    }

    const UUID: &str = "0190e0a1-1b2c-7d3e-8f40-123456789abc";

    #[test]
    fn an_events_api_page_becomes_events_a_plugin_sees() {
        let page = json!({"next": null, "results": [
            {"id": UUID, "distinct_id": "u1", "event": "$pageview", "timestamp": "2024-08-18T09:36:06.816Z",
             "properties": {"$current_url": "https://a.com/", "$ip": "1.2.3.4", "email": "a@b.c"},
             "person": {"id": 7}, "elements_chain": ""},
            {"id": UUID, "event": "no distinct id"}
        ]});
        let options = ImportOptions {
            team_id: 2,
            ..Default::default()
        };
        let imported = import("events.json", &page.to_string(), &options);
        assert_eq!(
            imported.events,
            vec![json!({
                "event": "$pageview", "distinct_id": "u1", "uuid": UUID, "team_id": 2,
                "timestamp": "2024-08-18T09:36:06.816Z",
                "properties": {"$current_url": "https://a.com/", "$ip": "1.2.3.4", "email": "a@b.c"}
            })]
        );
        assert_eq!(imported.skipped.len(), 1);
        assert!(
            imported.skipped[0].ends_with("events.json:record 2: no `distinct_id`"),
            "{:?}",
            imported.skipped
        );
    }

    #[test]
    fn a_csv_export_is_read_by_its_columns_or_its_whole_event_column() {
        let whole = json!({"uuid": UUID, "event": "signup", "distinct_id": "u2", "properties": {"plan": "pro"}, "timestamp": "2024-01-01T00:00:00Z"});
        let csv = format!(
            "*,event,timestamp\n\"{}\",signup,2024-01-01T00:00:00Z\n",
            whole.to_string().replace('"', "\"\"")
        );
        let imported = import("export.csv", &csv, &ImportOptions::default());
        assert_eq!(imported.events[0]["properties"], json!({"plan": "pro"}));
        assert_eq!(imported.events[0]["team_id"], 0);

        let columns = format!(
            "uuid,event,distinct_id,timestamp,properties.$browser,properties.$screen_width\n{UUID},$pageview,u3,2024-01-01T00:00:00Z,Chrome,1536\n{UUID},,u4,,,\n"
        );
        let imported = import("export.csv", &columns, &ImportOptions::default());
        assert_eq!(
            imported.events[0]["properties"],
            json!({"$browser": "Chrome", "$screen_width": 1536})
        );
        assert_eq!(imported.skipped.len(), 1);
        assert!(
            imported.skipped[0].contains("export.csv:3: no `event` name"),
            "{:?}",
            imported.skipped
        );
    }

    #[test]
    fn personal_data_is_dropped_or_hashed_with_a_key() {
        let line =
            json!({"uuid": UUID, "event": "e", "distinct_id": "alice@example.com", "ip": "1.2.3.4",
            "properties": {"$ip": "1.2.3.4", "email": "alice@example.com", "plan": "pro"},
            "$set": {"email": "alice@example.com", "name": "Alice"}})
            .to_string();
        let dropped = import(
            "e.jsonl",
            &line,
            &ImportOptions {
                personal: Personal::Drop,
                ..Default::default()
            },
        );
        let event = &dropped.events[0];
        assert_eq!(event["properties"], json!({"plan": "pro"}));
        assert_eq!(event["$set"], json!({}));
        assert!(event.get("ip").is_none());

        let hash = |key: &str| {
            import(
                "e.jsonl",
                &line,
                &ImportOptions {
                    personal: Personal::Hash { key: key.into() },
                    ..Default::default()
                },
            )
            .events
            .remove(0)
        };
        let (a, again, other) = (hash("k1"), hash("k1"), hash("k2"));
        let email = a["properties"]["email"].as_str().unwrap();
        assert!(
            email.starts_with("hashed:") && !email.contains("alice"),
            "{email}"
        );
        assert_eq!(a, again, "the same key gives the same digests");
        assert_ne!(a["distinct_id"], other["distinct_id"]);
        assert!(!a.to_string().contains("alice"), "{a}");
        assert_eq!(a["properties"]["plan"], "pro");
    }

    #[test]
    fn a_file_that_is_not_an_export_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "{\"event\": \"e\"}\n{not json\n").unwrap();
        let err = import_file(&path, &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.jsonl") && err.contains("line 2"), "{err}");
    }
}
