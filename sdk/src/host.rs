//! The host capabilities a plugin may call, one module per WIT interface.
//!
//! In a component they call the harness; compiled natively (unit tests, benchmarks) they are
//! served by an in-memory host, one per thread, that [`testing`] inspects and feeds.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// Plugin logs. Always allowed; kept with the run.
pub mod log {
    /// How serious a log line is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Level {
        Debug,
        Info,
        Warn,
        Error,
    }

    /// Writes one log line.
    ///
    /// ```
    /// posthog_plugin_sdk::log::log(posthog_plugin_sdk::log::Level::Info, "rates refreshed");
    /// ```
    pub fn log(level: Level, message: &str) {
        super::backend::log(level, message)
    }
    pub fn debug(message: &str) {
        log(Level::Debug, message)
    }
    pub fn info(message: &str) {
        log(Level::Info, message)
    }
    pub fn warn(message: &str) {
        log(Level::Warn, message)
    }
    pub fn error(message: &str) {
        log(Level::Error, message)
    }
}

/// Persistent key/value storage, one namespace per plugin. Declare `"storage"` in
/// `plugin.json`'s `capabilities`.
///
/// ```
/// use posthog_plugin_sdk::storage;
/// storage::set("seen:user-1", &true).unwrap();
/// assert_eq!(storage::get::<bool>("seen:user-1").unwrap(), Some(true));
/// storage::del("seen:user-1");
/// assert_eq!(storage::get::<bool>("seen:user-1").unwrap(), None);
/// ```
pub mod storage {
    use super::*;

    /// The value under `key`, decoded from JSON; `None` when absent.
    pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
        match backend::storage_get(key) {
            None => Ok(None),
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
        }
    }

    /// Stores `value` (as JSON) under `key`.
    pub fn set<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), Error> {
        backend::storage_set(key, &serde_json::to_string(value)?).map_err(Error::msg)
    }

    pub fn del(key: &str) {
        backend::storage_del(key)
    }
}

/// A cache with expiry. Declare `"cache"` in `plugin.json`'s `capabilities`.
///
/// ```
/// use posthog_plugin_sdk::cache;
/// cache::set("rates", &[1.0, 2.0], Some(3600)).unwrap();
/// assert_eq!(cache::get::<Vec<f64>>("rates").unwrap(), Some(vec![1.0, 2.0]));
/// assert_eq!(cache::incr("hits", 2).unwrap(), 2);
/// ```
pub mod cache {
    use super::*;

    pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
        match backend::cache_get(key) {
            None => Ok(None),
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
        }
    }

    /// Stores `value` (as JSON); with `ttl_seconds` it expires after that long.
    pub fn set<T: Serialize + ?Sized>(
        key: &str,
        value: &T,
        ttl_seconds: Option<u32>,
    ) -> Result<(), Error> {
        backend::cache_set(key, &serde_json::to_string(value)?, ttl_seconds).map_err(Error::msg)
    }

    /// Adds `by` to the integer under `key` (missing counts as 0); returns the new value.
    pub fn incr(key: &str, by: i64) -> Result<i64, Error> {
        backend::cache_incr(key, by).map_err(Error::msg)
    }
}

/// Emits new events into ingestion. Declare `"capture"` in `plugin.json`'s `capabilities`.
///
/// ```
/// use posthog_plugin_sdk::{capture, json};
/// capture::capture("plugin ran", json!({"count": 1})).unwrap();
/// assert_eq!(posthog_plugin_sdk::testing::captured().len(), 1);
/// ```
pub mod capture {
    use super::*;

    /// Captures `event` with `properties` (a JSON object).
    pub fn capture(event: &str, properties: serde_json::Value) -> Result<(), Error> {
        if !properties.is_object() {
            return Err(Error::msg("captured properties must be a JSON object"));
        }
        backend::capture(event, &properties.to_string()).map_err(Error::msg)
    }
}

/// Outgoing HTTP. Declare `{"http": {"hosts": [...]}}` in `plugin.json`'s `capabilities`; while
/// verifying, answers come from the plugin's recorded fixtures (`fixtures/http.json`).
///
/// ```
/// use posthog_plugin_sdk::{http, testing};
/// testing::add_http_fixture("GET", "https://api.example.com/rates", 200, r#"{"EUR":1.0}"#);
/// let response = http::get("https://api.example.com/rates").unwrap();
/// assert_eq!(response.status, 200);
/// let rates: serde_json::Value = response.json().unwrap();
/// assert_eq!(rates["EUR"], 1.0);
/// ```
pub mod http {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Request {
        pub method: String,
        pub url: String,
        pub headers: Vec<(String, String)>,
        pub body: Option<Vec<u8>>,
    }

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Response {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Request {
        pub fn new(method: &str, url: &str) -> Self {
            Request {
                method: method.to_owned(),
                url: url.to_owned(),
                headers: Vec::new(),
                body: None,
            }
        }

        pub fn header(mut self, name: &str, value: &str) -> Self {
            self.headers.push((name.to_owned(), value.to_owned()));
            self
        }

        pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
            self.body = Some(body.into());
            self
        }
    }

    impl Response {
        /// The body decoded from JSON.
        pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
            Ok(serde_json::from_slice(&self.body)?)
        }

        pub fn is_success(&self) -> bool {
            (200..300).contains(&self.status)
        }
    }

    pub fn fetch(request: &Request) -> Result<Response, Error> {
        backend::http_fetch(request).map_err(Error::msg)
    }

    /// `GET url`.
    pub fn get(url: &str) -> Result<Response, Error> {
        fetch(&Request::new("GET", url))
    }
}

/// The in-memory host behind the capabilities when a plugin is compiled natively: reset it,
/// read what a plugin logged or captured, and record HTTP answers.
pub mod testing {
    #[cfg(not(target_arch = "wasm32"))]
    pub use super::backend::{
        add_http_fixture, cache_keys, captured, http_requests, logs, reset, set_clock_seconds,
        storage_keys,
    };
}

#[cfg(target_arch = "wasm32")]
mod backend {
    use crate::__bindings::host::posthog::plugin as wit;

    pub fn log(level: super::log::Level, message: &str) {
        use super::log::Level;
        let level = match level {
            Level::Debug => wit::log::Level::Debug,
            Level::Info => wit::log::Level::Info,
            Level::Warn => wit::log::Level::Warn,
            Level::Error => wit::log::Level::Error,
        };
        wit::log::log(level, message)
    }
    pub fn storage_get(key: &str) -> Option<String> {
        wit::storage::get(key)
    }
    pub fn storage_set(key: &str, value: &str) -> Result<(), String> {
        wit::storage::set(key, value)
    }
    pub fn storage_del(key: &str) {
        wit::storage::del(key)
    }
    pub fn cache_get(key: &str) -> Option<String> {
        wit::cache::get(key)
    }
    pub fn cache_set(key: &str, value: &str, ttl: Option<u32>) -> Result<(), String> {
        wit::cache::set(key, value, ttl)
    }
    pub fn cache_incr(key: &str, by: i64) -> Result<i64, String> {
        wit::cache::incr(key, by)
    }
    pub fn capture(event: &str, properties: &str) -> Result<(), String> {
        wit::capture::capture(event, properties)
    }
    pub fn http_fetch(request: &super::http::Request) -> Result<super::http::Response, String> {
        let response = wit::http::fetch(&wit::http::Request {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        })?;
        Ok(super::http::Response {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::http::{Request, Response};
    use super::log::Level;

    #[derive(Default)]
    struct MockHost {
        logs: Vec<(Level, String)>,
        storage: BTreeMap<String, String>,
        cache: BTreeMap<String, (String, Option<u64>)>,
        captured: Vec<(String, String)>,
        fixtures: Vec<(String, String, Response)>,
        requests: Vec<Request>,
        clock_seconds: u64,
    }

    thread_local! {
        static HOST: RefCell<MockHost> = RefCell::new(MockHost::default());
    }

    fn with<R>(f: impl FnOnce(&mut MockHost) -> R) -> R {
        HOST.with(|host| f(&mut host.borrow_mut()))
    }

    /// Forgets everything this thread's in-memory host holds.
    pub fn reset() {
        with(|host| *host = MockHost::default())
    }
    /// The log lines written so far on this thread.
    pub fn logs() -> Vec<(Level, String)> {
        with(|host| host.logs.clone())
    }
    /// The events captured so far on this thread: `(event, properties JSON)`.
    pub fn captured() -> Vec<(String, String)> {
        with(|host| host.captured.clone())
    }
    /// The keys in storage, sorted.
    pub fn storage_keys() -> Vec<String> {
        with(|host| host.storage.keys().cloned().collect())
    }
    /// The live (unexpired) keys in the cache, sorted.
    pub fn cache_keys() -> Vec<String> {
        with(|host| {
            let now = host.clock_seconds;
            host.cache
                .iter()
                .filter(|(_, (_, expires))| expires.is_none_or(|at| at > now))
                .map(|(key, _)| key.clone())
                .collect()
        })
    }
    /// Every HTTP request made so far on this thread, in order.
    pub fn http_requests() -> Vec<Request> {
        with(|host| host.requests.clone())
    }
    /// Sets the clock the cache's expiry reads, in seconds.
    pub fn set_clock_seconds(seconds: u64) {
        with(|host| host.clock_seconds = seconds)
    }
    /// Answers `method url` with `status` and `body` from now on (this thread); a later fixture
    /// for the same request replaces an earlier one.
    pub fn add_http_fixture(method: &str, url: &str, status: u16, body: &str) {
        let response = Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        };
        let method = method.to_ascii_uppercase();
        with(|host| {
            host.fixtures
                .retain(|(m, u, _)| !(*m == method && u == url));
            host.fixtures.push((method, url.to_owned(), response))
        })
    }

    pub fn log(level: Level, message: &str) {
        with(|host| host.logs.push((level, message.to_owned())))
    }
    pub fn storage_get(key: &str) -> Option<String> {
        with(|host| host.storage.get(key).cloned())
    }
    pub fn storage_set(key: &str, value: &str) -> Result<(), String> {
        with(|host| host.storage.insert(key.to_owned(), value.to_owned()));
        Ok(())
    }
    pub fn storage_del(key: &str) {
        with(|host| host.storage.remove(key));
    }
    pub fn cache_get(key: &str) -> Option<String> {
        with(|host| match host.cache.get(key) {
            Some((_, Some(expires))) if *expires <= host.clock_seconds => None,
            Some((value, _)) => Some(value.clone()),
            None => None,
        })
    }
    pub fn cache_set(key: &str, value: &str, ttl: Option<u32>) -> Result<(), String> {
        with(|host| {
            let expires = ttl.map(|ttl| host.clock_seconds + u64::from(ttl));
            host.cache
                .insert(key.to_owned(), (value.to_owned(), expires));
        });
        Ok(())
    }
    pub fn cache_incr(key: &str, by: i64) -> Result<i64, String> {
        let current = match cache_get(key) {
            None => 0,
            Some(raw) => raw
                .parse::<i64>()
                .map_err(|_| format!("cache value under `{key}` is not an integer"))?,
        };
        let next = current
            .checked_add(by)
            .ok_or_else(|| format!("cache value under `{key}` overflows"))?;
        // Like Redis INCR, an existing expiry is kept.
        with(|host| {
            let now = host.clock_seconds;
            let expires = host
                .cache
                .get(key)
                .and_then(|(_, expires)| *expires)
                .filter(|at| *at > now);
            host.cache
                .insert(key.to_owned(), (next.to_string(), expires));
        });
        Ok(next)
    }
    pub fn capture(event: &str, properties: &str) -> Result<(), String> {
        with(|host| {
            host.captured
                .push((event.to_owned(), properties.to_owned()))
        });
        Ok(())
    }
    pub fn http_fetch(request: &Request) -> Result<Response, String> {
        with(|host| {
            host.requests.push(request.clone());
            host.fixtures
                .iter()
                .find(|(method, url, _)| {
                    method.eq_ignore_ascii_case(&request.method) && *url == request.url
                })
                .map(|(_, _, response)| response.clone())
                .ok_or_else(|| {
                    format!(
                        "no recorded response for {} {}",
                        request.method, request.url
                    )
                })
        })
    }
}
