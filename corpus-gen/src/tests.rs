//! The generator's own tests: reproducibility, the shape of every generated line, what each file
//! holds, the hand-written edge cases, and the crate doc's table against [`FILES`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::ids::{uuid4, uuid7};
use crate::time::{YEAR_END_MS, YEAR_START_MS, rfc3339};
use crate::{EDGE_CASES, FILES, GeneratedFile, generate};

/// `xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx`, lower-case hex.
fn is_uuid4(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            14 => c == '4',
            19 => c == '8',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

/// `2024-MM-DDTHH:MM:SS.mmmZ`, a real instant of 2024.
fn is_generated_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| s.get(range).and_then(|d| d.parse::<u32>().ok());
    b.len() == 24
        && s.starts_with("2024-")
        && (b[7], b[10], b[13], b[16], b[19], b[23]) == (b'-', b'T', b':', b':', b'.', b'Z')
        && s.bytes()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16 | 19 | 23) || c.is_ascii_digit())
        && digits(5..7).is_some_and(|m| (1..=12).contains(&m))
        && digits(8..10).is_some_and(|d| (1..=31).contains(&d))
        && digits(11..13).is_some_and(|h| h < 24)
        && digits(14..16).is_some_and(|m| m < 60)
        && digits(17..19).is_some_and(|s| s < 60)
}

/// RFC 3339 `date-time`: `YYYY-MM-DD`, `T`, `HH:MM:SS`, optional fraction, `Z` or `±HH:MM`.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let date_time = (0..4).all(digit)
        && at(4, b'-')
        && digit(5)
        && digit(6)
        && at(7, b'-')
        && digit(8)
        && digit(9)
        && (at(10, b'T') || at(10, b't'))
        && digit(11)
        && digit(12)
        && at(13, b':')
        && digit(14)
        && digit(15)
        && at(16, b':')
        && digit(17)
        && digit(18);
    if !date_time {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while digit(i) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && digit(i + 1)
                && digit(i + 2)
                && at(i + 3, b':')
                && digit(i + 4)
                && digit(i + 5)
        }
        _ => false,
    }
}

const KEY_ORDER: &[&str] = &[
    "event",
    "distinct_id",
    "uuid",
    "team_id",
    "timestamp",
    "ip",
    "site_url",
    "now",
    "sent_at",
    "properties",
    "$set",
    "$set_once",
];

fn contents(files: &[GeneratedFile]) -> Vec<(&str, &str)> {
    files
        .iter()
        .map(|f| (f.name, f.contents.as_str()))
        .collect()
}

#[test]
fn timestamps_are_rfc3339_utc_with_milliseconds() {
    assert_eq!(rfc3339(YEAR_START_MS), "2024-01-01T00:00:00.000Z");
    assert_eq!(rfc3339(1_709_648_551_123), "2024-03-05T14:22:31.123Z");
    assert_eq!(rfc3339(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
    assert_eq!(rfc3339(YEAR_END_MS - 1), "2024-12-31T23:59:59.999Z");
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    assert!(is_rfc3339("2024-03-05T14:22:31+05:30") && !is_rfc3339("2024-03-05 14:22:31"));
}

#[test]
fn ids_have_the_documented_shapes() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..1000 {
        let id = uuid4(&mut rng);
        assert!(is_uuid4(&id), "{id}");
    }
    let v7 = uuid7(&mut rng, 1_709_648_551_123);
    assert!(v7.starts_with("018e0efe-9cd3-7"), "{v7}");
    assert!(matches!(&v7[19..20], "8" | "9" | "a" | "b"), "{v7}");
}

#[test]
fn the_same_seed_gives_identical_files() {
    assert_eq!(contents(&generate(2026)), contents(&generate(2026)));
    assert_eq!(contents(&generate(5)), contents(&generate(5)));
}

#[test]
fn a_different_seed_gives_different_files() {
    let (a, b) = (generate(2026), generate(2027));
    for (a, b) in a.iter().zip(&b) {
        assert_eq!(a.name, b.name);
        assert_ne!(a.contents, b.contents, "{}", a.name);
    }
}

#[test]
fn every_generated_line_is_a_well_formed_event() {
    let files = generate(2026);
    let mut uuids = BTreeSet::new();
    let mut distinct_ids = BTreeMap::<String, usize>::new();
    let mut total = 0;
    for file in &files {
        assert_ne!(file.name, EDGE_CASES);
        assert!(file.contents.ends_with('\n'), "{}", file.name);
        let lines: Vec<&str> = file.contents.lines().collect();
        assert_eq!(lines.len(), file.events, "{}", file.name);
        let spec = FILES
            .iter()
            .find(|s| s.name == file.name)
            .expect("a listed file");
        assert_eq!(lines.len(), spec.events, "{}", file.name);
        total += lines.len();
        for (i, line) in lines.iter().enumerate() {
            let at = format!("{}:{}", file.name, i + 1);
            let Ok(Value::Object(event)) = serde_json::from_str::<Value>(line) else {
                panic!("{at}: not a JSON object");
            };
            assert_eq!(
                serde_json::to_string(&event).unwrap(),
                *line,
                "{at}: not compact"
            );
            assert!(
                event["event"].as_str().is_some_and(|e| !e.is_empty()),
                "{at}: event"
            );
            let distinct_id = event["distinct_id"]
                .as_str()
                .expect("distinct_id is a string");
            assert!(!distinct_id.is_empty(), "{at}: distinct_id");
            *distinct_ids.entry(distinct_id.to_owned()).or_default() += 1;
            let uuid = event["uuid"].as_str().unwrap_or_default();
            assert!(is_uuid4(uuid), "{at}: uuid {uuid}");
            assert!(uuids.insert(uuid.to_owned()), "{at}: duplicate uuid {uuid}");
            assert!(
                matches!(event["team_id"].as_u64(), Some(1 | 2 | 13)),
                "{at}: team_id"
            );
            let timestamp = event["timestamp"].as_str().unwrap_or_default();
            assert!(
                is_generated_timestamp(timestamp),
                "{at}: timestamp {timestamp}"
            );
            for key in ["now", "sent_at"] {
                if let Some(value) = event.get(key) {
                    let value = value.as_str().unwrap_or_default();
                    assert!(is_generated_timestamp(value), "{at}: {key} {value}");
                    assert!(value >= timestamp, "{at}: {key} before timestamp");
                }
            }
            if let (Some(sent_at), Some(now)) = (event.get("sent_at"), event.get("now")) {
                assert!(sent_at.as_str() <= now.as_str(), "{at}: sent_at after now");
            }
            if let Some(ip) = event.get("ip") {
                assert!(ip.is_string() || ip.is_null(), "{at}: ip");
            }
            assert!(event["properties"].is_object(), "{at}: properties");
            let positions: Vec<usize> = event
                .keys()
                .map(|k| {
                    KEY_ORDER
                        .iter()
                        .position(|o| o == k)
                        .unwrap_or_else(|| panic!("{at}: key {k}"))
                })
                .collect();
            assert!(
                positions.is_sorted(),
                "{at}: key order {:?}",
                event.keys().collect::<Vec<_>>()
            );
        }
    }
    assert!(total >= 1000, "{total} events");
    assert!(distinct_ids.values().any(|&n| n >= 30), "some users recur");
}

#[test]
fn each_file_holds_what_it_is_named_for() {
    let files = generate(2026);
    let events = |name: &str| -> Vec<Value> {
        let file = files.iter().find(|f| f.name == name).expect("generated");
        file.contents
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let names = |name: &str| -> BTreeSet<String> {
        events(name)
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names("web-pageviews.jsonl"),
        ["$pageleave", "$pageview"].map(String::from).into()
    );
    assert_eq!(
        names("web-autocapture.jsonl"),
        ["$autocapture"].map(String::from).into()
    );
    assert_eq!(
        names("identify-and-alias.jsonl"),
        ["$create_alias", "$identify"].map(String::from).into()
    );
    assert!(names("groups.jsonl").contains("$groupidentify"));
    assert!(names("feature-flags.jsonl").contains("$feature_flag_called"));
    assert!(
        names("mobile.jsonl").is_superset(
            &["$screen", "Application Opened", "Application Backgrounded"]
                .map(String::from)
                .into()
        )
    );
    assert!(
        names("snapshots.jsonl")
            .is_superset(&["$snapshot", "$performance_event"].map(String::from).into())
    );
    let server = names("server-side.jsonl");
    for name in [
        "user signed up",
        "UserSignedUp",
        "order_completed",
        "checkout-started",
        "Invoice Paid",
    ] {
        assert!(server.contains(name), "{name}");
    }
    let autocapture = events("web-autocapture.jsonl");
    assert!(
        autocapture
            .iter()
            .any(|e| e["properties"]["$elements_chain"].is_string())
    );
    assert!(
        autocapture
            .iter()
            .any(|e| e["properties"]["$elements"].is_array())
    );
    let identify = events("identify-and-alias.jsonl");
    assert!(
        identify
            .iter()
            .any(|e| e["$set"]["email"].is_string() && e["$set_once"].is_object())
    );
    let browsers: BTreeSet<String> = events("web-pageviews.jsonl")
        .iter()
        .map(|e| e["properties"]["$browser"].as_str().unwrap().to_owned())
        .collect();
    assert!(browsers.len() >= 5, "{browsers:?}");
    let big_snapshot = events("snapshots.jsonl")
        .iter()
        .map(|e| {
            serde_json::to_string(&e["properties"]["$snapshot_data"])
                .unwrap()
                .len()
        })
        .max()
        .unwrap();
    assert!(
        big_snapshot > 2_000,
        "largest snapshot {big_snapshot} bytes"
    );
}

#[test]
fn the_hand_written_edge_cases_are_valid_events() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(EDGE_CASES);
    let text = std::fs::read_to_string(&path).expect("corpus/edge-cases.jsonl");
    let mut count = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = format!("{EDGE_CASES}:{}", i + 1);
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
        assert!(event["event"].is_string(), "{at}: event");
        assert!(
            event["distinct_id"].as_str().is_some_and(|d| !d.is_empty()),
            "{at}: distinct_id"
        );
        assert!(event["uuid"].is_string(), "{at}: uuid");
        assert!(
            event["team_id"].is_i64() || event["team_id"].is_u64(),
            "{at}: team_id"
        );
        assert!(
            event["timestamp"].as_str().is_some_and(is_rfc3339),
            "{at}: timestamp"
        );
        assert!(event["properties"].is_object(), "{at}: properties");
        count += 1;
    }
    assert!(count >= 30, "{count} edge cases");
}

#[test]
fn the_crate_docs_table_lists_the_files_and_counts_of_files() {
    // Rows of the table in lib.rs's docs: "//! | `name.jsonl` | count | what it exercises |".
    let rows: Vec<(String, usize)> = include_str!("lib.rs")
        .lines()
        .filter_map(|line| line.strip_prefix("//! | `"))
        .filter_map(|row| {
            let (name, rest) = row.split_once('`')?;
            let count = rest.trim_start_matches([' ', '|']).split('|').next()?;
            Some((name.to_owned(), count.trim().parse().ok()?))
        })
        .collect();
    let files: Vec<(String, usize)> = FILES
        .iter()
        .map(|f| (f.name.to_owned(), f.events))
        .collect();
    assert_eq!(rows, files);
    let total: usize = FILES.iter().map(|f| f.events).sum();
    assert!(
        include_str!("lib.rs").contains(&format!("{} events in all", fmt_thousands(total))),
        "the crate docs give the total, {total}"
    );
    assert_eq!(
        crate::DEFAULT_SEED,
        2026,
        "the crate docs name the default seed"
    );
}

fn fmt_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
