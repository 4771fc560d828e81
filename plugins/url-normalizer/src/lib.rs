//! url-normalizer: the same page, counted once.
//!
//! After PostHog's URL normalizer plugin: `$current_url` gets its scheme, host and path
//! lower-cased and trailing slashes on the path removed. The query string and fragment are
//! case-sensitive in general and are kept as they are. Events without `$current_url` (or with a
//! value that is not a string) pass through unchanged.

use posthog_plugin_sdk::{Config, Error, Event, Plugin, Transform, Value};

pub struct UrlNormalizer;

impl Plugin for UrlNormalizer {
    fn setup(_config: &Config) -> Result<Self, Error> {
        Ok(UrlNormalizer)
    }
}

impl Transform for UrlNormalizer {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        if let Some(Value::String(url)) = event.property("$current_url") {
            let normalized = normalize_url(url);
            event.set_property("$current_url", normalized);
        }
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(UrlNormalizer);

/// Lower-cases everything before the query or fragment and strips the trailing slashes from
/// the path (a bare `/` path is removed too, so `https://A.com/` becomes `https://a.com`). All
/// of them, not one: `a.com/x//` stripped of one slash would still end in one, and normalising
/// must give the same URL when applied twice.
pub fn normalize_url(url: &str) -> String {
    let split = url.find(['?', '#']).unwrap_or(url.len());
    let (base, rest) = url.split_at(split);
    let mut base = base.to_lowercase();
    while base.ends_with('/') && !base.ends_with("://") {
        base.pop();
    }
    base + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(normalize_url(input), expected, "normalising {input:?}");
    }

    #[test]
    fn lower_cases_scheme_host_and_path() {
        check(
            "HTTPS://Example.COM/Docs/Intro",
            "https://example.com/docs/intro",
        );
    }

    #[test]
    fn strips_trailing_slashes() {
        check("https://example.com/docs/", "https://example.com/docs");
        check("https://example.com/", "https://example.com");
        // Found by the harness's property stage (property/idempotent): one slash stripped of
        // two left one for the next pass.
        check("https://example.com//", "https://example.com");
        check(
            "https://example.com/docs//?q=1",
            "https://example.com/docs?q=1",
        );
        check("file:///", "file://");
    }

    #[test]
    fn keeps_query_and_fragment_as_they_are() {
        check(
            "https://A.com/Path/?Q=Value#Frag",
            "https://a.com/path?Q=Value#Frag",
        );
        check("https://a.com/x#/Route/", "https://a.com/x#/Route/");
    }

    #[test]
    fn is_idempotent() {
        for url in [
            "HTTPS://A.com/B/",
            "https://a.com",
            "x/?A",
            "",
            "/",
            "a.com//",
            "http:///",
        ] {
            let once = normalize_url(url);
            assert_eq!(normalize_url(&once), once, "{url:?}");
        }
    }

    #[test]
    fn events_without_a_url_pass_unchanged() {
        let mut plugin = UrlNormalizer::setup(&Config::default()).unwrap();
        let mut event = Event::new("custom", "u1");
        event.set_property("$current_url", 5);
        let out = plugin.process_event(event.clone()).unwrap().unwrap();
        assert_eq!(out, event);
    }

    #[test]
    fn rewrites_current_url_in_place() {
        let mut plugin = UrlNormalizer::setup(&Config::default()).unwrap();
        let mut event = Event::new("$pageview", "u1");
        event.set_property("$current_url", "https://PostHog.com/Pricing/");
        let out = plugin.process_event(event).unwrap().unwrap();
        assert_eq!(
            out.property("$current_url"),
            Some(&"https://posthog.com/pricing".into())
        );
    }
}
