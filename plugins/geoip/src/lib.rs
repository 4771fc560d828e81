//! GeoIP enrichment, after PostHog's GeoIP plugin (`PostHog/posthog-plugin-geoip`, `index.ts`):
//! the location of the event's IP address (`properties.$ip`, else the event's `ip`) from the
//! host's MaxMind-format database, written as `$geoip_*` properties, into `$set`, and into
//! `$set_once` as `$initial_geoip_*`. An event with a truthy `$geoip_disable` is left alone.
//!
//! Upstream reads PostHog's node reader (camelCase: `isoCode`, `accuracyRadius`, `timeZone`);
//! the contract's `geoip` gives the database's own record (`iso_code`, `accuracy_radius`,
//! `time_zone`), so the field names below are the database's.

use posthog_plugin_sdk::{Config, Error, Event, Map, Plugin, Transform, Value, geoip};

/// The properties upstream defaults to `null` in `$set` and `$set_once` whenever it found a
/// location (its `props`), so a person's stale values are cleared.
pub const DEFAULT_PROPS: [&str; 15] = [
    "city_name",
    "city_confidence",
    "subdivision_2_name",
    "subdivision_2_code",
    "subdivision_1_name",
    "subdivision_1_code",
    "country_name",
    "country_code",
    "continent_name",
    "continent_code",
    "postal_code",
    "latitude",
    "longitude",
    "accuracy_radius",
    "time_zone",
];

/// Upstream spoofs this address for local development (`127.0.0.1` is nowhere).
pub const LOCAL_SPOOF: &str = "13.106.122.3";

pub struct GeoIp;

impl Plugin for GeoIp {
    fn setup(_config: &Config) -> Result<Self, Error> {
        Ok(GeoIp)
    }
}

/// JavaScript truthiness, as upstream tests `ip` and `$geoip_disable`.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// `String(ip)`, as upstream writes it.
fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The location fields upstream takes from a City record, in upstream's order. `None` is
/// JavaScript's `undefined`: the key is set to it, so it is absent from the event as written.
pub fn location_of(record: &Value) -> Vec<(String, Option<Value>)> {
    let mut location: Vec<(String, Option<Value>)> = Vec::new();
    let field = |object: &Value, path: &[&str]| -> Option<Value> {
        let mut at = object;
        for key in path {
            at = at.get(key)?;
        }
        Some(at.clone())
    };
    let mut put = |key: &str, value: Option<Value>| {
        location.retain(|(k, _)| k != key);
        location.push((key.to_owned(), value));
    };
    let confidence = |object: &Value| object.get("confidence").filter(|c| c.is_number()).cloned();
    if let Some(city) = record.get("city").filter(|c| truthy(Some(c))) {
        put("city_name", field(city, &["names", "en"]));
        if let Some(c) = confidence(city) {
            put("city_confidence", Some(c));
        }
    }
    if let Some(country) = record.get("country").filter(|c| truthy(Some(c))) {
        put("country_name", field(country, &["names", "en"]));
        put("country_code", field(country, &["iso_code"]));
        if let Some(c) = confidence(country) {
            put("country_confidence", Some(c));
        }
    }
    if let Some(continent) = record.get("continent").filter(|c| truthy(Some(c))) {
        put("continent_name", field(continent, &["names", "en"]));
        put("continent_code", field(continent, &["code"]));
    }
    if let Some(postal) = record.get("postal").filter(|c| truthy(Some(c))) {
        put("postal_code", field(postal, &["code"]));
        if let Some(c) = confidence(postal) {
            put("postal_code_confidence", Some(c));
        }
    }
    if let Some(at) = record.get("location").filter(|c| truthy(Some(c))) {
        put("latitude", field(at, &["latitude"]));
        put("longitude", field(at, &["longitude"]));
        put("accuracy_radius", field(at, &["accuracy_radius"]));
        put("time_zone", field(at, &["time_zone"]));
    }
    if let Some(subdivisions) = record.get("subdivisions").and_then(Value::as_array) {
        for (index, subdivision) in subdivisions.iter().enumerate() {
            let n = index + 1;
            put(
                &format!("subdivision_{n}_code"),
                field(subdivision, &["iso_code"]),
            );
            put(
                &format!("subdivision_{n}_name"),
                field(subdivision, &["names", "en"]),
            );
            if let Some(c) = confidence(subdivision) {
                put(&format!("subdivision_{n}_confidence"), Some(c));
            }
        }
    }
    location
}

/// `{ ...defaults, ...existing }` (a non-object `existing` spreads nothing here; upstream
/// would spread a string's characters).
fn with_defaults(prefix: &str, existing: Option<&Value>) -> Map<String, Value> {
    let mut merged: Map<String, Value> = DEFAULT_PROPS
        .iter()
        .map(|key| (format!("{prefix}{key}"), Value::Null))
        .collect();
    if let Some(Value::Object(existing)) = existing {
        for (key, value) in existing {
            merged.insert(key.clone(), value.clone());
        }
    }
    merged
}

/// Sets `key` to `value`, or removes it for JavaScript's `undefined`.
fn assign(map: &mut Map<String, Value>, key: String, value: &Option<Value>) {
    match value {
        Some(value) => {
            map.insert(key, value.clone());
        }
        None => {
            map.remove(&key);
        }
    }
}

impl Transform for GeoIp {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        let ip = event
            .property("$ip")
            .filter(|ip| truthy(Some(ip)))
            .or_else(|| event.other.get("ip"))
            .filter(|ip| truthy(Some(ip)))
            .cloned();
        let (Some(ip), false) = (ip, truthy(event.property("$geoip_disable"))) else {
            return Ok(Some(event));
        };
        let mut ip = js_string(&ip);
        if ip == "127.0.0.1" {
            ip = LOCAL_SPOOF.to_owned();
        }
        let Some(record) = geoip::locate(&ip) else {
            return Ok(Some(event));
        };
        let location = location_of(&record);
        let properties = event.properties_mut();
        let mut set = with_defaults("$geoip_", properties.get("$set"));
        let mut set_once = with_defaults("$initial_geoip_", properties.get("$set_once"));
        for (key, value) in &location {
            assign(properties, format!("$geoip_{key}"), value);
            assign(&mut set, format!("$geoip_{key}"), value);
            assign(&mut set_once, format!("$initial_geoip_{key}"), value);
        }
        properties.insert("$set".into(), Value::Object(set));
        properties.insert("$set_once".into(), Value::Object(set_once));
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(GeoIp);

#[cfg(test)]
mod tests {
    use super::*;
    use posthog_plugin_sdk::{json, serde_json, testing};

    fn linkoping() -> Value {
        json!({
            "city": {"geoname_id": 2694762, "names": {"en": "Linköping"}},
            "continent": {"code": "EU", "names": {"en": "Europe"}},
            "country": {"iso_code": "SE", "names": {"en": "Sweden"}},
            "location": {"accuracy_radius": 76, "latitude": 58.4167, "longitude": 15.6167, "time_zone": "Europe/Stockholm"},
            "subdivisions": [{"iso_code": "E", "names": {"en": "Östergötland County"}}]
        })
    }

    fn run(event: Value) -> Value {
        testing::reset();
        testing::set_location("89.160.20.128/25", linkoping());
        let event = Event::from_json(&event.to_string()).unwrap();
        let out = GeoIp.process_event(event).unwrap().unwrap();
        serde_json::from_str(&out.to_json()).unwrap()
    }

    #[test]
    fn a_located_ip_enriches_the_event_and_the_person() {
        let out = run(
            json!({"event": "$pageview", "distinct_id": "a", "ip": "89.160.20.129", "properties": {}}),
        );
        let props = &out["properties"];
        assert_eq!(props["$geoip_city_name"], "Linköping");
        assert_eq!(props["$geoip_subdivision_1_code"], "E");
        assert_eq!(props["$set"]["$geoip_time_zone"], "Europe/Stockholm");
        assert_eq!(
            props["$set"]["$geoip_postal_code"],
            Value::Null,
            "defaults to null"
        );
        assert_eq!(props["$set_once"]["$initial_geoip_latitude"], 58.4167);
    }

    #[test]
    fn the_properties_ip_wins_and_disable_or_no_ip_leave_the_event_alone() {
        let out = run(
            json!({"event": "e", "distinct_id": "a", "ip": "10.0.0.1", "properties": {"$ip": "89.160.20.200"}}),
        );
        assert_eq!(out["properties"]["$geoip_country_code"], "SE");
        for event in [
            json!({"event": "e", "distinct_id": "a", "ip": "89.160.20.129", "properties": {"$geoip_disable": true}}),
            json!({"event": "e", "distinct_id": "a", "properties": {"$ip": ""}}),
            json!({"event": "e", "distinct_id": "a", "ip": "10.0.0.1", "properties": {}}),
        ] {
            assert_eq!(run(event.clone()), event);
        }
        // A falsy `$geoip_disable` does not disable.
        let out = run(
            json!({"event": "e", "distinct_id": "a", "ip": "89.160.20.129", "properties": {"$geoip_disable": 0}}),
        );
        assert_eq!(out["properties"]["$geoip_city_name"], "Linköping");
    }

    #[test]
    fn a_missing_name_is_undefined_so_its_key_is_absent_even_from_the_defaults() {
        let mut record = linkoping();
        record["city"] = json!({"geoname_id": 1});
        testing::reset();
        testing::set_location("89.160.20.129", record);
        let event =
            Event::from_json(r#"{"event":"e","distinct_id":"a","ip":"89.160.20.129"}"#).unwrap();
        let out = GeoIp.process_event(event).unwrap().unwrap();
        let props = out.properties.unwrap();
        assert!(!props.contains_key("$geoip_city_name"));
        assert!(
            !props["$set"]
                .as_object()
                .unwrap()
                .contains_key("$geoip_city_name")
        );
        assert_eq!(props["$geoip_country_name"], "Sweden");
    }
}
