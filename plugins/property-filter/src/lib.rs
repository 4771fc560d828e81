//! property-filter: properties you never want to store, removed before ingestion.
//!
//! Follows PostHog's property filter plugin (PostHog/property-filter-plugin): the config value
//! `properties` lists property paths, comma-separated, relative to the event's `properties`. A
//! path without a dot names a top-level property; a dot path reaches into nested objects
//! (`$set.email` removes the `email` key of `properties.$set`) and, as upstream, into arrays by
//! index (`items.0.price`; an array element itself is replaced by `null`, as JavaScript's
//! `delete` leaves a hole that JSON writes as `null`). Listing `$ip` also removes the event's
//! top-level `ip`. An event without properties gets an empty `properties` object, as upstream
//! returns `{...event, properties: {}}`.
//!
//! A blank `properties` (PostHog's default for the field is `""`) filters nothing; only when the
//! key is absent from the config does the default list below apply.
//!
//! Deliberately unlike upstream: items are trimmed (`a, b` lists `b`, where upstream looks for
//! ` b`) and empty items are skipped; a path that runs into a string, number or `null` on the way
//! is ignored (upstream's `in` throws there, and the event then keeps every property); and a
//! top-level key that contains a literal dot and equals the whole path is removed too, so `a.b`
//! removes both `properties["a.b"]` and `properties.a.b`.

use posthog_plugin_sdk::{Config, Error, Event, Map, Plugin, Transform, Value};

pub const DEFAULT_PROPERTIES: &str = "$ip,$geoip_latitude,$geoip_longitude";

pub struct PropertyFilter {
    paths: Vec<String>,
}

impl Plugin for PropertyFilter {
    fn setup(config: &Config) -> Result<Self, Error> {
        Ok(PropertyFilter {
            paths: parse_paths(config.get_or("properties", DEFAULT_PROPERTIES)),
        })
    }
}

impl Transform for PropertyFilter {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        if self.paths.iter().any(|path| path == "$ip") {
            event.other.shift_remove("ip");
        }
        let properties = event.properties_mut();
        for path in &self.paths {
            remove_path(properties, path);
        }
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(PropertyFilter);

/// The paths of a comma-separated list: items trimmed, empty items skipped.
pub fn parse_paths(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|path| !path.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Removes `path` from `properties`: the top-level key equal to the whole path, and, for a dot
/// path, what its last segment names in the object or array the other segments lead to (an
/// array element becomes `null`). Returns whether anything was removed.
pub fn remove_path(properties: &mut Map<String, Value>, path: &str) -> bool {
    let mut removed = properties.shift_remove(path).is_some();
    let Some((parents, last)) = path.rsplit_once('.') else {
        return removed;
    };
    let mut segments = parents.split('.');
    let first = segments.next().expect("split yields at least one segment");
    let Some(mut current) = properties.get_mut(first) else {
        return removed;
    };
    for segment in segments {
        match child(current, segment) {
            Some(next) => current = next,
            None => return removed,
        }
    }
    match current {
        Value::Object(object) => removed |= object.shift_remove(last).is_some(),
        Value::Array(items) => {
            if let Some(item) = array_index(last, items.len()).map(|i| &mut items[i]) {
                removed |= !item.is_null();
                *item = Value::Null;
            }
        }
        _ => {}
    }
    removed
}

/// What `segment` names inside `value`: a key of an object, an index of an array.
fn child<'a>(value: &'a mut Value, segment: &str) -> Option<&'a mut Value> {
    match value {
        Value::Object(object) => object.get_mut(segment),
        Value::Array(items) => {
            let index = array_index(segment, items.len())?;
            items.get_mut(index)
        }
        _ => None,
    }
}

/// `segment` as an index below `len`, written as JavaScript writes array indices (`0`, `12`;
/// not `01` or `+1`).
fn array_index(segment: &str, len: usize) -> Option<usize> {
    let digits = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    if !digits || (segment.len() > 1 && segment.starts_with('0')) {
        return None;
    }
    segment.parse().ok().filter(|&index| index < len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use posthog_plugin_sdk::json;

    #[track_caller]
    fn check(paths: &str, properties: Value, expected: Value) {
        let Value::Object(mut map) = properties else {
            panic!("properties must be an object")
        };
        for path in parse_paths(paths) {
            remove_path(&mut map, &path);
        }
        assert_eq!(Value::Object(map), expected, "removing {paths:?}");
    }

    #[test]
    fn removes_top_level_properties() {
        check(
            "$ip, $geoip_latitude",
            json!({"$ip": "1.2.3.4", "$geoip_latitude": 52.5, "$browser": "Firefox"}),
            json!({"$browser": "Firefox"}),
        );
    }

    #[test]
    fn removes_nested_properties_by_dot_path() {
        check(
            "$set.email,a.b.c",
            json!({"$set": {"email": "x@y.z", "name": "X"}, "a": {"b": {"c": 1, "d": 2}}}),
            json!({"$set": {"name": "X"}, "a": {"b": {"d": 2}}}),
        );
    }

    #[test]
    fn removes_a_literal_dotted_key_and_the_nested_one() {
        check(
            "a.b",
            json!({"a.b": 1, "a": {"b": 2, "c": 3}}),
            json!({"a": {"c": 3}}),
        );
        check("a.b", json!({"a.b": 1, "a": 5}), json!({"a": 5}));
    }

    #[test]
    fn ignores_missing_paths_and_non_objects_on_the_way() {
        let properties = json!({"a": "text", "b": [{"c": 1}], "d": null, "e": {"f": 1}});
        check(
            "x,a.c,b.1.c,b.01.c,b.+0.c,b.c,b.length,d.e,e.g,e.f.g",
            properties.clone(),
            properties,
        );
    }

    #[test]
    fn reaches_into_arrays_by_index() {
        check(
            "items.0.price,tags.1,deep.0.0",
            json!({"items": [{"price": 5, "sku": "a"}, {"price": 6}], "tags": ["a", "b", "c"], "deep": [[1, 2]]}),
            json!({"items": [{"sku": "a"}, {"price": 6}], "tags": ["a", null, "c"], "deep": [[null, 2]]}),
        );
    }

    #[test]
    fn parses_the_list_like_posthog() {
        assert_eq!(parse_paths(" $ip ,, a.b ,"), ["$ip", "a.b"]);
        assert!(parse_paths("").is_empty());
    }

    #[test]
    fn filters_the_default_properties() {
        let mut plugin = PropertyFilter::setup(&Config::default()).unwrap();
        let mut event = Event::new("$pageview", "u1");
        event.set_property("$ip", "10.0.0.1");
        event.set_property("$geoip_longitude", 13.4);
        event.set_property("$current_url", "https://example.com");
        let out = plugin.process_event(event).unwrap().unwrap();
        assert_eq!(
            Value::from(out.properties.unwrap()),
            json!({"$current_url": "https://example.com"})
        );
    }

    #[test]
    fn uses_the_configured_paths_and_keeps_unicode_keys() {
        let config: Config = [("properties", "$set.email, größe")].into_iter().collect();
        let mut plugin = PropertyFilter::setup(&config).unwrap();
        let mut event = Event::new("signed up", "u1");
        event.set_property("$set", json!({"email": "a@b.c", "plan": "pro"}));
        event.set_property("größe", 3);
        event.set_property("$ip", "10.0.0.1");
        let out = plugin.process_event(event).unwrap().unwrap();
        assert_eq!(
            Value::from(out.properties.unwrap()),
            json!({"$set": {"plan": "pro"}, "$ip": "10.0.0.1"})
        );
    }

    #[test]
    fn events_without_properties_get_empty_ones() {
        let mut plugin = PropertyFilter::setup(&Config::default()).unwrap();
        let out = plugin
            .process_event(Event::new("$pageview", "u1"))
            .unwrap()
            .unwrap();
        assert_eq!(out.properties, Some(Map::new().into()));
    }

    #[test]
    fn listing_ip_removes_the_top_level_ip_too() {
        let config: Config = [("properties", "$ip")].into_iter().collect();
        let mut plugin = PropertyFilter::setup(&config).unwrap();
        let mut event = Event::new("$pageview", "u1");
        event.other.insert("ip".into(), json!("10.0.0.1"));
        event
            .other
            .insert("site_url".into(), json!("https://us.i.posthog.com"));
        event.set_property("$ip", "10.0.0.1");
        let out = plugin.process_event(event).unwrap().unwrap();
        assert_eq!(
            Value::Object(out.other),
            json!({"site_url": "https://us.i.posthog.com"})
        );
        assert_eq!(out.properties, Some(Map::new().into()));

        // Only `$ip` itself does: other paths leave it.
        let config: Config = [("properties", "ip,$ip.x")].into_iter().collect();
        let mut plugin = PropertyFilter::setup(&config).unwrap();
        let mut event = Event::new("$pageview", "u1");
        event.other.insert("ip".into(), json!("10.0.0.1"));
        let out = plugin.process_event(event.clone()).unwrap().unwrap();
        assert_eq!(out.other, event.other);
    }

    #[test]
    fn a_blank_list_filters_nothing() {
        let config: Config = [("properties", "")].into_iter().collect();
        let mut plugin = PropertyFilter::setup(&config).unwrap();
        let mut event = Event::new("$pageview", "u1");
        event.other.insert("ip".into(), json!("10.0.0.1"));
        event.set_property("$ip", "10.0.0.1");
        event.set_property("$geoip_latitude", 52.5);
        assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
    }

    #[test]
    fn is_idempotent() {
        let config: Config = [("properties", "a.b,a,c.d")].into_iter().collect();
        let mut plugin = PropertyFilter::setup(&config).unwrap();
        let mut event = Event::new("e", "u1");
        event.set_property("a.b", 1);
        event.set_property("c", json!({"d": 1, "e": 2}));
        let once = plugin.process_event(event).unwrap().unwrap();
        let twice = plugin.process_event(once.clone()).unwrap().unwrap();
        assert_eq!(twice, once);
        assert_eq!(
            Value::from(once.properties.unwrap()),
            json!({"c": {"e": 2}})
        );
    }
}
