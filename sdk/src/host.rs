//! The host capabilities a plugin may call, one module per WIT interface.
//!
//! In a component they call the harness; compiled natively (unit tests, benchmarks) they are
//! served by an in-memory host, one per thread, that [`testing`] inspects and feeds and that
//! enforces the harness's rules and limits ([`crate::limits`]).

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
/// `plugin.json`'s `capabilities`. `set` refuses keys over
/// [`MAX_KEY_BYTES`](crate::limits::MAX_KEY_BYTES) and values (JSON text) over
/// [`MAX_VALUE_BYTES`](crate::limits::MAX_VALUE_BYTES).
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

/// A cache with expiry. Declare `"cache"` in `plugin.json`'s `capabilities`. `set` refuses keys
/// over [`MAX_KEY_BYTES`](crate::limits::MAX_KEY_BYTES) and values (JSON text) over
/// [`MAX_VALUE_BYTES`](crate::limits::MAX_VALUE_BYTES).
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

/// Emits new events into ingestion. Declare `"capture"` in `plugin.json`'s `capabilities`. At
/// most [`MAX_CAPTURES_PER_CALL`](crate::limits::MAX_CAPTURES_PER_CALL) events per event
/// handled; the next `capture` is an error.
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

/// Files the plugin's config names (PostHog's `meta.attachments`): for each config field of
/// type `attachment`, the file its value names (beside the plugin while verifying), read by the
/// harness before `setup`. Always allowed.
pub mod attachments {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Attachment {
        pub file_name: String,
        pub content_type: String,
        pub contents: Vec<u8>,
    }

    impl Attachment {
        /// The contents as text (UTF-8, invalid sequences replaced).
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.contents).into_owned()
        }
    }

    /// The attachment of config field `key`, if the config gives it one.
    pub fn get(key: &str) -> Option<Attachment> {
        super::backend::attachment(key)
    }
}

/// Where an IP address is (PostHog's `meta.geoip.locate`), from a MaxMind-format GeoIP2 City
/// database. Declare `"geoip": true` in `plugin.json`'s `capabilities`. While verifying, the
/// database is built from the plugin's `fixtures/geoip.json`; natively, [`testing::set_location`]
/// gives the answers.
///
/// ```
/// use posthog_plugin_sdk::{geoip, json, testing};
/// testing::set_location("89.160.20.128/25", json!({"city": {"names": {"en": "Linköping"}}}));
/// let found = geoip::locate("89.160.20.129").unwrap();
/// assert_eq!(found["city"]["names"]["en"], "Linköping");
/// assert!(geoip::locate("10.0.0.1").is_none());
/// ```
pub mod geoip {
    /// The database's record for `ip` (its own field names: `city.names.en`,
    /// `country.iso_code`, `location.time_zone`); `None` when it has none or `ip` is not an
    /// address.
    pub fn locate(ip: &str) -> Option<serde_json::Value> {
        let text = super::backend::geoip_locate(ip)?;
        serde_json::from_str(&text).ok()
    }
}

pub mod testing {
    //! The in-memory host behind the capabilities when a plugin is compiled natively: reset it,
    //! start each event, declare capabilities, read what a plugin logged or captured, and record
    //! HTTP answers.
    //!
    //! It holds plugins to the harness's rules, with the same limits ([`crate::limits`]) and the
    //! same messages, so that a unit test fails where `cargo xtask verify` would:
    //!
    //! | rule | what the plugin sees |
    //! |------|----------------------|
    //! | a capability `plugin.json` does not declare | a panic (the harness traps): ``called `storage`, which plugin.json does not declare`` |
    //! | an HTTP host `capabilities.http.hosts` does not list | ``Err("host `x` is not in plugin.json's capabilities.http.hosts")`` |
    //! | a key over [`MAX_KEY_BYTES`](crate::limits::MAX_KEY_BYTES) or a value over [`MAX_VALUE_BYTES`](crate::limits::MAX_VALUE_BYTES) in `storage::set`/`cache::set` | `Err("key is N bytes, over 1024")`, `Err("value is N bytes, over 1048576")` |
    //! | more than [`MAX_CAPTURES_PER_CALL`](crate::limits::MAX_CAPTURES_PER_CALL) captures in one event | `Err("more than 100 events captured in one call")` |
    //! | more than [`HOST_CALLS_PER_EVENT`](crate::limits::HOST_CALLS_PER_EVENT) host calls in one event | a panic: `more than 10000 host calls in one call` |
    //! | more than [`LOG_BYTES_PER_EVENT`](crate::limits::LOG_BYTES_PER_EVENT) bytes logged in one event | a panic: `logged more than 65536 bytes in one call` |
    //!
    //! **What is declared.** By default, what the `plugin.json` in `$CARGO_MANIFEST_DIR` declares
    //! when the test runs: cargo sets that variable for `cargo test` and `cargo bench` to the
    //! directory of the crate under test, so a plugin's unit tests run under the plugin's own
    //! manifest. Where there is no `plugin.json` there (the SDK's own tests, a benchmark crate that
    //! runs several plugins), every capability and host is allowed. [`declare`], [`declare_json`],
    //! [`declare_from_manifest`] and [`allow_all`] override it for the thread until [`reset`].
    //!
    //! **What "one event" is.** The harness resets the per-event budgets before every call. The
    //! native host cannot see where a call starts, so an event runs from [`reset`] or
    //! [`begin_event`] to the next call of either; a thread that has called neither has no
    //! per-event budgets (so a benchmark looping over millions of events is not cut off).
    //!
    //! **The clock.** The cache's expiry clock starts at
    //! [`CLOCK_START_SECONDS`](crate::limits::CLOCK_START_SECONDS), as the harness's deterministic
    //! clock does; [`set_clock_seconds`] moves it to so many seconds after that. (Natively a
    //! plugin reading `std::time` sees the real clock; in a component it sees the harness's clock,
    //! which advances [`CLOCK_TICK_NANOS`](crate::limits::CLOCK_TICK_NANOS) per reading.)

    #[cfg(not(target_arch = "wasm32"))]
    pub use super::backend::{
        add_http_fixture, allow_all, begin_event, cache_keys, captured, clock_unix_seconds,
        declare, declare_from_manifest, declare_json, http_requests, logs, reset, set_attachment,
        set_clock_seconds, set_location, storage_keys,
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
    pub fn attachment(key: &str) -> Option<super::attachments::Attachment> {
        wit::attachments::get(key).map(|a| super::attachments::Attachment {
            file_name: a.file_name,
            content_type: a.content_type,
            contents: a.contents,
        })
    }
    pub fn geoip_locate(ip: &str) -> Option<String> {
        wit::geoip::locate(ip)
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
#[path = "host/native.rs"]
mod backend;
