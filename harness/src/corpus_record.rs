//! `corpus record`: the requests real SDKs sent to a capture endpoint, turned into the events a
//! plugin sees, as PostHog's capture service and plugin server make them.
//!
//! The recorder (`corpus/recorder/record.js`, run by `cargo xtask corpus record`) writes each
//! request its loopback endpoint received as one JSON line ([`CaptureRequest`]: method, path,
//! query, a few headers, the client's address, when it arrived, the body as base64). This
//! module does the rest, so that it is tested without node or a browser:
//!
//! - **Which requests carry events**: PostHog's event endpoints (`/e/`, `/i/v0/e/`, `/batch/`,
//!   `/capture/`, `/track/`) and the recordings endpoint (`/s/`); `/flags/`, `/decide/` and
//!   remote config are not events ([`endpoint`]).
//! - **The payload** (`rust/capture/src/payload/common.rs`, `extract_payload_bytes`): the
//!   `data` query parameter, else the body; a body that is a form
//!   (`application/x-www-form-urlencoded`) gives its `data` field, with the `+` signs a form
//!   decodes to spaces put back in base64; a payload that is base64 is decoded; then, as
//!   `RawRequest::from_bytes` does (`rust/capture/src/v0_request.rs`), gzip is recognised by
//!   its magic bytes whatever the `compression` hint says. `lz64`, which older posthog-js
//!   sent, is not supported: the recorded SDKs do not send it.
//! - **Unpaired UTF-16 surrogate escapes** become U+FFFD, as capture's
//!   `passes/invalid_surrogates.rs` does ([`crate::corpus::replace_lone_surrogates`]).
//! - **The events** (`RawRequest`): an array (posthog-js's older form), a batch
//!   (`{"api_key" | "token", "batch": [...], "sent_at"}`, posthog-js and posthog-node), or a
//!   single event. `sent_at` is the batch's, else the `_` query parameter in milliseconds.
//! - **Each event** as `process_single_event` (`rust/capture/src/events/analytics.rs`) makes
//!   the `CapturedEvent` (`rust/common/types/src/event.rs`): no name or no distinct id rejects
//!   it; `distinct_id` is the top-level `distinct_id` (or `$distinct_id`), else
//!   `properties.distinct_id`, a non-string made JSON text, cut to 200 characters; `uuid` the
//!   SDK's (capture makes a v7 when there is none; we derive one from the request, so a
//!   conversion is reproducible); `ip` the client's address (`127.0.0.1` for an event with
//!   `capture_internal`); `now` when the request arrived; `timestamp` computed as
//!   `common_types::timestamp::parse_event_timestamp` does: the SDK's `timestamp` corrected by
//!   the clock skew `sent_at - now` (unless `$ignore_sent_at`), or `now - offset`, or `now`,
//!   and clamped to `now` when over 23 hours ahead.
//! - **What the plugin sees** is the plugin server's `{...data, ...capturedEvent}`
//!   (`parseKafkaMessage`): the SDK's event with capture's fields over it. We write it in the
//!   corpus's shape: `event`, `distinct_id`, `uuid`, `team_id` (the project the token names;
//!   an option here), `timestamp`, `ip`, `site_url` (the endpoint's address), `now`,
//!   `sent_at`, then the SDK's `offset`, `$set` and `$set_once` when it sent them, and its
//!   `properties` in the SDK's order. The token is left out (it became `team_id`). Not
//!   applied: the plugin server's `normalizeEvent`, which the 2021 plugin server whose
//!   semantics our pipeline follows ran after plugins, and capture's split of a `$heatmap_data`
//!   property into a separate `$$heatmap` event (the recorded posthog-js sends `$$heatmap`
//!   events of its own, which capture passes through).

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::Path;

use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::HarnessError;

/// One request the recorder's endpoint received, as `record.js` writes it.
#[derive(Clone, Debug, Deserialize)]
pub struct CaptureRequest {
    pub method: String,
    /// The path, without the query (`/e/`).
    pub path: String,
    /// The query string, without `?`.
    #[serde(default)]
    pub query: String,
    /// Lower-case header names; `null` for a header that was not sent.
    #[serde(default)]
    pub headers: BTreeMap<String, Option<String>>,
    /// The address the request came from (capture's `ip`).
    pub client_ip: String,
    /// When it arrived, RFC 3339 (capture's `now`).
    pub received_at: String,
    /// The body, base64.
    #[serde(default)]
    pub body: String,
}

impl CaptureRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Option::as_deref)
    }
}

/// What an endpoint of PostHog's capture receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Analytics events (`/e/`, `/i/v0/e/`, `/batch/`, `/capture/`, `/track/`).
    Events,
    /// Session recordings (`/s/`): `$snapshot` events.
    Recordings,
}

/// The endpoint a path is, or `None` for requests that carry no events (`/flags/`,
/// `/decide/`, remote config).
pub fn endpoint(path: &str) -> Option<Endpoint> {
    match path.trim_end_matches('/') {
        "/e" | "/i/v0/e" | "/batch" | "/capture" | "/track" => Some(Endpoint::Events),
        "/s" => Some(Endpoint::Recordings),
        _ => None,
    }
}

/// How the events of a file are made into plugin events.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    /// The project the SDKs' token belongs to.
    pub team_id: i64,
}

/// The events of one request, with what decoding repaired.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    pub events: Vec<Map<String, Value>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub surrogates_replaced: usize,
}

/// The largest recorded corpus file `corpus record` writes: `verify` runs every plugin over
/// the whole corpus.
pub const MAX_RECORDED_BYTES: usize = 1 << 20;

/// The longest payload decompressed (capture's own limit is of this order).
pub const MAX_PAYLOAD_BYTES: u64 = 16 << 20;

const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 8];

fn is_json_text(payload: &[u8]) -> bool {
    matches!(
        payload.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// The events a request carries (see the module's doc).
pub fn decode(request: &CaptureRequest) -> Result<Decoded, String> {
    let base64 = base64::engine::general_purpose::STANDARD;
    let body = base64
        .decode(request.body.trim())
        .map_err(|e| format!("the recorded body is not base64: {e}"))?;
    let query: Vec<(String, String)> = url::form_urlencoded::parse(request.query.as_bytes())
        .into_owned()
        .collect();
    let query_value = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let mut compression = query_value("compression").map(str::to_owned);
    let mut payload = match query_value("data").filter(|data| !data.is_empty()) {
        Some(data) => data.as_bytes().to_vec(),
        None => body,
    };
    if payload.is_empty() {
        return Err("an empty payload".into());
    }
    let content_type = request
        .header("content-type")
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    if content_type.as_deref() == Some("application/x-www-form-urlencoded")
        && !is_json_text(&payload)
    {
        let form: Vec<(String, String)> =
            url::form_urlencoded::parse(&payload).into_owned().collect();
        let field = |name: &str| {
            form.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let data = field("data").ok_or("a form without a `data` field")?;
        if let Some(hint) = field("compression") {
            compression = Some(hint);
        }
        payload = if is_json_text(data.as_bytes()) {
            data.into_bytes()
        } else {
            // Base64 in a form: the `+` signs were decoded to spaces.
            data.replace(' ', "+").into_bytes()
        };
    }
    if !is_json_text(&payload) && !payload.starts_with(&GZIP_MAGIC) {
        let text = String::from_utf8_lossy(&payload);
        payload = base64.decode(text.trim()).map_err(|_| {
            format!(
                "a payload that is neither JSON, gzip nor base64 (compression {})",
                compression.as_deref().unwrap_or("none")
            )
        })?;
    }
    if payload.starts_with(&GZIP_MAGIC) {
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(payload.as_slice())
            .take(MAX_PAYLOAD_BYTES + 1)
            .read_to_end(&mut inflated)
            .map_err(|e| format!("invalid gzip data: {e}"))?;
        if inflated.len() as u64 > MAX_PAYLOAD_BYTES {
            return Err(format!(
                "more than {} MiB once decompressed",
                MAX_PAYLOAD_BYTES >> 20
            ));
        }
        payload = inflated;
    } else if compression.as_deref() == Some("lz64") {
        return Err("lz64 compression is not supported".into());
    }
    let text = String::from_utf8(payload).map_err(|_| "a payload that is not UTF-8")?;
    let (text, surrogates_replaced) = match crate::corpus::replace_lone_surrogates(&text) {
        Some((repaired, count)) => (repaired, count),
        None => (text, 0),
    };
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let (items, batch_sent_at) = match json {
        Value::Array(items) => (items, None),
        Value::Object(mut object) if object.contains_key("batch") => {
            let sent_at = object
                .get("sent_at")
                .and_then(Value::as_str)
                .map(str::to_owned);
            match object.remove("batch") {
                Some(Value::Array(items)) => (items, sent_at),
                _ => return Err("a batch whose `batch` is not an array".into()),
            }
        }
        object @ Value::Object(_) => (vec![object], None),
        _ => return Err("a payload that is neither an event, an array nor a batch".into()),
    };
    let events = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(event) => Ok(event),
            _ => Err(format!("event {index} of the payload is not an object")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sent_at = batch_sent_at
        .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
        .map(|at| at.with_timezone(&Utc))
        .or_else(|| {
            // posthog-js's `_=` query parameter, in milliseconds; seconds (older SDKs) ignored.
            let millis: i64 = query_value("_")?.parse().ok()?;
            DateTime::from_timestamp_millis(millis).filter(|at| at.timestamp() > 1_609_459_200)
        });
    Ok(Decoded {
        events,
        sent_at,
        surrogates_replaced,
    })
}

/// The longest `distinct_id` capture keeps, in characters.
pub const MAX_DISTINCT_ID_CHARS: usize = 200;

/// `distinct_id` as capture extracts it, or `None` when there is none (capture rejects the
/// event).
pub fn distinct_id(event: &Map<String, Value>) -> Option<String> {
    let value = ["distinct_id", "$distinct_id"]
        .iter()
        .find_map(|key| event.get(*key).filter(|v| !v.is_null()))
        .or_else(|| {
            event
                .get("properties")
                .and_then(|p| p.get("distinct_id"))
                .filter(|v| !v.is_null())
        })?;
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    (!text.is_empty()).then(|| text.chars().take(MAX_DISTINCT_ID_CHARS).collect())
}

/// The event's time as ingestion computes it from the SDK's `timestamp` and `offset`, the
/// request's `sent_at` and the time it arrived.
pub fn event_timestamp(
    timestamp: Option<&str>,
    offset: Option<i64>,
    sent_at: Option<DateTime<Utc>>,
    ignore_sent_at: bool,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let sent_at = sent_at.filter(|_| !ignore_sent_at);
    let parsed = timestamp
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&Utc));
    let mut at = match (parsed, sent_at) {
        (Some(at), Some(sent_at)) => at - (sent_at - now),
        (Some(at), None) => at,
        (None, _) => now,
    };
    if let Some(offset) = offset {
        at = now - Duration::milliseconds(offset);
    }
    if at - now > Duration::hours(23) {
        at = now;
    }
    at
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A UUID for an event the SDK sent without one: derived from the request and the event's
/// place in it, so converting the same requests gives the same UUIDs.
fn derived_uuid(request: &CaptureRequest, line: usize, index: usize) -> String {
    let digest = Sha256::new()
        .chain_update(b"posthog-harness corpus record\0")
        .chain_update(request.received_at.as_bytes())
        .chain_update(format!("\0{line}\0{index}"))
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The plugin events of one request (`line` is its line in the recording, for messages and
/// derived UUIDs); an empty list for a request that carries no events.
pub fn plugin_events(
    request: &CaptureRequest,
    line: usize,
    options: &RecordOptions,
) -> Result<(Vec<Value>, usize), String> {
    if endpoint(&request.path).is_none() {
        return Ok((Vec::new(), 0));
    }
    let decoded = decode(request)?;
    let now = DateTime::parse_from_rfc3339(&request.received_at)
        .map_err(|e| format!("received_at {:?}: {e}", request.received_at))?
        .with_timezone(&Utc);
    let site_url = request.header("host").map_or_else(
        || "http://127.0.0.1".to_owned(),
        |host| format!("http://{host}"),
    );
    let mut events = Vec::with_capacity(decoded.events.len());
    for (index, mut raw) in decoded.events.into_iter().enumerate() {
        let at = |message: &str| format!("event {index} of the payload: {message}");
        let name = match raw.get("event") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            _ => return Err(at("no event name (capture rejects it)")),
        };
        let distinct_id =
            distinct_id(&raw).ok_or_else(|| at("no distinct_id (capture rejects it)"))?;
        let uuid = match raw.get("uuid") {
            Some(Value::String(text)) if !text.is_empty() => uuid::Uuid::parse_str(text)
                .map_err(|e| at(&format!("uuid {text:?}: {e}")))?
                .to_string(),
            // Capture takes an empty uuid as none.
            None | Some(Value::Null) | Some(Value::String(_)) => derived_uuid(request, line, index),
            Some(other) => return Err(at(&format!("uuid {other} is not a string"))),
        };
        let properties = match raw.remove("properties") {
            Some(Value::Object(properties)) => properties,
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(at("properties that are not an object")),
        };
        let offset = match raw.get("offset") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_i64()
                    .ok_or_else(|| at("an offset that is not an integer"))?,
            ),
        };
        let ignore_sent_at = properties
            .get("$ignore_sent_at")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let timestamp = event_timestamp(
            raw.get("timestamp").and_then(Value::as_str),
            offset,
            decoded.sent_at,
            ignore_sent_at,
            now,
        );
        let ip = if properties.contains_key("capture_internal") {
            "127.0.0.1".to_owned()
        } else {
            request.client_ip.clone()
        };
        let mut event = Map::new();
        event.insert("event".into(), Value::String(name));
        event.insert("distinct_id".into(), Value::String(distinct_id));
        event.insert("uuid".into(), Value::String(uuid));
        event.insert("team_id".into(), Value::from(options.team_id));
        event.insert("timestamp".into(), Value::String(rfc3339(timestamp)));
        event.insert("ip".into(), Value::String(ip));
        event.insert("site_url".into(), Value::String(site_url.clone()));
        event.insert("now".into(), Value::String(rfc3339(now)));
        if let Some(sent_at) = decoded.sent_at {
            event.insert("sent_at".into(), Value::String(rfc3339(sent_at)));
        }
        if let Some(offset) = offset {
            event.insert("offset".into(), Value::from(offset));
        }
        for key in ["$set", "$set_once"] {
            match raw.remove(key) {
                None | Some(Value::Null) => {}
                Some(value @ Value::Object(_)) => {
                    event.insert(key.into(), value);
                }
                Some(_) => return Err(at(&format!("a {key} that is not an object"))),
            }
        }
        event.insert("properties".into(), Value::Object(properties));
        events.push(Value::Object(event));
    }
    Ok((events, decoded.surrogates_replaced))
}

/// What a recording converted to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recorded {
    pub events: Vec<Value>,
    /// Requests read, and those that carried events.
    pub requests: usize,
    pub event_requests: usize,
    pub surrogates_replaced: usize,
}

/// Converts a recording (JSON lines of [`CaptureRequest`]) read from `reader`; `file` names it
/// in errors (`file:line: message`). Any request that is not what an SDK sends is an error:
/// a recording is not a place to skip things silently.
pub fn convert(
    file: &Path,
    reader: impl BufRead,
    options: &RecordOptions,
) -> Result<Recorded, HarnessError> {
    let mut recorded = Recorded::default();
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| HarnessError::io(file, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| HarnessError::BadLine {
            path: file.to_owned(),
            line: number,
            message,
        };
        let request: CaptureRequest =
            serde_json::from_str(&line).map_err(|e| bad(format!("not a recorded request: {e}")))?;
        recorded.requests += 1;
        let (events, replaced) = plugin_events(&request, number, options)
            .map_err(|message| bad(format!("{} {}: {message}", request.method, request.path)))?;
        if endpoint(&request.path).is_some() {
            recorded.event_requests += 1;
        }
        recorded.surrogates_replaced += replaced;
        recorded.events.extend(events);
    }
    Ok(recorded)
}

/// [`convert`] of a file.
pub fn convert_file(file: &Path, options: &RecordOptions) -> Result<Recorded, HarnessError> {
    let handle = std::fs::File::open(file).map_err(|e| HarnessError::io(file, e))?;
    convert(file, std::io::BufReader::new(handle), options)
}
