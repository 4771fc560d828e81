//! The event a plugin sees, typed where PostHog fixes a field and open everywhere else.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::properties::{Checked, Properties, write_value};

/// A PostHog event (`PluginEvent`). Fields PostHog defines are typed; every other top-level
/// field is kept in [`Event::other`], so an event goes through a plugin without losing anything.
/// Optional fields that are absent stay absent.
///
/// [`Event::from_json`] reads [`Event::properties`] lazily (see [`Properties`]); the other
/// fields are parsed whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event name: `$pageview`, `$identify`, or a custom name.
    pub event: String,
    pub distinct_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Properties>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Person properties to set (`$set`).
    #[serde(rename = "$set", default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Map<String, Value>>,
    /// Person properties to set once (`$set_once`).
    #[serde(rename = "$set_once", default, skip_serializing_if = "Option::is_none")]
    pub set_once: Option<Map<String, Value>>,
    /// Everything else: `ip`, `site_url`, `now`, `sent_at`, `offset`, ...
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Event {
    /// A minimal event, for tests.
    pub fn new(event: impl Into<String>, distinct_id: impl Into<String>) -> Self {
        Event {
            event: event.into(),
            distinct_id: distinct_id.into(),
            properties: None,
            uuid: None,
            team_id: None,
            timestamp: None,
            set: None,
            set_once: None,
            other: Map::new(),
        }
    }

    /// Parses an event from JSON text: every field but the properties' values, which are parsed
    /// as they are read. The errors are `serde_json::from_str::<Event>`'s.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let wire: Wire = serde_json::from_str(json).map_err(invalid)?;
        Ok(Event {
            event: wire.event,
            distinct_id: wire.distinct_id,
            properties: wire
                .properties
                .map(|checked| read_properties(json, checked)),
            uuid: wire.uuid,
            team_id: wire.team_id,
            timestamp: wire.timestamp,
            set: wire.set,
            set_once: wire.set_once,
            other: wire.other,
        })
    }

    /// Parses an event from JSON text whole, properties too (what a plugin that reads every
    /// property pays less for). The same event and errors as [`Event::from_json`].
    pub(crate) fn from_json_whole(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(invalid)
    }

    /// The event as compact JSON: what `serde_json::to_string` writes for it (the fields in
    /// their declared order, absent ones left out, `other`'s after them), with every property
    /// value nobody changed written as the text it was read from.
    pub fn to_json(&self) -> String {
        let properties = self.properties.as_ref().map_or(0, Properties::size_hint);
        let mut out = Vec::with_capacity(properties + 256);
        out.extend_from_slice(b"{\"event\":");
        write_value(&mut out, &self.event);
        out.extend_from_slice(b",\"distinct_id\":");
        write_value(&mut out, &self.distinct_id);
        if let Some(properties) = &self.properties {
            out.extend_from_slice(b",\"properties\":");
            properties.write_json(&mut out);
        }
        field(&mut out, b",\"uuid\":", self.uuid.as_ref());
        field(&mut out, b",\"team_id\":", self.team_id.as_ref());
        field(&mut out, b",\"timestamp\":", self.timestamp.as_ref());
        field(&mut out, b",\"$set\":", self.set.as_ref());
        field(&mut out, b",\"$set_once\":", self.set_once.as_ref());
        for (key, value) in &self.other {
            out.push(b',');
            write_value(&mut out, key);
            out.push(b':');
            write_value(&mut out, value);
        }
        out.push(b'}');
        String::from_utf8(out).expect("serde_json and the text read write UTF-8")
    }

    /// A top-level property.
    pub fn property(&self, key: &str) -> Option<&Value> {
        self.properties.as_ref()?.get(key)
    }

    /// The properties, created empty when the event has none.
    pub fn properties_mut(&mut self) -> &mut Properties {
        self.properties.get_or_insert_with(Properties::new)
    }

    pub fn set_property(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.properties_mut().insert(key.into(), value.into());
    }

    pub fn remove_property(&mut self, key: &str) -> Option<Value> {
        self.properties.as_mut()?.shift_remove(key)
    }

    /// Whether this is a PostHog event that never goes through `process-event`
    /// (session recordings and performance events).
    pub fn skips_processing(&self) -> bool {
        matches!(self.event.as_str(), "$snapshot" | "$performance_event")
    }
}

/// What [`Event::from_json`] reads: the event's fields, its properties as text.
#[derive(Deserialize)]
struct Wire {
    event: String,
    distinct_id: String,
    #[serde(default)]
    properties: Option<Checked>,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    team_id: Option<i64>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(rename = "$set", default)]
    set: Option<Map<String, Value>>,
    #[serde(rename = "$set_once", default)]
    set_once: Option<Map<String, Value>>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

/// The properties of `json`, an event serde_json has read: lazily, or parsed whole when a key
/// had escapes.
fn read_properties(json: &str, checked: Checked) -> Properties {
    Properties::read(json, checked).unwrap_or_else(|| {
        #[derive(Deserialize)]
        struct Whole {
            properties: Map<String, Value>,
        }
        serde_json::from_str::<Whole>(json)
            .map(|whole| whole.properties.into())
            .unwrap_or_default()
    })
}

fn invalid(error: serde_json::Error) -> Error {
    Error::msg(format!("event is not valid: {error}"))
}

/// `,"name":` (given as it is written) and the value, when there is a value.
fn field<T: Serialize + ?Sized>(out: &mut Vec<u8>, name: &[u8], value: Option<&T>) {
    if let Some(value) = value {
        out.extend_from_slice(name);
        write_value(out, value);
    }
}

/// A plugin's error: a message that the harness records against the plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    pub fn msg(message: impl Into<String>) -> Self {
        Error(message.into())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        Error(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_unknown_fields_and_absent_ones_absent() {
        let json = r#"{"event":"e","distinct_id":"d","ip":null,"site_url":"http://x","offset":3}"#;
        let event = Event::from_json(json).unwrap();
        let back: Value = serde_json::from_str(&event.to_json()).unwrap();
        let original: Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn set_property_creates_properties() {
        let mut event = Event::new("e", "d");
        assert_eq!(event.property("a"), None);
        event.set_property("a", 1);
        assert_eq!(event.property("a"), Some(&Value::from(1)));
        assert_eq!(event.remove_property("a"), Some(Value::from(1)));
    }

    #[test]
    fn missing_distinct_id_is_an_error() {
        let err = Event::from_json(r#"{"event":"e"}"#).unwrap_err();
        assert!(err.to_string().contains("distinct_id"), "{err}");
    }
}
