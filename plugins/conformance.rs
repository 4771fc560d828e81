//! The native conformance runner the plugins' tests share: each plugin's
//! `tests/conformance.rs` includes this file (`#[path = "../../conformance.rs"] mod
//! conformance;`) and calls [`run`] for its plugin type.
//!
//! `conformance.jsonl` beside the plugin's `plugin.json` holds one case a line, restated from
//! the upstream plugin's own tests:
//!
//! ```json
//! {"case": "...", "source": "owner/repo:path#upstream test title", "config": {"key": "value"},
//!  "input": {...event...}, "expect": {"outcome": "emitted", "event": {...event...}}}
//! ```
//!
//! `expect` is `{"outcome": "emitted", "event": ...}` (the whole event as the plugin returns
//! it, without the pipeline's `$plugins_succeeded` / `$plugins_failed`), `{"outcome":
//! "dropped"}` or `{"outcome": "error"}` (setup or `process_event` fails; the pipeline keeps the
//! event as it was). An optional `differs` says why a case deliberately departs from upstream;
//! its `expect` is what this plugin does. Config values are strings, as PostHog passes them.
//!
//! [`run`] checks the file's format, then runs every case on a fresh in-memory host (with the
//! plugin's `fixtures/http.json` and `fixtures/geoip.json`, if any): setup with the case's config, one event, and the
//! outcome compared as JSON (object key order aside). It reports every failing case at once.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use posthog_plugin_sdk::{Config, Event, Map, Transform, Value, serde_json, testing};

/// The conformance file of a plugin directory.
pub const FILE: &str = "conformance.jsonl";

/// What a case expects.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    Emitted(Value),
    Dropped,
    Error,
}

/// One line of `conformance.jsonl`.
#[derive(Clone, Debug)]
pub struct Case {
    pub line: usize,
    pub name: String,
    pub source: String,
    pub config: Vec<(String, String)>,
    pub input: Value,
    pub expect: Expect,
    pub differs: Option<String>,
}

/// The plugin directory of the crate under test.
pub fn plugin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cases of `dir/conformance.jsonl`; panics naming the line of anything malformed.
pub fn read(dir: &Path) -> Vec<Case> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
    let mut names = BTreeSet::new();
    let mut cases = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let at = |message: String| -> String { format!("{}:{number}: {message}", path.display()) };
        if line.trim().is_empty() {
            panic!("{}", at("empty line".into()));
        }
        let case = parse_case(number, line).unwrap_or_else(|e| panic!("{}", at(e)));
        if !names.insert(case.name.clone()) {
            panic!("{}", at(format!("case name {:?} is used twice", case.name)));
        }
        cases.push(case);
    }
    assert!(!cases.is_empty(), "{} has no case", path.display());
    cases
}

fn parse_case(line: usize, text: &str) -> Result<Case, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("a case is a JSON object".into());
    };
    const KEYS: [&str; 6] = ["case", "source", "config", "input", "expect", "differs"];
    if let Some(key) = object.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(format!("unknown key `{key}` (one of {})", KEYS.join(", ")));
    }
    let string = |key: &str| -> Result<String, String> {
        match object.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            _ => Err(format!("`{key}` must be a non-empty string")),
        }
    };
    let name = string("case")?;
    let source = string("source")?;
    check_source(&source)?;
    let config = match object.get("config") {
        Some(Value::Object(config)) => config
            .iter()
            .map(|(key, value)| match value {
                Value::String(value) => Ok((key.clone(), value.clone())),
                other => Err(format!(
                    "config value `{key}` must be a string, as PostHog passes it, not {other}"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("`config` must be an object (`{}` for none)".into()),
    };
    let input = object.get("input").cloned().ok_or("`input` is missing")?;
    check_event(&input).map_err(|e| format!("`input`: {e}"))?;
    let expect = match object.get("expect") {
        Some(Value::Object(expect)) => parse_expect(expect)?,
        _ => return Err("`expect` must be an object".into()),
    };
    let differs = match object.get("differs") {
        None => None,
        Some(_) => Some(string("differs")?),
    };
    Ok(Case {
        line,
        name,
        source,
        config,
        input,
        expect,
        differs,
    })
}

fn parse_expect(expect: &Map<String, Value>) -> Result<Expect, String> {
    let outcome = expect.get("outcome").and_then(Value::as_str);
    let allowed: &[&str] = match outcome {
        Some("emitted") => &["outcome", "event"],
        Some("dropped" | "error") => &["outcome"],
        _ => return Err("`expect.outcome` must be \"emitted\", \"dropped\" or \"error\"".into()),
    };
    if let Some(key) = expect.keys().find(|key| !allowed.contains(&key.as_str())) {
        return Err(format!("`expect.{key}` does not go with this outcome"));
    }
    Ok(match outcome {
        Some("emitted") => {
            let event = expect.get("event").ok_or("`expect.event` is missing")?;
            check_event(event).map_err(|e| format!("`expect.event`: {e}"))?;
            for key in ["$plugins_succeeded", "$plugins_failed"] {
                if event.get("properties").and_then(|p| p.get(key)).is_some() {
                    return Err(format!(
                        "`expect.event` holds `{key}`, which the pipeline adds, not the plugin"
                    ));
                }
            }
            Expect::Emitted(event.clone())
        }
        Some("dropped") => Expect::Dropped,
        _ => Expect::Error,
    })
}

/// `owner/repo:path#title`.
fn check_source(source: &str) -> Result<(), String> {
    let well_formed = source.split_once(':').is_some_and(|(repo, rest)| {
        repo.split('/').filter(|part| !part.is_empty()).count() == 2
            && rest
                .split_once('#')
                .is_some_and(|(path, title)| !path.is_empty() && !title.trim().is_empty())
    });
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "`source` {source:?} is not `owner/repo:path#upstream test title`"
        ))
    }
}

/// The envelope of an event as the harness hands it to a plugin (schemas/event.schema.json):
/// `event`, `distinct_id`, a hyphenated `uuid`, a positive `team_id`, a `timestamp` with a time
/// zone, and `properties` an object where present.
fn check_event(event: &Value) -> Result<(), String> {
    let Value::Object(event) = event else {
        return Err("an event is a JSON object".into());
    };
    for key in ["event", "distinct_id"] {
        match event.get(key) {
            Some(Value::String(s)) if !s.is_empty() => {}
            _ => return Err(format!("`{key}` must be a non-empty string")),
        }
    }
    match event.get("uuid").and_then(Value::as_str) {
        Some(uuid) if is_uuid(uuid) => {}
        _ => return Err("`uuid` must be a hyphenated UUID".into()),
    }
    match event.get("team_id").and_then(Value::as_i64) {
        Some(team) if team >= 1 => {}
        _ => return Err("`team_id` must be a positive integer".into()),
    }
    match event.get("timestamp").and_then(Value::as_str) {
        Some(timestamp) if is_timestamp(timestamp) => {}
        _ => return Err("`timestamp` must be an RFC 3339 date-time with a time zone".into()),
    }
    match event.get("properties") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err("`properties` must be an object".into()),
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let date_time = digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && bytes.get(10) == Some(&b'T')
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
        && bytes.get(16) == Some(&b':')
        && digits(17..19);
    if !date_time {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return false;
        }
        rest = &fraction[len..];
    }
    rest == "Z"
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':'
            && rest[1..3]
                .bytes()
                .chain(rest[4..6].bytes())
                .all(|b| b.is_ascii_digit()))
}

/// Registers `dir/fixtures/http.json` (as the harness serves it) with this thread's host.
pub fn add_http_fixtures(dir: &Path) {
    let path = dir.join("fixtures").join("http.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let fixtures: Vec<Value> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a JSON list: {e}", path.display()));
    for fixture in fixtures {
        let method = fixture["request"]["method"].as_str().unwrap_or("GET");
        let url = fixture["request"]["url"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: a fixture without a url", path.display()));
        let response = &fixture["response"];
        let status = response["status"].as_u64().unwrap_or(200) as u16;
        let body = match (&response["json"], &response["body"]) {
            (Value::Null, Value::String(body)) => body.clone(),
            (Value::Null, _) => String::new(),
            (json, _) => json.to_string(),
        };
        testing::add_http_fixture(method, url, status, &body);
    }
}

/// Registers `dir/fixtures/geoip.json` (network → record, the harness builds its database from
/// it) with this thread's host.
pub fn add_geoip_fixtures(dir: &Path) {
    let path = dir.join("fixtures").join("geoip.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let networks: Map<String, Value> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a JSON object: {e}", path.display()));
    for (network, record) in networks {
        testing::set_location(&network, record);
    }
}

/// What the plugin did with a case, on a fresh host.
pub fn outcome<P: Transform>(dir: &Path, case: &Case) -> Result<Expect, String> {
    testing::reset();
    add_http_fixtures(dir);
    add_geoip_fixtures(dir);
    let config: Config = case.config.iter().cloned().collect();
    let mut plugin = match P::setup(&config) {
        Ok(plugin) => plugin,
        Err(_) => return Ok(Expect::Error),
    };
    let event = Event::from_json(&case.input.to_string())
        .map_err(|e| format!("the input is not an event: {e}"))?;
    Ok(match plugin.process_event(event) {
        Ok(Some(event)) => Expect::Emitted(
            serde_json::from_str(&event.to_json()).expect("an event serialises to JSON"),
        ),
        Ok(None) => Expect::Dropped,
        Err(_) => Expect::Error,
    })
}

fn describe(expect: &Expect) -> String {
    match expect {
        Expect::Emitted(event) => format!(
            "emitted {}",
            serde_json::to_string_pretty(event).expect("JSON serialises")
        ),
        Expect::Dropped => "dropped".into(),
        Expect::Error => "an error".into(),
    }
}

/// Reads the plugin's `conformance.jsonl` and runs every case through `P`; panics listing
/// every case whose outcome differs. Returns the number of cases.
pub fn run<P: Transform>() -> usize {
    let dir = plugin_dir();
    let cases = read(&dir);
    let mut failures = String::new();
    let mut failed = 0;
    for case in &cases {
        let actual = match outcome::<P>(&dir, case) {
            Ok(actual) => actual,
            Err(e) => {
                failed += 1;
                let _ = writeln!(failures, "line {} ({}): {e}\n", case.line, case.name);
                continue;
            }
        };
        if actual != case.expect {
            failed += 1;
            let differs = case
                .differs
                .as_deref()
                .map(|why| format!(" (differs from upstream on purpose: {why})"))
                .unwrap_or_default();
            let _ = writeln!(
                failures,
                "line {} ({}, from {}){differs}: expected {}\nbut the plugin {}\n",
                case.line,
                case.name,
                case.source,
                describe(&case.expect),
                describe(&actual)
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{failed} of {} conformance cases failed:\n{failures}",
        cases.len()
    );
    cases.len()
}
