//! Recorded HTTP answers (`fixtures/http.json` beside a plugin): while verifying, the `http`
//! capability answers from these and never reaches the network.
//!
//! ```json
//! [{"request": {"method": "GET", "url": "https://api.example.com/rates?key=*"},
//!   "response": {"status": 200, "headers": {"content-type": "application/json"},
//!                "json": {"EUR": 0.92}}}]
//! ```
//! A request URL ending in `*` matches every URL that starts with the part before it. A response
//! has either `json` (any JSON value, sent as its text) or `body` (a string). Instead of
//! `response`, `responses` lists answers given in turn, the last one repeating: a server that
//! fails and then recovers (`[{"status": 503}, {"status": 200}]`), for an exporter's retries.

use std::path::Path;

use serde::Deserialize;

/// Where a plugin's fixtures live, relative to its directory.
pub const HTTP_FIXTURES: &str = "fixtures/http.json";

#[derive(Clone, Debug, Default)]
pub struct HttpFixtures {
    entries: Vec<Fixture>,
}

impl PartialEq for HttpFixtures {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|(a, b)| a.method == b.method && a.url == b.url && a.responses == b.responses)
    }
}

#[derive(Clone, Debug)]
struct Fixture {
    method: String,
    url: String,
    /// Answered in turn; the last repeats.
    responses: Vec<RecordedResponse>,
    /// How many requests this fixture has answered (shared by the instances of one load).
    answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFixture {
    request: RawRequest,
    #[serde(default)]
    response: Option<RawResponse>,
    #[serde(default)]
    responses: Option<Vec<RawResponse>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    #[serde(default = "get")]
    method: String,
    url: String,
}

fn get() -> String {
    "GET".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    #[serde(default = "ok")]
    status: u16,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    json: Option<serde_json::Value>,
    #[serde(default)]
    body: Option<String>,
}

fn ok() -> u16 {
    200
}

/// One recorded response, its body from `json` or `body`.
fn recorded(raw: RawResponse, path: &Path, index: usize) -> Result<RecordedResponse, String> {
    let body = match (raw.json, raw.body) {
        (Some(json), None) => json.to_string().into_bytes(),
        (None, Some(body)) => body.into_bytes(),
        (None, None) => Vec::new(),
        (Some(_), Some(_)) => {
            return Err(format!(
                "{}: /{index}/response has both `json` and `body`",
                path.display()
            ));
        }
    };
    Ok(RecordedResponse {
        status: raw.status,
        headers: raw.headers.into_iter().collect(),
        body,
    })
}

impl HttpFixtures {
    /// Loads the fixtures of the plugin in `dir`; no file means no fixtures.
    pub fn load(dir: &Path) -> Result<HttpFixtures, String> {
        let path = dir.join(HTTP_FIXTURES);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(HttpFixtures::default());
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let raw: Vec<RawFixture> =
            serde_json::from_str(&text).map_err(|e| crate::error::json_error(&path, &e))?;
        let entries = raw
            .into_iter()
            .enumerate()
            .map(|(index, fixture)| {
                let raws = match (fixture.response, fixture.responses) {
                    (Some(one), None) => vec![one],
                    (None, Some(many)) if !many.is_empty() => many,
                    _ => {
                        return Err(format!(
                            "{}: /{index} needs one `response` or a non-empty `responses` list",
                            path.display()
                        ));
                    }
                };
                let responses = raws
                    .into_iter()
                    .map(|raw| recorded(raw, &path, index))
                    .collect::<Result<_, _>>()?;
                Ok(Fixture {
                    method: fixture.request.method.to_ascii_uppercase(),
                    url: fixture.request.url,
                    responses,
                    answered: Default::default(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(HttpFixtures { entries })
    }

    /// The recorded answer to `method url`, if there is one: the fixture's next response in
    /// turn (the last repeats).
    pub fn answer(&self, method: &str, url: &str) -> Option<&RecordedResponse> {
        let fixture = self.entries.iter().find(|fixture| {
            fixture.method.eq_ignore_ascii_case(method) && url_matches(&fixture.url, url)
        })?;
        let turn = fixture
            .answered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        fixture.responses.get(turn.min(fixture.responses.len() - 1))
    }

    /// Every request the fixtures answer, as `METHOD URL` (a URL ending in `*` is a prefix):
    /// what an approval lets the plugin send in `run`.
    pub fn requests(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|fixture| format!("{} {}", fixture.method, fixture.url))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Whether `method url` is one of `requests` (as [`HttpFixtures::requests`] writes them).
pub fn request_matches(requests: &[String], method: &str, url: &str) -> bool {
    requests.iter().any(|request| {
        let Some((allowed_method, allowed_url)) = request.split_once(' ') else {
            return false;
        };
        allowed_method.eq_ignore_ascii_case(method) && url_matches(allowed_url, url)
    })
}

/// Whether `url` is `pattern`, or starts with it when it ends in `*`.
fn url_matches(pattern: &str, url: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => url.starts_with(prefix),
        None => pattern == url,
    }
}

/// The lower-cased host of an absolute `http` or `https` URL (no user info, no port).
pub fn url_host(url: &str) -> Option<String> {
    // The WHATWG URL parser (the `url` crate), as browsers and PostHog's `fetch` read a URL:
    // `https://evil.com\.allowed.com` is the host `evil.com` with a path, not a subdomain of
    // `allowed.com`.
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    match parsed.host()? {
        url::Host::Domain(domain) if !domain.is_empty() => Some(domain.to_ascii_lowercase()),
        url::Host::Domain(_) => None,
        url::Host::Ipv4(ip) => Some(ip.to_string()),
        url::Host::Ipv6(ip) => Some(ip.to_string()),
    }
}

/// The URL with its query values and user info replaced by `***`, so that a key or token in a
/// URL never reaches a log or report.
pub fn redact_url(url: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (url, None),
    };
    let (path, query) = match base.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (base, None),
    };
    let path = match path.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[authority_end..]),
                None => path.to_owned(),
            }
        }
        None => path.to_owned(),
    };
    let mut out = path;
    if let Some(query) = query {
        let redacted: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) => format!("{key}=***"),
                None => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&redacted.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_absolute_urls_only() {
        assert_eq!(
            url_host("https://User:pw@API.example.com:8443/x?y").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(url_host("http://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(url_host("ftp://example.com"), None);
        assert_eq!(url_host("/relative"), None);
        assert_eq!(url_host("https://"), None);
    }

    #[test]
    fn a_backslash_ends_the_host_as_in_a_browser() {
        // The attack: a hand-written parser read the host as `evil.com\.allowed.com`, which
        // ends in `.allowed.com` and so passed a `*.allowed.com` rule.
        assert_eq!(
            url_host("https://evil.com\\.allowed.com/x").as_deref(),
            Some("evil.com")
        );
        let caps: crate::manifest::Capabilities =
            serde_json::from_str(r#"{"http":{"hosts":["*.allowed.com"]}}"#).unwrap();
        let host = url_host("https://evil.com\\.allowed.com/x").unwrap();
        assert!(!caps.allows_host(&host));
        assert!(caps.allows_host(&url_host("https://api.allowed.com/x").unwrap()));
    }

    #[test]
    fn redaction_hides_query_values_and_user_info() {
        assert_eq!(
            redact_url("https://a.com/p?app_id=SECRET&x=1#f"),
            "https://a.com/p?app_id=***&x=***#f"
        );
        assert_eq!(redact_url("https://tok:x@a.com/p"), "https://***@a.com/p");
        assert_eq!(redact_url("https://a.com/p@b"), "https://a.com/p@b");
    }

    #[test]
    fn fixtures_match_exactly_or_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fixtures")).unwrap();
        std::fs::write(
            dir.path().join(HTTP_FIXTURES),
            r#"[{"request":{"url":"https://a.com/rates?key=*"},"response":{"json":{"EUR":1}}},
                {"request":{"method":"post","url":"https://a.com/x"},"response":{"status":201,"body":"ok"}}]"#,
        )
        .unwrap();
        let fixtures = HttpFixtures::load(dir.path()).unwrap();
        assert_eq!(
            fixtures
                .answer("GET", "https://a.com/rates?key=abc")
                .unwrap()
                .body,
            br#"{"EUR":1}"#
        );
        assert_eq!(
            fixtures.answer("POST", "https://a.com/x").unwrap().status,
            201
        );
        assert!(fixtures.answer("GET", "https://a.com/x").is_none());
    }

    #[test]
    fn responses_are_answered_in_turn_and_the_last_repeats() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fixtures")).unwrap();
        std::fs::write(
            dir.path().join(HTTP_FIXTURES),
            r#"[{"request":{"method":"POST","url":"https://hooks.example.com/*"},
                 "responses":[{"status":503},{"status":429},{"status":200,"body":"ok"}]}]"#,
        )
        .unwrap();
        let fixtures = HttpFixtures::load(dir.path()).unwrap();
        let statuses: Vec<u16> = (0..5)
            .map(|_| {
                fixtures
                    .answer("POST", "https://hooks.example.com/x")
                    .unwrap()
                    .status
            })
            .collect();
        assert_eq!(statuses, vec![503, 429, 200, 200, 200]);
        std::fs::write(
            dir.path().join(HTTP_FIXTURES),
            r#"[{"request":{"url":"https://a.com/"},"responses":[]}]"#,
        )
        .unwrap();
        let err = HttpFixtures::load(dir.path()).unwrap_err();
        assert!(err.contains("/0 needs one `response`"), "{err}");
    }

    #[test]
    fn a_malformed_fixture_file_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fixtures")).unwrap();
        std::fs::write(dir.path().join(HTTP_FIXTURES), "[\n{]").unwrap();
        let err = HttpFixtures::load(dir.path()).unwrap_err();
        assert!(err.contains("fixtures/http.json:2:"), "{err}");
    }
}
