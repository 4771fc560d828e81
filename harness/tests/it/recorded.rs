//! `corpus record`: hand-made capture requests (a posthog-js batch, a gzipped posthog-node
//! batch, a base64 form, a GET with `data=`, an array, a single event) converted into plugin
//! events as PostHog's capture makes them; and the committed recording (`corpus/recorded/`):
//! it loads with the corpus, matches the schemas, and has the event types and shapes the real
//! SDKs send that the synthetic corpus lacked. Nothing here runs node or a browser.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use base64::Engine as _;
use harness::corpus::{Corpus, RECORDED_DIR};
use harness::corpus_record::{self, CaptureRequest, RecordOptions};
use harness::schema::EventSchemas;
use serde_json::{Value, json};

use crate::common;

const OPTIONS: RecordOptions = RecordOptions { team_id: 7 };

fn request(path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> CaptureRequest {
    let mut all: BTreeMap<String, Option<String>> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
        .collect();
    all.entry("host".into())
        .or_insert(Some("127.0.0.1:8010".into()));
    CaptureRequest {
        method: "POST".into(),
        path: path.into(),
        query: query.into(),
        headers: all,
        client_ip: "203.0.113.9".into(),
        received_at: "2024-06-01T12:00:02.000Z".into(),
        body: base64::engine::general_purpose::STANDARD.encode(body),
    }
}

fn events(request: &CaptureRequest) -> Vec<Value> {
    corpus_record::plugin_events(request, 1, &OPTIONS)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

/// A posthog-js batch as `/e/` receives it.
fn js_batch() -> Value {
    json!({
        "api_key": "phc_test",
        "sent_at": "2024-06-01T12:00:01.000Z",
        "batch": [{
            "uuid": "01900000-0000-7000-8000-000000000001",
            "event": "$identify",
            "properties": {"$current_url": "https://shop.example/", "distinct_id": "user-1",
                           "$anon_distinct_id": "anon-1", "token": "phc_test", "note": "~~~"},
            "$set": {"email": "a@example.com"},
            "$set_once": {"first": true},
            "timestamp": "2024-06-01T12:00:00.500Z"
        }]
    })
}

/// The batch's one event as a plugin sees it.
fn js_batch_event() -> Value {
    json!({
        "event": "$identify",
        "distinct_id": "user-1",
        "uuid": "01900000-0000-7000-8000-000000000001",
        "team_id": 7,
        // sent_at is 1 s behind the server's now, so the client's timestamp moves 1 s on.
        "timestamp": "2024-06-01T12:00:01.500Z",
        "ip": "203.0.113.9",
        "site_url": "http://127.0.0.1:8010",
        // As capture writes them: RFC 3339, the fraction only when there is one.
        "now": "2024-06-01T12:00:02Z",
        "sent_at": "2024-06-01T12:00:01Z",
        "$set": {"email": "a@example.com"},
        "$set_once": {"first": true},
        "properties": {"$current_url": "https://shop.example/", "distinct_id": "user-1",
                       "$anon_distinct_id": "anon-1", "token": "phc_test", "note": "~~~"}
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn capture_payloads_in_every_encoding_give_the_same_plugin_event() {
    let json_text = js_batch().to_string();
    let base64 = base64::engine::general_purpose::STANDARD;
    let form_data = base64.encode(&json_text);
    let form = format!(
        "data={}&compression=base64",
        percent_encoding::utf8_percent_encode(&form_data, percent_encoding::NON_ALPHANUMERIC)
    );
    // A form whose base64 lost its `+` signs to spaces, as PostHog's capture sees it.
    let spaced_form = format!("data={}", form_data.replace('+', " "));
    let cases: Vec<(&str, CaptureRequest)> = vec![
        (
            "JSON text",
            request(
                "/e/",
                "",
                &[("content-type", "text/plain")],
                json_text.as_bytes(),
            ),
        ),
        (
            "gzip, told by the header (posthog-node)",
            request(
                "/batch/",
                "",
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                ],
                &gzip(json_text.as_bytes()),
            ),
        ),
        (
            "gzip, told by a query hint (posthog-js's gzip-js)",
            request(
                "/i/v0/e/",
                "compression=gzip-js&ver=1.449.2",
                &[],
                &gzip(json_text.as_bytes()),
            ),
        ),
        (
            "a base64 form",
            request(
                "/e/",
                "",
                &[("content-type", "application/x-www-form-urlencoded")],
                form.as_bytes(),
            ),
        ),
        (
            "a base64 form with its plus signs decoded to spaces",
            request(
                "/e/",
                "",
                &[(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=UTF-8",
                )],
                spaced_form.as_bytes(),
            ),
        ),
        (
            "the data query parameter of a GET",
            CaptureRequest {
                method: "GET".into(),
                ..request(
                    "/e",
                    &format!(
                        "data={}",
                        percent_encoding::utf8_percent_encode(
                            &json_text,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    ),
                    &[],
                    b"",
                )
            },
        ),
    ];
    // `~~~` puts a `~` at every place of a base64 group: one of them is a `+`.
    assert!(form_data.contains('+'), "the case must have a + to lose");
    for (name, request) in &cases {
        let got = corpus_record::plugin_events(request, 1, &OPTIONS)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .0;
        assert_eq!(got, [js_batch_event()], "{name}");
        // The SDK's key order, capture's envelope first: what the corpus files look like.
        let keys: Vec<&String> = got[0].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            js_batch_event()
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            "{name}"
        );
    }
}

#[test]
fn the_envelope_follows_capture_for_each_kind_of_event() {
    // An array (older posthog-js), without uuid, sent_at from `_`, a numeric distinct id.
    let array = json!([
        {"event": "a", "distinct_id": 42, "properties": {"n": 1}, "timestamp": "2024-06-01T12:00:00Z"},
        {"event": "b", "$distinct_id": "dollar", "offset": 1500},
        {"event": "c", "distinct_id": null, "properties": {"distinct_id": "from-properties", "capture_internal": true}},
        {"event": "d", "distinct_id": "far", "timestamp": "2024-06-03T12:00:00Z", "properties": {"$ignore_sent_at": true}}
    ]);
    let req = request("/e/", "_=1717243201000", &[], array.to_string().as_bytes());
    let got = events(&req);
    assert_eq!(got.len(), 4);
    assert_eq!(got[0]["distinct_id"], "42", "a number is made text");
    assert_eq!(got[1]["distinct_id"], "dollar");
    assert_eq!(got[2]["distinct_id"], "from-properties");
    assert_eq!(
        got[0]["sent_at"], "2024-06-01T12:00:01Z",
        "from the _ parameter"
    );
    assert_eq!(
        got[0]["timestamp"], "2024-06-01T12:00:01Z",
        "corrected by the 1 s the client is behind"
    );
    assert_eq!(
        got[1]["timestamp"], "2024-06-01T12:00:00.500Z",
        "now - offset"
    );
    assert_eq!(got[1]["offset"], 1500);
    assert_eq!(
        got[1]["properties"],
        json!({}),
        "no properties are empty ones"
    );
    assert_eq!(
        got[2]["ip"], "127.0.0.1",
        "capture_internal hides the address"
    );
    assert_eq!(got[0]["ip"], "203.0.113.9");
    assert_eq!(
        got[3]["timestamp"], "2024-06-01T12:00:02Z",
        "over 23 hours ahead is clamped to now"
    );
    assert!(
        got.iter()
            .all(|e| e.get("$set").is_none() && e.get("token").is_none())
    );
    // Derived uuids: valid, one per event, the same on a second conversion.
    let uuids: Vec<&str> = got.iter().map(|e| e["uuid"].as_str().unwrap()).collect();
    for uuid in &uuids {
        uuid::Uuid::parse_str(uuid).unwrap();
    }
    assert_eq!(
        uuids
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        4
    );
    assert_eq!(
        events(&req)
            .iter()
            .map(|e| e["uuid"].clone())
            .collect::<Vec<_>>(),
        uuids
    );
    // Every converted event matches the event schemas.
    let schemas = EventSchemas::load(&common::workspace_root().join("schemas")).unwrap();
    for event in &got {
        assert_eq!(schemas.validate(event), [], "{event}");
    }
    // A single event, and a long distinct id cut to capture's 200 characters.
    let single = json!({"event": "e", "distinct_id": "x".repeat(250), "uuid": ""});
    let got = events(&request(
        "/capture/",
        "",
        &[],
        single.to_string().as_bytes(),
    ));
    assert_eq!(got[0]["distinct_id"].as_str().unwrap().len(), 200);
    assert!(got[0].get("sent_at").is_none(), "no sent_at was sent");
}

#[test]
fn unpaired_surrogates_become_the_replacement_character_and_are_counted() {
    let body = r#"{"api_key":"k","batch":[{"event":"note","distinct_id":"u","properties":{"text":"broken \ud83d emoji","ok":"\ud83d\ude00"}}]}"#;
    let (got, replaced) =
        corpus_record::plugin_events(&request("/batch/", "", &[], body.as_bytes()), 1, &OPTIONS)
            .unwrap();
    assert_eq!(replaced, 1);
    assert_eq!(got[0]["properties"]["text"], "broken \u{fffd} emoji");
    assert_eq!(got[0]["properties"]["ok"], "😀");
}

#[test]
fn requests_that_carry_no_events_give_none_and_bad_ones_are_errors() {
    for path in [
        "/flags/",
        "/decide/",
        "/array/phc_x/config",
        "/array/phc_x/config.js",
    ] {
        assert_eq!(corpus_record::endpoint(path), None, "{path}");
        // Whatever their body.
        assert_eq!(
            events(&request(path, "v=2", &[], b"not json")),
            Vec::<Value>::new()
        );
    }
    assert_eq!(
        corpus_record::endpoint("/s/"),
        Some(corpus_record::Endpoint::Recordings)
    );
    let cases: Vec<(&str, &[u8], &str)> = vec![
        ("no event name", br#"{"distinct_id":"u"}"#, "no event name"),
        ("no distinct id", br#"[{"event":"e"}]"#, "no distinct_id"),
        (
            "an empty distinct id",
            br#"{"event":"e","distinct_id":""}"#,
            "no distinct_id",
        ),
        (
            "a bad uuid",
            br#"{"event":"e","distinct_id":"u","uuid":"nope"}"#,
            "uuid \"nope\"",
        ),
        (
            "properties a string",
            br#"{"event":"e","distinct_id":"u","properties":"x"}"#,
            "properties that are not an object",
        ),
        (
            "$set a list",
            br#"{"event":"e","distinct_id":"u","$set":[]}"#,
            "a $set that is not an object",
        ),
        ("not JSON", b"{oops", "not JSON"),
        (
            "neither JSON nor base64",
            b"%%%",
            "neither JSON, gzip nor base64",
        ),
        ("an empty body", b"", "an empty payload"),
        (
            "a batch that is not a list",
            br#"{"batch":{}}"#,
            "not an array",
        ),
        (
            "broken gzip",
            &[0x1f, 0x8b, 8, 0, 1, 2],
            "invalid gzip data",
        ),
    ];
    for (name, body, message) in cases {
        let error =
            corpus_record::plugin_events(&request("/e/", "", &[], body), 1, &OPTIONS).unwrap_err();
        assert!(error.contains(message), "{name}: {error}");
    }
}

#[test]
fn a_recording_converts_line_by_line_and_a_bad_line_is_named_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("posthog-js.requests.jsonl");
    let good = serde_json::to_string(&json!({
        "method": "POST", "path": "/e/", "query": "", "headers": {"content-type": "text/plain", "host": null},
        "client_ip": "127.0.0.1", "received_at": "2024-06-01T12:00:02.000Z",
        "body": base64::engine::general_purpose::STANDARD.encode(js_batch().to_string())
    }))
    .unwrap();
    let flags = r#"{"method":"POST","path":"/flags/","query":"v=2","client_ip":"127.0.0.1","received_at":"2024-06-01T12:00:02Z","body":""}"#;
    std::fs::write(&file, format!("{good}\n{flags}\n\n{good}\n")).unwrap();
    let recorded = corpus_record::convert_file(&file, &OPTIONS).unwrap();
    assert_eq!(recorded.requests, 3);
    assert_eq!(recorded.event_requests, 2);
    assert_eq!(recorded.events.len(), 2);
    assert_eq!(
        recorded.events[0]["site_url"], "http://127.0.0.1",
        "no host header"
    );

    let bad_body = good.replace("\"/e/\"", "\"/batch/\"").replace(
        &base64::engine::general_purpose::STANDARD.encode(js_batch().to_string()),
        &base64::engine::general_purpose::STANDARD.encode("[1]"),
    );
    std::fs::write(&file, format!("{good}\n{bad_body}\n")).unwrap();
    let error = corpus_record::convert_file(&file, &OPTIONS)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "{}:2: POST /batch/: event 0 of the payload is not an object",
            file.display()
        )
    );
    std::fs::write(&file, "{\"method\": 1}\n").unwrap();
    let error = corpus_record::convert_file(&file, &OPTIONS)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!("{}:1: not a recorded request: ", file.display())),
        "{error}"
    );
    assert!(!error.contains('\n'), "{error}");
}

// The committed recording.

fn recorded_dir() -> PathBuf {
    common::workspace_root().join("corpus").join(RECORDED_DIR)
}

/// The recorded files, by SDK name (`posthog-js`, `posthog-node`), with their events.
fn recorded() -> BTreeMap<String, (PathBuf, Vec<Value>)> {
    let corpus = Corpus::load(&common::workspace_root().join("corpus")).unwrap();
    let mut files = BTreeMap::new();
    for file in corpus
        .files
        .iter()
        .filter(|f| harness::corpus::is_recorded(f))
    {
        let name = file.file_stem().unwrap().to_str().unwrap();
        let (sdk, version) = name.rsplit_once('-').unwrap();
        semver::Version::parse(version).unwrap_or_else(|e| panic!("{name}: {e}"));
        let events: Vec<Value> = corpus
            .events
            .iter()
            .filter(|e| &*e.file == file.as_path())
            .map(|e| e.event.clone())
            .collect();
        assert!(
            files
                .insert(sdk.to_owned(), (file.clone(), events))
                .is_none(),
            "two recordings of {sdk}"
        );
    }
    files
}

fn properties(event: &Value) -> &serde_json::Map<String, Value> {
    event["properties"].as_object().unwrap()
}

fn has(events: &[Value], what: &str, test: impl Fn(&Value) -> bool) {
    assert!(events.iter().any(test), "no recorded event is {what}");
}

#[test]
fn the_recording_is_of_the_sdk_versions_it_is_named_after_and_modest_in_size() {
    let files = recorded();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["posthog-js", "posthog-node"]
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(recorded_dir().join("recording.json")).unwrap(),
    )
    .unwrap();
    for (sdk, (file, events)) in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            name,
            format!("{sdk}-{}.jsonl", manifest[sdk].as_str().unwrap())
        );
        assert!(
            std::fs::metadata(file).unwrap().len() as usize <= corpus_record::MAX_RECORDED_BYTES
        );
        assert_eq!(manifest["files"][name]["events"], events.len(), "{name}");
        let lib = if sdk == "posthog-js" { "web" } else { sdk };
        let lib_version = manifest[sdk].as_str().unwrap();
        for event in events {
            assert_eq!(properties(event)["$lib"], lib, "{name}: {event}");
            assert_eq!(properties(event)["$lib_version"], lib_version, "{name}");
        }
    }
    assert!(manifest["posthog-js"].as_str().unwrap().starts_with("1."));
    assert!(manifest["posthog-node"].as_str().unwrap().starts_with("5."));
    let total: usize = files.values().map(|(_, events)| events.len()).sum();
    assert!((40..=400).contains(&total), "{total} recorded events");
}

#[test]
fn the_recording_has_what_real_sdks_send_and_the_schemas_accept_it() {
    let files = recorded();
    let schemas = EventSchemas::load(&common::workspace_root().join("schemas")).unwrap();
    for (file, events) in files.values() {
        for (line, event) in events.iter().enumerate() {
            let violations = schemas.validate(event);
            assert!(
                violations.is_empty(),
                "{}:{}: {violations:?}",
                file.display(),
                line + 1
            );
        }
    }
    let js = &files["posthog-js"].1;
    let node = &files["posthog-node"].1;
    let named = |name: &'static str| move |e: &Value| e["event"] == name;
    for name in [
        "$exception",
        "$web_vitals",
        "$dead_click",
        "$rageclick",
        "$$heatmap",
        "$autocapture",
        "$pageview",
        "$pageleave",
        "$snapshot",
        "$identify",
        "$groupidentify",
        "$create_alias",
        "$set",
        "$feature_flag_called",
    ] {
        has(js, &format!("a posthog-js {name}"), named(name));
    }
    for name in [
        "$exception",
        "$identify",
        "$groupidentify",
        "$create_alias",
        "$feature_flag_called",
    ] {
        has(node, &format!("a posthog-node {name}"), named(name));
    }
    has(node, "a server-side $pageview without $current_url", |e| {
        e["event"] == "$pageview" && !properties(e).contains_key("$current_url")
    });
    has(node, "an $identify without $anon_distinct_id", |e| {
        e["event"] == "$identify" && !properties(e).contains_key("$anon_distinct_id")
    });
    has(
        js,
        "an $identify with $anon_distinct_id and top-level $set",
        |e| {
            e["event"] == "$identify"
                && properties(e)["$anon_distinct_id"].is_string()
                && e["$set"].is_object()
        },
    );
    has(js, "a $snapshot whose $snapshot_data is a list", |e| {
        e["event"] == "$snapshot" && properties(e)["$snapshot_data"].is_array()
    });
    has(js, "a $groupidentify without $group_set", |e| {
        e["event"] == "$groupidentify" && !properties(e).contains_key("$group_set")
    });
    has(js, "an event with utm and click-id properties", |e| {
        let p = properties(e);
        p["utm_source"] == "newsletter" && p["gclid"].is_string() && p["fbclid"].is_string()
    });
    has(js, "an event with a null click id", |e| {
        properties(e).get("msclkid") == Some(&Value::Null)
    });
    has(node, "an event whose lone surrogate became U+FFFD", |e| {
        properties(e)
            .get("text")
            .and_then(Value::as_str)
            .is_some_and(|t| t.contains('\u{fffd}'))
    });
    has(js, "an uncaught exception", |e| {
        e["event"] == "$exception"
            && properties(e)["$exception_list"][0]["mechanism"]["handled"] == false
    });
    // Property names the synthetic corpus never had.
    let synthetic = Corpus::load(&common::workspace_root().join("corpus")).unwrap();
    let known: std::collections::BTreeSet<&str> = synthetic
        .events
        .iter()
        .filter(|e| !harness::corpus::is_recorded(&e.file))
        .flat_map(|e| e.event["properties"].as_object().into_iter().flatten())
        .map(|(k, _)| k.as_str())
        .collect();
    let new: std::collections::BTreeSet<&str> = js
        .iter()
        .chain(node)
        .flat_map(|e| properties(e).keys())
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    // The issue counted about a hundred (112 in posthog-js 1.449.2 and posthog-node 5.70.0).
    assert!(
        new.len() >= 80,
        "only {} new property names: {new:?}",
        new.len()
    );
}

#[test]
fn the_recorded_files_are_part_of_the_corpus_digest_under_their_own_name() {
    let corpus = Corpus::load(&common::workspace_root().join("corpus")).unwrap();
    let labels: Vec<String> = corpus
        .files
        .iter()
        .map(|f| harness::corpus::file_label(f))
        .collect();
    assert!(
        labels.iter().any(|l| l.starts_with("recorded/posthog-js-")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l == "web-pageviews.jsonl"),
        "{labels:?}"
    );
    let recorded_at = labels
        .iter()
        .position(|l| l.starts_with("recorded/"))
        .unwrap();
    assert!(
        labels[recorded_at..]
            .iter()
            .all(|l| l.starts_with("recorded/")),
        "the recorded files come after the corpus's own: {labels:?}"
    );
}
