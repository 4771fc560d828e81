//! The event a plugin sees, typed where PostHog fixes a field and open everywhere else.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A PostHog event (`PluginEvent`). Fields PostHog defines are typed; every other top-level
/// field is kept in [`Event::other`], so an event goes through a plugin without losing anything.
/// Optional fields that are absent stay absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event name: `$pageview`, `$identify`, or a custom name.
    pub event: String,
    pub distinct_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
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

    /// Parses an event from JSON text.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| Error::msg(format!("event is not valid: {e}")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an Event always serialises")
    }

    /// A top-level property.
    pub fn property(&self, key: &str) -> Option<&Value> {
        self.properties.as_ref()?.get(key)
    }

    /// The properties, created empty when the event has none.
    pub fn properties_mut(&mut self) -> &mut Map<String, Value> {
        self.properties.get_or_insert_with(Map::new)
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
