//! flatten-properties: nested properties that filters can reach.
//!
//! Follows PostHog's property flattener (PostHog/flatten-properties-plugin): every nested value
//! of an event's properties is also written at the top, under its path joined with the
//! configured `separator` (`__` by default; `.`, `>` and `/` are the other choices). The nested
//! originals stay as they are:
//!
//! ```text
//! {"product": {"size": {"number": 12}}, "tags": ["a"]}
//! -> {"product": {"size": {"number": 12}}, "tags": ["a"], "product__size__number": 12, "tags__0": "a"}
//! ```
//!
//! As upstream:
//! - Arrays are flattened by index; a non-empty object is descended into; anything else (a
//!   string, number, boolean, `null`, or an empty object `{}`) is a value, and an empty array
//!   adds nothing. Top-level values are kept as they are.
//! - A flattened key overwrites a property that already has that name.
//! - `$set`, `$set_once` and `$group_set` (objects that become person or group properties) are
//!   flattened within themselves: `$set: {"a": {"b": 1}}` becomes `$set: {"a": {"b": 1}, "a__b": 1}`,
//!   with no `$set__` prefix.
//! - `$autocapture` events are left alone, and so are PostHog's internal properties wherever
//!   they are: `$elements`, `$elements_chain`, `$groups`, `$active_feature_flags`,
//!   `$heatmap_data` and `$web_vitals_data`.
//! - Only `properties` is flattened; the event's top-level `$set` and `$set_once` are not.
//!
//! Unlike upstream: a `$set`, `$set_once` or `$group_set` that is not an object is left as it is
//! (upstream spreads a string into its characters, empties a number and throws on `null`), and
//! one nested deeper is flattened like any other object (upstream lifts it to the top, over the
//! event's own `$set`).
//!
//! Idempotent: flattening again adds the same keys with the same values.

use posthog_plugin_sdk::{Config, Error, Event, Map, Plugin, Transform, Value};

pub const DEFAULT_SEPARATOR: &str = "__";

/// The separators the config field offers.
pub const SEPARATORS: [&str; 4] = ["__", ".", ">", "/"];

/// Properties PostHog uses internally, never flattened (upstream's `propertyDenyList`).
pub const DENY_LIST: [&str; 6] = [
    "$elements",
    "$elements_chain",
    "$groups",
    "$active_feature_flags",
    "$heatmap_data",
    "$web_vitals_data",
];

/// Objects of person or group properties, flattened within themselves.
pub const PROPERTY_OBJECTS: [&str; 3] = ["$set", "$set_once", "$group_set"];

pub struct FlattenProperties {
    separator: String,
}

impl Plugin for FlattenProperties {
    fn setup(config: &Config) -> Result<Self, Error> {
        let separator = config.get_or("separator", DEFAULT_SEPARATOR);
        if !SEPARATORS.contains(&separator) {
            return Err(Error::msg(format!(
                "config value `separator` = {separator:?} is not one of: {}",
                SEPARATORS.join(" ")
            )));
        }
        Ok(FlattenProperties {
            separator: separator.to_owned(),
        })
    }
}

impl Transform for FlattenProperties {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        if event.event != "$autocapture"
            && let Some(properties) = event.properties.as_mut()
        {
            *properties = flatten(properties, &self.separator).into();
        }
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(FlattenProperties);

/// `properties` with every nested value also at the top under its `separator`-joined path (see
/// the module docs).
pub fn flatten(properties: &Map<String, Value>, separator: &str) -> Map<String, Value> {
    let mut out = properties.clone();
    for (key, value) in properties {
        if DENY_LIST.contains(&key.as_str()) {
            continue;
        }
        if PROPERTY_OBJECTS.contains(&key.as_str()) {
            if let Value::Object(inner) = value {
                out.insert(key.clone(), Value::Object(flatten(inner, separator)));
            }
            continue;
        }
        add_nested(key, value, separator, &mut out);
    }
    out
}

/// Adds the values nested in `value` (found under `path`) to `out`.
fn add_nested(path: &str, value: &Value, separator: &str, out: &mut Map<String, Value>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| (index.to_string(), item))
            .collect(),
        Value::Object(object) => object
            .iter()
            .filter(|(key, _)| !DENY_LIST.contains(&key.as_str()))
            .map(|(key, item)| (key.clone(), item))
            .collect(),
        _ => return,
    };
    for (key, child) in children {
        let child_path = format!("{path}{separator}{key}");
        match child {
            Value::Array(_) => add_nested(&child_path, child, separator, out),
            Value::Object(object) if !object.is_empty() => {
                add_nested(&child_path, child, separator, out)
            }
            leaf => {
                out.insert(child_path, leaf.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use posthog_plugin_sdk::json;

    fn plugin(separator: Option<&str>) -> FlattenProperties {
        let config: Config = separator.map(|s| ("separator", s)).into_iter().collect();
        FlattenProperties::setup(&config).unwrap()
    }

    #[track_caller]
    fn check(separator: &str, properties: Value, expected: Value) {
        let Value::Object(properties) = properties else {
            panic!("properties must be an object")
        };
        assert_eq!(Value::Object(flatten(&properties, separator)), expected);
    }

    #[test]
    fn flattens_objects_and_arrays_beside_the_originals() {
        check(
            "__",
            json!({"product": {"name": "AZ12", "size": {"number": 12}}, "tags": ["a", {"b": 1}], "x": 1}),
            json!({
                "product": {"name": "AZ12", "size": {"number": 12}}, "tags": ["a", {"b": 1}], "x": 1,
                "product__name": "AZ12", "product__size__number": 12, "tags__0": "a", "tags__1__b": 1,
            }),
        );
        check(
            "/",
            json!({"a": {"b": [true]}}),
            json!({"a": {"b": [true]}, "a/b/0": true}),
        );
    }

    #[test]
    fn empty_objects_and_nulls_are_values_and_empty_arrays_add_nothing() {
        check(
            "__",
            json!({"top": {}, "list": [], "a": {"empty": {}, "none": null, "list": [], "deep": [[]]}}),
            json!({
                "top": {}, "list": [], "a": {"empty": {}, "none": null, "list": [], "deep": [[]]},
                "a__empty": {}, "a__none": null,
            }),
        );
    }

    #[test]
    fn flattened_keys_overwrite_properties_of_that_name() {
        check(
            ".",
            json!({"a.b": "old", "a": {"b": "new"}}),
            json!({"a.b": "new", "a": {"b": "new"}}),
        );
    }

    #[test]
    fn flattens_person_and_group_properties_within_themselves() {
        check(
            "__",
            json!({"$set": {"a": {"b": 1}}, "$set_once": {"c": [2]}, "$group_set": {"d": {"e": 3}, "f": 4}}),
            json!({
                "$set": {"a": {"b": 1}, "a__b": 1},
                "$set_once": {"c": [2], "c__0": 2},
                "$group_set": {"d": {"e": 3}, "f": 4, "d__e": 3},
            }),
        );
        // Not objects: left as they are.
        let odd = json!({"$set": "text", "$set_once": null, "$group_set": [1]});
        check("__", odd.clone(), odd);
        // Deeper down, `$set` is a key like any other.
        check(
            "__",
            json!({"a": {"$set": {"b": 1}}}),
            json!({"a": {"$set": {"b": 1}}, "a__$set__b": 1}),
        );
    }

    #[test]
    fn skips_internal_properties_wherever_they_are() {
        let properties = json!({
            "$elements": [{"tag_name": "a"}], "$elements_chain": "a", "$groups": {"company": "x"},
            "$active_feature_flags": ["f"], "$heatmap_data": {"u": [1]}, "$web_vitals_data": {"LCP": 1},
            "nested": {"$groups": {"company": "x"}, "ok": 1},
        });
        let mut expected = properties.clone();
        expected["nested__ok"] = json!(1);
        check("__", properties, expected);
    }

    #[test]
    fn leaves_autocapture_and_events_without_properties_alone() {
        let mut plugin = plugin(None);
        let mut event = Event::new("$autocapture", "u1");
        event.set_property("a", json!({"b": 1}));
        assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
        let event = Event::new("e", "u1");
        assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
    }

    #[test]
    fn leaves_the_top_level_set_alone() {
        let mut plugin = plugin(Some("__"));
        let mut event = Event::new("$identify", "u1");
        event.set = Some(json!({"a": {"b": 1}}).as_object().unwrap().clone());
        event.set_property("$set", json!({"a": {"b": 1}}));
        let out = plugin.process_event(event.clone()).unwrap().unwrap();
        assert_eq!(out.set, event.set);
        assert_eq!(
            out.property("$set"),
            Some(&json!({"a": {"b": 1}, "a__b": 1}))
        );
    }

    #[test]
    fn setup_takes_the_choices_only() {
        for separator in SEPARATORS {
            assert!(
                FlattenProperties::setup(&[("separator", separator)].into_iter().collect()).is_ok()
            );
        }
        for bad in ["", "-", "___"] {
            let err = FlattenProperties::setup(&[("separator", bad)].into_iter().collect())
                .err()
                .unwrap();
            assert!(err.to_string().contains("`separator`"), "{err}");
        }
        assert_eq!(plugin(None).separator, "__");
    }

    #[test]
    fn is_idempotent() {
        let mut plugin = plugin(None);
        let mut event = Event::new("purchase", "u1");
        event.set_property(
            "product",
            json!({"size": {"number": 12}, "tags": ["a", []]}),
        );
        event.set_property("$set", json!({"plan": {"tier": "pro"}}));
        event.set_property("$active_feature_flags", json!(["x"]));
        let once = plugin.process_event(event).unwrap().unwrap();
        let twice = plugin.process_event(once.clone()).unwrap().unwrap();
        assert_eq!(twice, once);
    }
}
