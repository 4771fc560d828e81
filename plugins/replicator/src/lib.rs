//! Replicates events to another PostHog instance, in batches: PostHog's replicator plugin
//! (`PostHog/posthog-plugin-replicator`, `index.ts`) as a batch exporter.
//!
//! Each event is sent as PostHog's capture endpoint takes it: `team_id`, `ip` and `person`
//! removed, `ip` kept as the `$ip` property, the destination's project API key as `token`, and
//! an `$autocapture` event's `elements` turned back into `$elements` (`text` as `$el_text`,
//! `attributes` spread), which is what the plugin server had turned them from. The batch is
//! `POST`ed to `https://HOST/e` as a JSON array.
//!
//! As upstream: a 2xx is done; a 5xx or an unreachable host asks for the batch again later
//! (`RetryError` there, [`ExportError::Retry`] here); a 4xx skips the batch with a warning
//! ("old events may not pass newer checks: don't fail the whole export"). Events named in
//! `events_to_ignore` are not sent. Upstream refused a replication factor above 1; this port has
//! no factor.

use posthog_plugin_sdk::{
    BatchExport, Config, Error, Event, ExportError, Map, Plugin, Value, http, log, serde_json,
};

pub struct Replicator {
    host: String,
    api_key: String,
    ignore: Vec<String>,
}

impl Plugin for Replicator {
    fn setup(config: &Config) -> Result<Self, Error> {
        let host = config.require("host")?.trim_end_matches('/').to_owned();
        Ok(Replicator {
            host,
            api_key: config.require("project_api_key")?.to_owned(),
            ignore: config.list("events_to_ignore"),
        })
    }
}

impl Replicator {
    /// The event as the destination's capture endpoint takes it.
    pub fn sendable(&self, event: &Event) -> Value {
        let mut object: Map<String, Value> = match serde_json::from_str(&event.to_json()) {
            Ok(Value::Object(object)) => object,
            _ => Map::new(),
        };
        object.remove("team_id");
        object.remove("person");
        let ip = object.remove("ip").filter(|ip| !ip.is_null());
        object.insert("token".into(), Value::from(self.api_key.clone()));
        if let Some(ip) = ip
            && let Some(Value::Object(properties)) = object.get_mut("properties")
        {
            properties.insert("$ip".into(), ip);
        }
        if event.event == "$autocapture"
            && let Some(Value::Array(elements)) = object.remove("elements")
        {
            let elements: Vec<Value> = elements.into_iter().map(reverse_element).collect();
            let properties = object
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(properties) = properties {
                properties.insert("$elements".into(), Value::Array(elements));
            }
        }
        Value::Object(object)
    }
}

/// An element as the browser sent it: `text` back to `$el_text`, `attributes` spread.
fn reverse_element(element: Value) -> Value {
    let Value::Object(mut element) = element else {
        return element;
    };
    let text = element.remove("text");
    let attributes = element.remove("attributes");
    if let Some(text) = text {
        element.insert("$el_text".into(), text);
    }
    if let Some(Value::Object(attributes)) = attributes {
        element.extend(attributes);
    }
    Value::Object(element)
}

impl BatchExport for Replicator {
    fn export_events(&mut self, events: &[Event]) -> Result<(), ExportError> {
        let batch: Vec<Value> = events
            .iter()
            .filter(|event| !self.ignore.contains(&event.event))
            .map(|event| self.sendable(event))
            .collect();
        if batch.is_empty() {
            return Ok(());
        }
        let description = format!(
            "{} event{}",
            batch.len(),
            if batch.len() > 1 { "s" } else { "" }
        );
        let body = Value::Array(batch).to_string();
        let request = http::Request::new("POST", &format!("https://{}/e", self.host))
            .header("content-type", "application/json")
            .body(body);
        let response = match http::fetch(&request) {
            Ok(response) => response,
            // Network or timeout: try the batch again later.
            Err(e) => {
                return Err(ExportError::retry(format!(
                    "{} is unreachable: {e}",
                    self.host
                )));
            }
        };
        match response.status {
            200..=299 => {
                log::info(&format!("flushed {description} to {}", self.host));
                Ok(())
            }
            500.. => Err(ExportError::retry(format!(
                "server error from {}: {}",
                self.host, response.status
            ))),
            status => {
                log::warn(&format!(
                    "skipping {description}, rejected by {}: {status}",
                    self.host
                ));
                Ok(())
            }
        }
    }
}

posthog_plugin_sdk::batch_export!(Replicator);

#[cfg(test)]
mod tests {
    use super::*;
    use posthog_plugin_sdk::{json, testing};

    fn plugin() -> Replicator {
        testing::reset();
        testing::declare_from_manifest(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.json"));
        let config: Config = [
            ("host".to_owned(), "us.i.posthog.com/".to_owned()),
            ("project_api_key".to_owned(), "phc_test".to_owned()),
            ("events_to_ignore".to_owned(), "ignored".to_owned()),
        ]
        .into_iter()
        .collect();
        Replicator::setup(&config).unwrap()
    }

    fn event(value: Value) -> Event {
        Event::from_json(&value.to_string()).unwrap()
    }

    #[test]
    fn an_event_is_sent_as_capture_takes_it() {
        let plugin = plugin();
        let sent = plugin.sendable(&event(json!({
            "event": "$pageview", "distinct_id": "u1", "team_id": 2, "ip": "10.0.0.1",
            "person": {"id": 1}, "properties": {"a": 1}
        })));
        assert_eq!(
            sent,
            json!({"event": "$pageview", "distinct_id": "u1", "properties": {"a": 1, "$ip": "10.0.0.1"}, "token": "phc_test"})
        );
    }

    #[test]
    fn autocapture_elements_are_turned_back_into_elements_as_sent() {
        let plugin = plugin();
        let sent = plugin.sendable(&event(json!({
            "event": "$autocapture", "distinct_id": "u1", "properties": {},
            "elements": [{"tag_name": "a", "text": "Sign up", "attributes": {"attr__href": "/signup"}}]
        })));
        assert_eq!(
            sent["properties"]["$elements"],
            json!([{"tag_name": "a", "$el_text": "Sign up", "attr__href": "/signup"}])
        );
        assert!(sent.get("elements").is_none());
    }

    #[test]
    fn server_errors_are_retried_rejections_skipped_and_ignored_events_left_out() {
        let mut plugin = plugin();
        let events = [
            event(json!({"event": "kept", "distinct_id": "u1"})),
            event(json!({"event": "ignored", "distinct_id": "u1"})),
        ];
        testing::add_http_fixture("POST", "https://us.i.posthog.com/e", 503, "");
        assert!(matches!(
            plugin.export_events(&events),
            Err(ExportError::Retry(message)) if message.contains("503")
        ));
        testing::add_http_fixture("POST", "https://us.i.posthog.com/e", 400, "");
        assert_eq!(plugin.export_events(&events), Ok(()));
        testing::add_http_fixture("POST", "https://us.i.posthog.com/e", 200, "{}");
        assert_eq!(plugin.export_events(&events), Ok(()));
        let requests = testing::http_requests();
        let body: Value = serde_json::from_slice(requests[2].body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body.as_array().unwrap().len(),
            1,
            "the ignored event is not sent"
        );
        // Unreachable (no fixture for another host): retried.
        plugin.host = "eu.i.posthog.com".into();
        assert!(matches!(
            plugin.export_events(&events),
            Err(ExportError::Retry(_))
        ));
    }
}
