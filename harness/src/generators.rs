//! proptest strategies for PostHog events that follow the base event schema
//! (`schemas/event.schema.json`): every event has `event`, `distinct_id`, a hyphenated `uuid`, an
//! integer `team_id` of at least 1, an RFC 3339 `timestamp` and a `properties` object, and the
//! events PostHog gives a schema of their own (`$pageview`, `$identify`, `$autocapture`,
//! `$groupidentify`) carry what that schema requires. Inside those bounds the values go where
//! plugins break: nested property bags, unicode, long strings, numbers at the edges of what JSON
//! and `i64`/`u64`/`f64` hold, `$set`/`$set_once`, URLs, version strings.
//!
//! [`Bias`] steers the generator toward what a plugin's config names: every config value split
//! on commas is a candidate property key (dot paths become nested objects), event name and
//! property value, so that a property filter meets the paths it filters and a version splitter
//! the keys it splits. `$snapshot` and `$performance_event` are never generated: the pipeline
//! does not give them to `process-event`.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// What a plugin's config names, to steer generated events toward it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bias {
    /// Candidate property keys or dot paths (`$set.email`).
    pub keys: Vec<String>,
    /// Candidate event names and string values.
    pub words: Vec<String>,
}

impl Bias {
    /// The candidates in a plugin's config values: each value split on commas and trimmed.
    pub fn from_config(config: &[(String, String)]) -> Bias {
        let mut words: Vec<String> = config
            .iter()
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|word| !word.is_empty() && word.chars().count() <= 200)
            .map(str::to_owned)
            .collect();
        words.sort();
        words.dedup();
        Bias {
            keys: words.clone(),
            words,
        }
    }
}

/// PostHog's own event names that go through `process-event`.
pub const POSTHOG_EVENTS: &[&str] = &[
    "$pageview",
    "$pageleave",
    "$autocapture",
    "$identify",
    "$groupidentify",
    "$create_alias",
    "$screen",
    "$feature_flag_called",
    "$exception",
    "$rageclick",
    "$web_vitals",
    "$set",
];

/// Properties the PostHog SDKs send.
const POSTHOG_PROPERTIES: &[&str] = &[
    "$current_url",
    "$host",
    "$pathname",
    "$referrer",
    "$browser",
    "$browser_version",
    "$os",
    "$os_version",
    "$device_type",
    "$lib",
    "$lib_version",
    "$app_version",
    "$session_id",
    "$window_id",
    "$device_id",
    "$ip",
    "$geoip_latitude",
    "$geoip_longitude",
    "$geoip_country_code",
    "$screen_width",
    "$timezone",
    "$groups",
    "$feature/new-onboarding",
    "amount",
    "currency",
    "plan",
    "email",
];

/// Words custom event names are made of: plain, acronyms, digits, non-ASCII.
const NAME_WORDS: &[&str] = &[
    "user",
    "signed",
    "up",
    "Order",
    "completed",
    "button",
    "CLICKED",
    "HTML",
    "parser",
    "iOS",
    "app",
    "opened",
    "page2",
    "view",
    "größe",
    "ユーザー",
    "Éclair",
    "ΣΊΣΥΦΟΣ",
    "x",
    "v2",
    "API",
    "ǅungla",
    "İstanbul",
    "🎉",
];

/// Interesting characters, by class: each class is picked as often as the others, so that rare
/// ones (Latin-1 symbols, combining marks, bidi controls) show up in a few dozen events.
fn any_char() -> BoxedStrategy<char> {
    prop_oneof![
        3 => prop::char::range('a', 'z'),
        1 => prop::char::range('A', 'Z'),
        1 => prop::char::range('0', '9'),
        1 => prop::sample::select(vec![' ', '.', '-', '_', '/', ':', '?', '#', '%', '"', '\\', '\'', ',', '$', '{', '}']),
        1 => prop::char::range('\u{a0}', '\u{ff}'),
        1 => prop::char::range('\u{391}', '\u{3c9}'),
        1 => prop::char::range('\u{410}', '\u{44f}'),
        1 => prop::char::range('\u{4e00}', '\u{4e40}'),
        1 => prop::char::range('\u{1f600}', '\u{1f64f}'),
        1 => prop::sample::select(vec!['\u{0}', '\n', '\t', '\u{301}', '\u{200b}', '\u{200f}', '\u{202e}', '\u{feff}', 'ß', 'ǅ', 'İ', 'ﬃ', '\u{10ffff}']),
    ]
    .boxed()
}

/// A string of up to `max` interesting characters.
pub fn text(max: usize) -> BoxedStrategy<String> {
    vec(any_char(), 0..=max).prop_map(String::from_iter).boxed()
}

/// A string that is not empty.
fn non_empty_text(max: usize) -> BoxedStrategy<String> {
    vec(any_char(), 1..=max.max(1))
        .prop_map(String::from_iter)
        .boxed()
}

/// Mostly short strings, sometimes long ones (a short piece repeated up to 5,000 times).
pub fn string_value() -> BoxedStrategy<String> {
    prop_oneof![
        8 => text(24),
        1 => (non_empty_text(8), 1..5_000usize).prop_map(|(piece, times)| piece.repeat(times)),
    ]
    .boxed()
}

/// Numbers, with the edges of `i64`, `u64` and `f64` (JSON has no NaN or infinity).
pub fn number() -> BoxedStrategy<Value> {
    let edges = vec![
        Value::from(0),
        Value::from(-1),
        Value::from(1),
        Value::from(i64::MIN),
        Value::from(i64::MAX),
        Value::from(u64::MAX),
        Value::from(1i64 << 53),
        Value::from((1i64 << 53) + 1),
        Value::from(f64::MAX),
        Value::from(f64::MIN),
        Value::from(f64::MIN_POSITIVE),
        Value::from(5e-324),
        Value::from(-0.0),
        Value::from(0.1),
        Value::from(1e21),
    ];
    prop_oneof![
        2 => prop::sample::select(edges),
        2 => any::<i64>().prop_map(Value::from),
        1 => (-1_000_000i64..1_000_000).prop_map(Value::from),
        2 => any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::from(0), Value::Number)),
    ]
    .boxed()
}

/// Any JSON value, nested up to three levels.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        3 => number(),
        5 => string_value().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((text(10), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
    .boxed()
}

/// URLs as browsers report them: mixed-case schemes and hosts, ports, paths with and without
/// trailing slashes, queries, fragments, non-ASCII; now and then something that is not a URL.
pub fn url() -> BoxedStrategy<String> {
    let scheme = prop::sample::select(vec!["https", "http", "HTTPS", "Http", "ftp", "app"]);
    let host = prop::sample::select(vec![
        "example.com",
        "Example.COM",
        "www.posthog.com",
        "localhost",
        "127.0.0.1",
        "[::1]",
        "bücher.de",
        "xn--bcher-kva.de",
        "sub.Domain.example.org",
    ]);
    let port = prop::option::of(prop::sample::select(vec![80u16, 443, 3000, 8080]));
    let segment = prop_oneof![
        4 => prop::sample::select(vec!["docs", "Pricing", "a", "B", "checkout", "%20x", "ünïcode", "", "index.html", "API", "v1"]).prop_map(str::to_owned),
        1 => text(8).prop_map(|s| s.replace(['/', '?', '#'], "")),
    ];
    let path = vec(segment, 0..4);
    let trailing = prop::sample::select(vec!["", "", "/", "//"]);
    let query = prop::option::of(prop::sample::select(vec![
        "q=Value",
        "utm_source=Google&utm_medium=CPC",
        "a=1&a=2",
        "redirect=https://Other.example/Path/",
        "",
    ]));
    let fragment = prop::option::of(prop::sample::select(vec!["Top", "/Route/", ""]));
    let structured = (scheme, host, port, path, trailing, query, fragment).prop_map(
        |(scheme, host, port, path, trailing, query, fragment)| {
            let mut url = format!("{scheme}://{host}");
            if let Some(port) = port {
                url.push_str(&format!(":{port}"));
            }
            for segment in path {
                url.push('/');
                url.push_str(&segment);
            }
            url.push_str(trailing);
            if let Some(query) = query {
                url.push('?');
                url.push_str(query);
            }
            if let Some(fragment) = fragment {
                url.push('#');
                url.push_str(fragment);
            }
            url
        },
    );
    prop_oneof![
        9 => structured,
        1 => non_empty_text(20),
    ]
    .boxed()
}

/// Version strings: semver, partial versions, a leading `v`, pre-release and build parts, and
/// near misses (empty parts, numbers too large for `u64`, letters).
pub fn version() -> BoxedStrategy<String> {
    let number = prop_oneof![
        4 => (0u64..30).prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => Just("18446744073709551616".to_owned()),
        1 => Just("01".to_owned()),
    ];
    let identifiers = vec(
        prop::sample::select(vec![
            "alpha", "beta", "rc", "1", "build", "5", "x-y", "", "ü",
        ]),
        1..3,
    )
    .prop_map(|ids| ids.join("."));
    (
        prop::sample::select(vec!["", "", "v", "V"]),
        vec(number, 1..4),
        prop::option::of(identifiers.clone()),
        prop::option::of(identifiers),
    )
        .prop_map(|(prefix, numbers, pre, build)| {
            let mut version = format!("{prefix}{}", numbers.join("."));
            if let Some(pre) = pre {
                version.push('-');
                version.push_str(&pre);
            }
            if let Some(build) = build {
                version.push('+');
                version.push_str(&build);
            }
            version
        })
        .boxed()
}

/// A hyphenated UUID (version 4 or 7 bits, or any bits at all).
pub fn uuid() -> BoxedStrategy<String> {
    (any::<u128>(), 0u8..3)
        .prop_map(|(bits, kind)| {
            let bits = match kind {
                0 => (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62),
                1 => (bits & !(0xf << 76) & !(0x3 << 62)) | (0x7 << 76) | (0x2 << 62),
                _ => bits,
            };
            let hex = format!("{bits:032x}");
            format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )
        })
        .boxed()
}

/// An RFC 3339 date-time from 1970 to 2099, with or without fractional seconds, in UTC (`Z`)
/// or at an offset.
pub fn timestamp() -> BoxedStrategy<String> {
    let offsets = vec!["Z", "Z", "+00:00", "+05:30", "-08:00", "+14:00"];
    (
        0i64..4_102_444_800,
        prop::option::of(0u32..1000),
        prop::sample::select(offsets),
    )
        .prop_map(|(seconds, millis, offset)| rfc3339(seconds, millis, offset))
        .boxed()
}

/// Formats seconds since 1970 (at the offset given, which only labels the time) as RFC 3339.
pub fn rfc3339(seconds: i64, millis: Option<u32>, offset: &str) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let fraction = millis.map_or(String::new(), |ms| format!(".{ms:03}"));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{fraction}{offset}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Howard Hinnant's `civil_from_days`: the proleptic Gregorian date of a day count since 1970.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A custom event name: one to four words in one of the naming conventions people use.
pub fn custom_event_name() -> BoxedStrategy<String> {
    (vec(prop::sample::select(NAME_WORDS), 1..5), 0u8..8)
        .prop_map(|(words, convention)| {
            let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
            let capital = |w: &String| {
                let mut chars = w.chars();
                chars
                    .next()
                    .map_or(String::new(), |c| c.to_uppercase().chain(chars).collect())
            };
            match convention {
                0 => words.join(" "),
                1 => lower.join("_"),
                2 => lower.join("-"),
                3 => lower
                    .iter()
                    .enumerate()
                    .map(|(i, w)| if i == 0 { w.clone() } else { capital(w) })
                    .collect(),
                4 => lower.iter().map(capital).collect(),
                5 => lower.join("."),
                6 => words.join("_").to_uppercase(),
                _ => lower.iter().map(capital).collect::<Vec<_>>().join(" "),
            }
        })
        .boxed()
}

/// An event name: PostHog's, custom, one the config names, or any non-empty text.
pub fn event_name(bias: &Bias) -> BoxedStrategy<String> {
    // Custom names first: shrinking moves toward the first choice, and a custom event has no
    // schema of its own to fill in.
    let mut choices: Vec<(u32, BoxedStrategy<String>)> = vec![
        (4, custom_event_name()),
        (
            4,
            prop::sample::select(POSTHOG_EVENTS)
                .prop_map(str::to_owned)
                .boxed(),
        ),
        (1, non_empty_text(30)),
    ];
    if !bias.words.is_empty() {
        choices.push((3, prop::sample::select(bias.words.clone()).boxed()));
    }
    proptest::strategy::Union::new_weighted(choices).boxed()
}

/// A `distinct_id`: never empty (ingestion needs it), otherwise anything an SDK sends.
pub fn distinct_id() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (0u32..50).prop_map(|n| format!("user-{n}")),
        2 => uuid(),
        1 => prop::sample::select(vec!["ada@example.com", "Ada@Example.COM", "12345", "0", "ユーザー", "anonymous"]).prop_map(str::to_owned),
        1 => non_empty_text(40),
    ]
    .boxed()
}

/// One property key: an SDK's, one the config names, or any text.
fn property_key(bias: &Bias) -> BoxedStrategy<String> {
    let mut choices: Vec<(u32, BoxedStrategy<String>)> = vec![
        (
            4,
            prop::sample::select(POSTHOG_PROPERTIES)
                .prop_map(str::to_owned)
                .boxed(),
        ),
        (2, text(12)),
    ];
    if !bias.keys.is_empty() {
        choices.push((4, prop::sample::select(bias.keys.clone()).boxed()));
    }
    proptest::strategy::Union::new_weighted(choices).boxed()
}

/// What a property key's name suggests its value is.
fn value_kind(key: &str) -> u8 {
    let key = key.to_lowercase();
    if key.contains("version") {
        0
    } else if key.contains("url") || key.contains("referrer") {
        1
    } else if key.contains("currency") {
        2
    } else if key.contains("amount") || key.contains("price") {
        3
    } else {
        4
    }
}

/// A value for `key`: mostly the kind its name suggests, sometimes anything.
fn property_entry(bias: &Bias) -> BoxedStrategy<(String, Value, bool)> {
    let words = if bias.words.is_empty() {
        vec!["value".to_owned()]
    } else {
        bias.words.clone()
    };
    let currency = prop_oneof![
        3 => prop::sample::select(vec!["USD", "EUR", "GBP", "JPY", "usd", " eur ", "XXX", "US", "EURO"]).prop_map(str::to_owned),
        1 => vec(prop::char::range('A', 'Z'), 3).prop_map(String::from_iter),
    ];
    let amount = prop_oneof![
        2 => number(),
        1 => prop::sample::select(vec!["12.50", " 7 ", "1e400", "NaN", "-0", "abc", ""]).prop_map(Value::from),
    ];
    (
        property_key(bias),
        0u8..10,
        json_value(),
        version(),
        url(),
        currency,
        amount,
        prop::sample::select(words),
        any::<bool>(),
    )
        .prop_map(
            |(key, roll, any_value, version, url, currency, amount, word, nest)| {
                let value = if roll < 2 {
                    any_value
                } else if roll < 3 {
                    Value::from(word)
                } else {
                    match value_kind(&key) {
                        0 => Value::from(version),
                        1 => Value::from(url),
                        2 => Value::from(currency),
                        3 => amount,
                        _ => any_value,
                    }
                };
                (key, value, nest)
            },
        )
        .boxed()
}

/// Sets `value` at `key` in `map`; a dot path, when `nest` is true, as nested objects.
fn insert_property(map: &mut Map<String, Value>, key: &str, value: Value, nest: bool) {
    let segments: Vec<&str> = key.split('.').collect();
    if !nest || segments.len() < 2 || segments.iter().any(|s| s.is_empty()) {
        map.insert(key.to_owned(), value);
        return;
    }
    let mut current = map;
    for segment in &segments[..segments.len() - 1] {
        let slot = current
            .entry(segment.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        current = slot.as_object_mut().expect("made an object above");
    }
    current.insert(segments[segments.len() - 1].to_owned(), value);
}

/// A property bag of up to 16 entries.
pub fn properties(bias: &Bias) -> BoxedStrategy<Map<String, Value>> {
    vec(property_entry(bias), 0..16)
        .prop_map(|entries| {
            let mut map = Map::new();
            for (key, value, nest) in entries {
                insert_property(&mut map, &key, value, nest);
            }
            map
        })
        .boxed()
}

/// Person properties for `$set` / `$set_once`.
fn person_properties() -> BoxedStrategy<Map<String, Value>> {
    let key = prop_oneof![
        3 => prop::sample::select(vec!["email", "name", "plan", "$initial_referrer", "größe", "created_at"]).prop_map(str::to_owned),
        1 => text(10),
    ];
    vec((key, json_value()), 0..5)
        .prop_map(|entries| entries.into_iter().collect())
        .boxed()
}

/// The top-level fields besides the required ones that PostHog passes: `ip`, `site_url`,
/// `now`, `sent_at`, `offset`.
fn envelope_extras() -> BoxedStrategy<Map<String, Value>> {
    (
        prop::option::of(prop_oneof![
            Just(Value::Null),
            prop::sample::select(vec!["203.0.113.7", "2001:db8::1", "10.0.0.1"])
                .prop_map(Value::from),
        ]),
        prop::option::of(Just("https://us.posthog.com")),
        prop::option::of(timestamp()),
        prop::option::of(timestamp()),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(ip, site_url, now, sent_at, offset)| {
            let mut extras = Map::new();
            if let Some(ip) = ip {
                extras.insert("ip".into(), ip);
            }
            if let Some(site_url) = site_url {
                extras.insert("site_url".into(), site_url.into());
            }
            if let Some(now) = now {
                extras.insert("now".into(), now.into());
            }
            if let Some(sent_at) = sent_at {
                extras.insert("sent_at".into(), sent_at.into());
            }
            if let Some(offset) = offset {
                extras.insert("offset".into(), offset.into());
            }
            extras
        })
        .boxed()
}

/// An event that follows the base event schema and its event type's schema.
pub fn event(bias: &Bias) -> BoxedStrategy<Value> {
    let team_id = prop_oneof![
        4 => 1i64..100_000,
        1 => prop::sample::select(vec![1i64, 2, i64::from(i32::MAX), 1 << 53, i64::MAX]),
    ];
    let head = (
        event_name(bias),
        distinct_id(),
        uuid(),
        team_id,
        timestamp(),
    );
    let body = (
        properties(bias),
        prop::option::of(person_properties()),
        prop::option::of(person_properties()),
        envelope_extras(),
        url(),
        prop::sample::select(vec![
            "button.btn.btn-primary:nth-child=\"1\";div.container;body",
            "a:href=\"/docs\";li;ul;nav;body",
        ]),
    );
    (head, body)
        .prop_map(|((name, distinct_id, uuid, team_id, timestamp), body)| {
            let (mut properties, set, set_once, extras, url, chain) = body;
            // What the event type's schema requires.
            match name.as_str() {
                "$pageview" | "$pageleave" => {
                    let current = properties.get("$current_url");
                    if current.and_then(Value::as_str).is_none_or(str::is_empty) {
                        properties.insert("$current_url".into(), Value::from(url));
                    }
                }
                "$autocapture" => {
                    properties.insert("$event_type".into(), "click".into());
                    properties.insert("$elements_chain".into(), chain.into());
                }
                "$groupidentify" => {
                    properties.insert("$group_type".into(), "company".into());
                    properties.insert("$group_key".into(), distinct_id.clone().into());
                }
                "$identify" => {
                    properties.insert("$anon_distinct_id".into(), format!("anon-{uuid}").into());
                }
                _ => {}
            }
            let mut event = Map::new();
            event.insert("event".into(), name.into());
            event.insert("distinct_id".into(), distinct_id.into());
            event.insert("uuid".into(), uuid.into());
            event.insert("team_id".into(), team_id.into());
            event.insert("timestamp".into(), timestamp.into());
            event.insert("properties".into(), Value::Object(properties));
            if let Some(set) = set {
                event.insert("$set".into(), Value::Object(set));
            }
            if let Some(set_once) = set_once {
                event.insert("$set_once".into(), Value::Object(set_once));
            }
            event.extend(extras);
            Value::Object(event)
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    fn runner() -> TestRunner {
        TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
        )
    }

    fn samples(strategy: &BoxedStrategy<Value>, n: usize) -> Vec<Value> {
        let mut runner = runner();
        (0..n)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect()
    }

    #[test]
    fn events_have_the_required_fields_of_the_base_schema() {
        for event in samples(&event(&Bias::default()), 300) {
            for key in ["event", "distinct_id", "uuid", "timestamp"] {
                let value = event[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("{key}: {event}"));
                assert!(!value.is_empty(), "{key}: {event}");
            }
            assert!(event["team_id"].as_i64().is_some_and(|t| t >= 1), "{event}");
            assert!(event["properties"].is_object(), "{event}");
            let uuid = event["uuid"].as_str().unwrap();
            assert_eq!(uuid.len(), 36, "{uuid}");
            assert!(
                !["$snapshot", "$performance_event"].contains(&event["event"].as_str().unwrap())
            );
            if event["event"] == "$pageview" {
                assert!(event["properties"]["$current_url"].is_string(), "{event}");
            }
        }
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0, None, "Z"), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_709_648_551, Some(123), "Z"),
            "2024-03-05T14:22:31.123Z"
        );
        assert_eq!(
            rfc3339(951_782_400, None, "+05:30"),
            "2000-02-29T00:00:00+05:30"
        );
    }

    #[test]
    fn the_config_steers_keys_and_names() {
        let bias = Bias::from_config(&[
            ("properties".into(), " $ip, $set.email ,,".into()),
            ("mode".into(), "pass".into()),
        ]);
        assert_eq!(bias.keys, ["$ip", "$set.email", "pass"]);
        let events = samples(&event(&bias), 200);
        let nested = events
            .iter()
            .filter(|e| e["properties"]["$set"]["email"] != Value::Null)
            .count();
        let named = events.iter().filter(|e| e["event"] == "pass").count();
        assert!(nested > 5, "{nested} events with properties.$set.email");
        assert!(named > 5, "{named} events named after a config value");
    }
}
