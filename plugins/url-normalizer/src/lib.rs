//! url-normalizer: the same page, counted once.
//!
//! Follows PostHog's URL normalizer plugin (MarkBennett/posthog-url-normalizer-plugin): when an
//! event has a `$current_url`, the whole URL is lower-cased (scheme, host, path, query and
//! fragment alike), parsed with the WHATWG URL parser (what `new URL()` is in JavaScript; here
//! the `url` crate), stripped of one trailing `/` of its path, and serialised again. So the
//! parser's own normalisation applies too: a default port (`:80` on `http`) goes, `.` and `..`
//! segments are resolved, and a URL without a path gets `/`. A path that is only `/` keeps it
//! (`http://www.google.com/` stays as it is).
//!
//! A `$current_url` that is not a valid absolute URL (`invalid url`, `/docs`) is an error, as the
//! upstream plugin throws, so the pipeline keeps the event unchanged and counts the plugin as
//! failed. A value that is not a string (a number, a list) is left alone, where upstream's
//! `toLocaleLowerCase` throws: a deliberate difference (README.md). A missing,
//! `null`, `false`, `0` or empty `$current_url` is left alone.
//!
//! Not idempotent: only one slash is stripped, so `https://a.com/x//` becomes `https://a.com/x/`
//! and, run again, `https://a.com/x`.

use posthog_plugin_sdk::{Config, Error, Event, Plugin, Transform, Value};
use url::{Position, Url};

pub struct UrlNormalizer;

impl Plugin for UrlNormalizer {
    fn setup(_config: &Config) -> Result<Self, Error> {
        Ok(UrlNormalizer)
    }
}

impl Transform for UrlNormalizer {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        let normalized = match event.property("$current_url") {
            None => return Ok(Some(event)),
            Some(value) if !is_truthy(value) => return Ok(Some(event)),
            Some(Value::String(url)) => normalize_url(url)?,
            // Upstream's `toLocaleLowerCase` throws here; we pass the event on instead (a
            // deliberate difference, see README.md): real clients send numbers and lists in
            // `$current_url`, and a gate that rejects every plugin seeing one helps no one.
            Some(_) => return Ok(Some(event)),
        };
        event.set_property("$current_url", normalized);
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(UrlNormalizer);

/// Whether JavaScript takes `value` as true in an `if`.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

fn invalid(url: &str) -> Error {
    Error::msg(format!("Unable to normalize invalid URL: {url:?}"))
}

/// `url` lower-cased, parsed as a WHATWG URL, with one trailing `/` stripped from its path (set
/// back through the URL's `pathname` setter, as upstream does), and serialised. An error for
/// anything the parser rejects.
pub fn normalize_url(url: &str) -> Result<String, Error> {
    let mut parsed = Url::parse(&url.to_lowercase()).map_err(|_| invalid(url))?;
    let Some(stripped) = parsed.path().strip_suffix('/') else {
        return Ok(parsed.into());
    };
    let stripped = stripped.to_owned();
    if stripped.is_empty() && !parsed.has_host() && parsed[..Position::BeforePath].ends_with("//") {
        // `foo:///`: an empty host, which the `url` crate does not keep apart from none, so its
        // setter would put the `/` back; the WHATWG setter leaves the path empty (`foo://`).
        let without_path = format!(
            "{}{}",
            &parsed[..Position::BeforePath],
            &parsed[Position::AfterPath..]
        );
        if let Ok(reparsed) = Url::parse(&without_path) {
            return Ok(reparsed.into());
        }
    }
    url::quirks::set_pathname(&mut parsed, &stripped);
    Ok(parsed.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use posthog_plugin_sdk::json;

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(
            normalize_url(input).unwrap(),
            expected,
            "normalising {input:?}"
        );
    }

    #[test]
    fn lower_cases_the_whole_url() {
        check(
            "HTTPS://Example.COM/Docs/Intro",
            "https://example.com/docs/intro",
        );
        check(
            "https://A.com/Path/?Q=Value#Frag",
            "https://a.com/path?q=value#frag",
        );
    }

    #[test]
    fn strips_one_trailing_slash_and_keeps_a_root_path() {
        check("https://example.com/docs/", "https://example.com/docs");
        check("http://www.google.com/", "http://www.google.com/");
        check("https://example.com", "https://example.com/");
        check("https://example.com//", "https://example.com/");
        check("https://example.com/x//", "https://example.com/x/");
        check(
            "https://example.com/docs/?q=1",
            "https://example.com/docs?q=1",
        );
        check("https://a.com/x#/Route/", "https://a.com/x#/route/");
    }

    #[test]
    fn normalises_like_the_whatwg_parser() {
        check("http://a.com:80/x", "http://a.com/x");
        check("https://a.com:443/", "https://a.com/");
        check("http://a.com:8080/x/", "http://a.com:8080/x");
        check("http://a.com/a/../b/./c/", "http://a.com/b/c");
        check("  http://a.com/x y/  ", "http://a.com/x%20y");
        check("HTTP://B\u{dc}CHER.de/", "http://xn--bcher-kva.de/");
        // Non-special schemes: no host normalisation, and the path may become empty.
        check("foo://Host/", "foo://host");
        check("mailto:X@Y.com", "mailto:x@y.com");
        check("file:///", "file:///");
        check("foo:/x/", "foo:/x");
        check("foo:///", "foo://");
        check("HTTP://EXAMPLE.COM/%7E/", "http://example.com/%7e");
        check("http://[::1]:80/a/", "http://[::1]/a");
    }

    #[test]
    fn rejects_what_is_not_a_url() {
        for url in [
            "invalid url",
            "/docs",
            "www.google.com",
            "",
            "http://",
            "http://a b/",
        ] {
            let err = normalize_url(url).unwrap_err().to_string();
            assert!(err.starts_with("Unable to normalize invalid URL"), "{err}");
            assert!(err.contains(&format!("{url:?}")), "{err}");
        }
    }

    #[test]
    fn one_slash_is_not_idempotent() {
        let once = normalize_url("https://a.com/x//").unwrap();
        let twice = normalize_url(&once).unwrap();
        assert_eq!(
            (once.as_str(), twice.as_str()),
            ("https://a.com/x/", "https://a.com/x")
        );
        // Everything else settles after one pass.
        for url in [
            "HTTPS://A.com/B/",
            "https://a.com",
            "http://a.com:80/?A#B",
            "foo://x/",
        ] {
            let once = normalize_url(url).unwrap();
            assert_eq!(normalize_url(&once).unwrap(), once, "{url:?}");
        }
    }

    #[test]
    fn values_that_are_not_url_strings_pass_unchanged() {
        // Falsy values as upstream; other non-strings deliberately (upstream throws on them).
        let mut plugin = UrlNormalizer::setup(&Config::default()).unwrap();
        for value in [
            json!(null),
            json!(""),
            json!(0),
            json!(false),
            json!(5),
            json!(true),
            json!(["http://a.com"]),
            json!({"a": 1}),
        ] {
            let mut event = Event::new("$pageview", "u1");
            event.set_property("$current_url", value);
            assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
        }
        let event = Event::new("$pageview", "u1");
        assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
        // The near miss: a string that is not a URL is an error, as upstream.
        let mut event = Event::new("$pageview", "u1");
        event.set_property("$current_url", "not a url");
        assert!(plugin.process_event(event).is_err());
    }

    #[test]
    fn rewrites_current_url_in_place() {
        let mut plugin = UrlNormalizer::setup(&Config::default()).unwrap();
        let mut event = Event::new("$pageview", "u1");
        event.set_property("$current_url", "https://PostHog.com/Pricing/?Plan=Team");
        event.set_property("$pathname", "/Pricing/");
        let out = plugin.process_event(event).unwrap().unwrap();
        assert_eq!(
            out.property("$current_url"),
            Some(&"https://posthog.com/pricing?plan=team".into())
        );
        assert_eq!(out.property("$pathname"), Some(&"/Pricing/".into()));
    }
}
