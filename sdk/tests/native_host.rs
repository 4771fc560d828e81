//! The native in-memory host enforces the harness's rules with the same limits and messages:
//! one test per rule, each with the case that breaks it and the near miss that does not.
//!
//! Every test runs on its own thread, and so with its own in-memory host. The SDK has no
//! `plugin.json`, so until a test declares something every capability is allowed.

use std::panic::{AssertUnwindSafe, catch_unwind};

use posthog_plugin_sdk::limits::{
    CAPABILITIES, CLOCK_START_SECONDS, HOST_CALLS_PER_EVENT, LOG_BYTES_PER_EVENT,
    MAX_CAPTURES_PER_CALL, MAX_KEY_BYTES, MAX_VALUE_BYTES,
};
use posthog_plugin_sdk::{cache, capture, http, json, log, storage, testing};

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// A JSON string value that serialises to exactly `bytes` bytes (with its quotes).
fn json_string_of(bytes: usize) -> String {
    "x".repeat(bytes - 2)
}

#[test]
fn the_limits_are_the_harness_s() {
    assert_eq!(MAX_KEY_BYTES, 1024);
    assert_eq!(MAX_VALUE_BYTES, 1 << 20);
    assert_eq!(MAX_CAPTURES_PER_CALL, 100);
    assert_eq!(HOST_CALLS_PER_EVENT, 10_000);
    assert_eq!(LOG_BYTES_PER_EVENT, 65_536);
    assert_eq!(CLOCK_START_SECONDS, 1_704_067_200);
    assert_eq!(
        CAPABILITIES,
        ["storage", "cache", "capture", "http", "geoip"]
    );
}

#[test]
fn keys_over_max_key_bytes_are_refused_by_storage_and_cache() {
    testing::reset();
    let at_limit = "k".repeat(MAX_KEY_BYTES);
    storage::set(&at_limit, &1).unwrap();
    cache::set(&at_limit, &1, None).unwrap();
    assert_eq!(storage::get::<i64>(&at_limit).unwrap(), Some(1));

    let over = "k".repeat(MAX_KEY_BYTES + 1);
    let expected = format!("key is {} bytes, over {MAX_KEY_BYTES}", MAX_KEY_BYTES + 1);
    assert_eq!(storage::set(&over, &1).unwrap_err().to_string(), expected);
    assert_eq!(
        cache::set(&over, &1, Some(60)).unwrap_err().to_string(),
        expected
    );
    assert_eq!(testing::storage_keys(), testing::cache_keys());
    assert_eq!(testing::cache_keys(), [at_limit]);
}

#[test]
fn values_over_max_value_bytes_are_refused_by_storage_and_cache() {
    testing::reset();
    let at_limit = json_string_of(MAX_VALUE_BYTES);
    storage::set("at-limit", &at_limit).unwrap();
    cache::set("at-limit", &at_limit, None).unwrap();

    let over = json_string_of(MAX_VALUE_BYTES + 1);
    let expected = format!(
        "value is {} bytes, over {MAX_VALUE_BYTES}",
        MAX_VALUE_BYTES + 1
    );
    assert_eq!(
        storage::set("over", &over).unwrap_err().to_string(),
        expected
    );
    assert_eq!(
        cache::set("over", &over, None).unwrap_err().to_string(),
        expected
    );
    assert_eq!(testing::storage_keys(), ["at-limit"]);
    assert_eq!(testing::cache_keys(), ["at-limit"]);
}

#[test]
fn more_than_max_captures_per_call_in_one_event_is_an_error() {
    testing::reset();
    for i in 0..MAX_CAPTURES_PER_CALL {
        capture::capture("captured", json!({ "i": i })).unwrap();
    }
    let err = capture::capture("one too many", json!({})).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("more than {MAX_CAPTURES_PER_CALL} events captured in one call")
    );
    assert_eq!(testing::captured().len(), MAX_CAPTURES_PER_CALL);

    // The next event has its own allowance; what was captured stays readable.
    testing::begin_event();
    capture::capture("next event", json!({})).unwrap();
    assert_eq!(testing::captured().len(), MAX_CAPTURES_PER_CALL + 1);
}

#[test]
fn captures_are_checked_as_the_harness_checks_them() {
    testing::reset();
    assert_eq!(
        capture::capture("", json!({})).unwrap_err().to_string(),
        "the event name is empty"
    );
    assert!(testing::captured().is_empty());
}

#[test]
fn more_than_host_calls_per_event_panics() {
    testing::reset();
    // Every kind of host call counts: the budget is spent on a mix.
    for i in 0..HOST_CALLS_PER_EVENT {
        match i % 3 {
            0 => log::debug("x"),
            1 => {
                let _ = storage::get::<i64>("k");
            }
            _ => {
                let _ = cache::incr("n", 1);
            }
        }
    }
    let message = panic_message(|| log::debug("one too many"));
    assert_eq!(
        message,
        format!("more than {HOST_CALLS_PER_EVENT} host calls in one call")
    );
}

#[test]
fn host_calls_per_event_start_again_with_each_event() {
    testing::reset();
    for _ in 0..HOST_CALLS_PER_EVENT {
        let _ = storage::get::<i64>("k");
    }
    testing::begin_event();
    for _ in 0..HOST_CALLS_PER_EVENT {
        let _ = storage::get::<i64>("k");
    }
}

#[test]
fn without_an_event_begun_there_are_no_per_event_budgets() {
    // A fresh thread that never called `reset` or `begin_event`, like a benchmark's loop.
    std::thread::spawn(|| {
        for _ in 0..=HOST_CALLS_PER_EVENT {
            let _ = storage::get::<i64>("k");
        }
        for i in 0..=MAX_CAPTURES_PER_CALL {
            capture::capture("captured", json!({ "i": i })).unwrap();
        }
    })
    .join()
    .expect("no budget applies");
}

#[test]
fn more_than_log_bytes_per_event_panics() {
    testing::reset();
    let half = "l".repeat(LOG_BYTES_PER_EVENT as usize / 2);
    log::info(&half);
    log::info(&half);
    assert_eq!(testing::logs().len(), 2, "exactly at the limit is allowed");
    let message = panic_message(|| log::info("!"));
    assert_eq!(
        message,
        format!("logged more than {LOG_BYTES_PER_EVENT} bytes in one call")
    );

    testing::begin_event();
    log::info(&half);
}

#[test]
fn undeclared_capabilities_panic_and_declared_ones_work() {
    testing::reset();
    testing::declare(&["cache"]);
    cache::set("k", &1, None).unwrap();
    log::info("log is always allowed");
    for (capability, call) in [
        (
            "storage",
            Box::new(|| {
                let _ = storage::get::<i64>("k");
            }) as Box<dyn FnOnce()>,
        ),
        (
            "capture",
            Box::new(|| {
                let _ = capture::capture("e", json!({}));
            }),
        ),
        (
            "http",
            Box::new(|| {
                let _ = http::get("https://api.example.com/");
            }),
        ),
    ] {
        assert_eq!(
            panic_message(call),
            format!("called `{capability}`, which plugin.json does not declare")
        );
    }

    // `reset` goes back to the default: here (no plugin.json) everything is allowed.
    testing::reset();
    storage::set("k", &1).unwrap();
}

#[test]
fn declared_http_hosts_are_enforced() {
    testing::reset();
    testing::declare_json(r#"{"http": {"hosts": ["api.example.com", "*.example.org"]}}"#);
    testing::add_http_fixture("GET", "https://API.example.com/rates", 200, "{}");
    testing::add_http_fixture("GET", "https://eu.example.org/rates", 200, "{}");
    assert_eq!(
        http::get("https://API.example.com/rates").unwrap().status,
        200
    );
    assert_eq!(
        http::get("https://eu.example.org/rates").unwrap().status,
        200
    );
    for (url, host) in [
        ("https://evil-api.example.com/rates", "evil-api.example.com"),
        ("https://example.org/rates", "example.org"),
    ] {
        assert_eq!(
            http::get(url).unwrap_err().to_string(),
            format!("host `{host}` is not in plugin.json's capabilities.http.hosts")
        );
    }
    assert_eq!(
        http::get("/relative").unwrap_err().to_string(),
        "`/relative` is not an absolute http(s) URL"
    );
    let message = panic_message(|| {
        let _ = storage::get::<i64>("k");
    });
    assert!(message.contains("`storage`"), "{message}");
}

#[test]
fn capabilities_are_read_from_a_plugin_json() {
    let dir = std::env::temp_dir().join(format!("sdk-native-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("plugin.json");
    std::fs::write(
        &manifest,
        r#"{"name": "p", "capabilities": {"storage": true, "cache": false}}"#,
    )
    .unwrap();
    testing::reset();
    testing::declare_from_manifest(&manifest);
    std::fs::remove_dir_all(&dir).unwrap();
    storage::set("k", &1).unwrap();
    assert_eq!(
        panic_message(|| {
            let _ = cache::get::<i64>("k");
        }),
        "called `cache`, which plugin.json does not declare"
    );

    testing::allow_all();
    cache::set("k", &1, None).unwrap();
}

#[test]
fn unknown_capabilities_are_refused_when_declared() {
    let message = panic_message(|| testing::declare(&["filesystem"]));
    assert!(
        message.contains("unknown capability `filesystem`"),
        "{message}"
    );
    let message = panic_message(|| testing::declare_json(r#"{"filesystem": true}"#));
    assert!(
        message.contains("unknown capability `filesystem`"),
        "{message}"
    );
}

#[test]
fn the_cache_clock_starts_where_the_harness_clock_starts() {
    testing::reset();
    assert_eq!(testing::clock_unix_seconds(), CLOCK_START_SECONDS);
    cache::set("k", &1, Some(60)).unwrap();
    testing::set_clock_seconds(59);
    assert_eq!(testing::clock_unix_seconds(), CLOCK_START_SECONDS + 59);
    assert_eq!(
        cache::get::<i64>("k").unwrap(),
        Some(1),
        "a second before expiry"
    );
    testing::set_clock_seconds(60);
    assert_eq!(cache::get::<i64>("k").unwrap(), None, "expired");
}

#[test]
fn cache_incr_reports_what_the_harness_reports() {
    testing::reset();
    cache::set("text", &"abc", None).unwrap();
    assert_eq!(
        cache::incr("text", 1).unwrap_err().to_string(),
        "the value under `text` is not an integer"
    );
    cache::set("max", &i64::MAX, Some(10)).unwrap();
    assert_eq!(
        cache::incr("max", 1).unwrap_err().to_string(),
        "the value under `max` would overflow"
    );
    assert_eq!(cache::incr("max", -1).unwrap(), i64::MAX - 1);
    testing::set_clock_seconds(10);
    assert_eq!(
        cache::incr("max", 1).unwrap(),
        1,
        "the expired value counts as 0"
    );
}

#[test]
fn geoip_answers_inside_the_networks_given_and_needs_the_capability() {
    use posthog_plugin_sdk::{geoip, json};
    testing::reset();
    testing::set_location(
        "89.160.20.128/25",
        json!({"city": {"names": {"en": "Linköping"}}}),
    );
    testing::set_location("2001:db8::1", json!({"country": {"iso_code": "ZZ"}}));
    assert_eq!(
        geoip::locate("89.160.20.255").unwrap()["city"]["names"]["en"],
        "Linköping"
    );
    assert!(geoip::locate("89.160.20.127").is_none(), "outside the /25");
    assert_eq!(
        geoip::locate("2001:db8::1").unwrap()["country"]["iso_code"],
        "ZZ"
    );
    assert!(geoip::locate("2001:db8::2").is_none());
    assert!(geoip::locate("not an address").is_none());

    testing::declare(&["storage"]);
    let refused = std::panic::catch_unwind(|| geoip::locate("89.160.20.129"));
    let message = refused.unwrap_err();
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("called `geoip`, which plugin.json does not declare"),
        "{message}"
    );
    testing::reset();
}
