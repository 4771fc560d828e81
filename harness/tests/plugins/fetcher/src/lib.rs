//! Test fixture: fetches its config's `url` on every event and records the answer in the
//! event's properties (`fetched_status`, `fetched_len`, `fetched_body`, `fetched_location`),
//! or the error in `fetch_error`. The harness's tests point it at a server on loopback.

use posthog_plugin_sdk::{Config, Error, Event, Plugin, Transform, http};

pub struct Fetcher {
    url: String,
    method: String,
}

impl Plugin for Fetcher {
    fn setup(config: &Config) -> Result<Self, Error> {
        Ok(Fetcher {
            url: config.get_or("url", "https://localhost/").to_owned(),
            method: config.get_or("method", "GET").to_owned(),
        })
    }
}

impl Transform for Fetcher {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        let url = match event.property("url").and_then(|url| url.as_str()) {
            Some(url) => url.to_owned(),
            None => self.url.clone(),
        };
        match http::fetch(&http::Request::new(&self.method, &url)) {
            Ok(response) => {
                let body = String::from_utf8_lossy(&response.body);
                let location = response
                    .headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("location"))
                    .map(|(_, value)| value.clone());
                event.set_property("fetched_status", response.status);
                event.set_property("fetched_len", response.body.len());
                event.set_property("fetched_body", body.chars().take(200).collect::<String>());
                if let Some(location) = location {
                    event.set_property("fetched_location", location);
                }
            }
            Err(e) => event.set_property("fetch_error", e.to_string()),
        }
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(Fetcher);
