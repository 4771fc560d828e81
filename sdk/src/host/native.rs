//! The in-memory host behind the capabilities when a plugin is compiled natively (unit tests,
//! benchmarks): one per thread, inspected and fed through [`crate::testing`].
//!
//! It enforces what the harness's host enforces, with the same limits
//! ([`posthog_plugin_limits`]) and the same messages, so that a unit test fails where
//! `cargo xtask verify` would:
//!
//! - a capability the plugin does not declare panics (the harness traps):
//!   ``called `storage`, which plugin.json does not declare``. What is declared is read from
//!   `plugin.json` in the directory `CARGO_MANIFEST_DIR` names when the test runs (cargo sets
//!   it for `cargo test` and `cargo bench`: the plugin's own crate); where there is none (the
//!   SDK's own tests, a benchmark crate), every capability is allowed. [`declare`],
//!   [`declare_json`], [`declare_from_manifest`] and [`allow_all`] override it for the thread.
//!   Declared `http` hosts are enforced too.
//! - `storage::set` and `cache::set` refuse keys over [`MAX_KEY_BYTES`] and values over
//!   [`MAX_VALUE_BYTES`] with an error the plugin sees.
//! - per event (from [`reset`] or [`begin_event`] to the next call of either): more than
//!   [`MAX_CAPTURES_PER_CALL`] captures is an error the plugin sees; more than
//!   [`HOST_CALLS_PER_EVENT`] host calls, or more than [`LOG_BYTES_PER_EVENT`] bytes logged,
//!   panics. A thread that has called neither (a benchmark's loop) has no per-event budgets,
//!   since nothing tells the native host where one event ends.
//! - the cache's expiry clock starts at [`CLOCK_START_SECONDS`], where the harness's
//!   deterministic clock starts.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use posthog_plugin_limits::{
    CAPABILITIES, CLOCK_START_SECONDS, HOST_CALLS_PER_EVENT, LOG_BYTES_PER_EVENT,
    MAX_CAPTURES_PER_CALL, MAX_KEY_BYTES, MAX_VALUE_BYTES,
};

use super::http::{Request, Response};
use super::log::Level;

/// The capabilities a plugin declares, as `plugin.json`'s `capabilities` writes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Declared {
    storage: bool,
    cache: bool,
    capture: bool,
    http: Option<HttpHosts>,
    geoip: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HttpHosts {
    /// Declared with [`declare`]`(&["http"])`: every host.
    Any,
    /// `{"http": {"hosts": [...]}}`: exact names, or `*.example.com` for subdomains.
    Listed(Vec<String>),
}

impl Declared {
    fn from_names(names: &[&str]) -> Declared {
        let mut declared = Declared::default();
        for name in names {
            match *name {
                "storage" => declared.storage = true,
                "cache" => declared.cache = true,
                "capture" => declared.capture = true,
                "http" => declared.http = Some(HttpHosts::Any),
                "geoip" => declared.geoip = true,
                other => panic!(
                    "unknown capability `{other}` (one of {}; `log` is always allowed)",
                    CAPABILITIES.join(", ")
                ),
            }
        }
        declared
    }

    /// Parses a `capabilities` object as `plugin.json` writes it.
    fn from_json(capabilities: &serde_json::Value) -> Result<Declared, String> {
        let serde_json::Value::Object(object) = capabilities else {
            return Err("`capabilities` is not an object".into());
        };
        let mut declared = Declared::default();
        for (key, value) in object {
            let flag = |value: &serde_json::Value| {
                value
                    .as_bool()
                    .ok_or_else(|| format!("`capabilities.{key}` is not a boolean"))
            };
            match key.as_str() {
                "storage" => declared.storage = flag(value)?,
                "cache" => declared.cache = flag(value)?,
                "capture" => declared.capture = flag(value)?,
                "geoip" => declared.geoip = flag(value)?,
                "http" => {
                    let hosts = value
                        .get("hosts")
                        .and_then(serde_json::Value::as_array)
                        .ok_or("`capabilities.http.hosts` is not a list")?;
                    let hosts = hosts
                        .iter()
                        .map(|host| host.as_str().map(str::to_owned))
                        .collect::<Option<Vec<String>>>()
                        .ok_or("`capabilities.http.hosts` holds a non-string")?;
                    declared.http = Some(HttpHosts::Listed(hosts));
                }
                other => return Err(format!("unknown capability `{other}`")),
            }
        }
        Ok(declared)
    }

    /// Reads the `capabilities` of the `plugin.json` at `path` (none declared when absent).
    fn from_manifest(path: &Path) -> Result<Declared, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let manifest: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        match manifest.get("capabilities") {
            None => Ok(Declared::default()),
            Some(capabilities) => {
                Declared::from_json(capabilities).map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }

    /// Whether `host` may be reached over `http` (as the harness's `Capabilities::allows_host`).
    fn allows_host(&self, host: &str) -> bool {
        match &self.http {
            None => false,
            Some(HttpHosts::Any) => true,
            Some(HttpHosts::Listed(hosts)) => {
                let host = host.to_ascii_lowercase();
                hosts.iter().any(|allowed| {
                    let allowed = allowed.to_ascii_lowercase();
                    match allowed.strip_prefix("*.") {
                        Some(suffix) => host
                            .strip_suffix(suffix)
                            .is_some_and(|prefix| prefix.ends_with('.')),
                        None => host == allowed,
                    }
                })
            }
        }
    }
}

/// The `plugin.json` of the crate under test: in `CARGO_MANIFEST_DIR` when the test runs.
fn manifest_path() -> Option<PathBuf> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let path = Path::new(&dir).join("plugin.json");
    path.is_file().then_some(path)
}

/// What a thread declares until it says otherwise: the crate's `plugin.json` (read once per
/// process), or `None` (everything allowed) where there is none.
fn default_declared() -> Option<Declared> {
    static DEFAULT: OnceLock<Result<Option<Declared>, String>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            manifest_path()
                .map(|path| Declared::from_manifest(&path))
                .transpose()
        })
        .clone()
        .unwrap_or_else(|e| panic!("the native host cannot read the plugin's manifest: {e}"))
}

/// What one event (one call) has used of its budgets.
#[derive(Clone, Copy, Debug, Default)]
struct EventBudget {
    host_calls: u64,
    log_bytes: u64,
    captures: usize,
}

struct MockHost {
    logs: Vec<(Level, String)>,
    storage: BTreeMap<String, String>,
    cache: BTreeMap<String, (String, Option<u64>)>,
    captured: Vec<(String, String)>,
    fixtures: Vec<(String, String, Response)>,
    requests: Vec<Request>,
    attachments: BTreeMap<String, crate::attachments::Attachment>,
    /// `geoip` answers, by network (`89.160.20.128/25`) or address.
    locations: Vec<(String, serde_json::Value)>,
    /// The cache's clock, in Unix seconds.
    clock_seconds: u64,
    /// `None`: every capability is allowed.
    declared: Option<Declared>,
    /// `None` until [`reset`] or [`begin_event`] starts an event.
    event: Option<EventBudget>,
}

impl MockHost {
    fn new() -> MockHost {
        MockHost {
            logs: Vec::new(),
            storage: BTreeMap::new(),
            cache: BTreeMap::new(),
            captured: Vec::new(),
            fixtures: Vec::new(),
            requests: Vec::new(),
            attachments: BTreeMap::new(),
            locations: Vec::new(),
            clock_seconds: CLOCK_START_SECONDS,
            declared: default_declared(),
            event: None,
        }
    }

    /// Counts one host call against the event's budget (the harness's `charge`).
    fn charge(&mut self) {
        if let Some(event) = &mut self.event {
            event.host_calls += 1;
            if event.host_calls > HOST_CALLS_PER_EVENT {
                panic!("more than {HOST_CALLS_PER_EVENT} host calls in one call");
            }
        }
    }

    /// Refuses a capability the plugin does not declare (the harness's `require`).
    fn require(&mut self, capability: &str) {
        self.charge();
        let declared = match &self.declared {
            None => true,
            Some(declared) => match capability {
                "storage" => declared.storage,
                "cache" => declared.cache,
                "capture" => declared.capture,
                "http" => declared.http.is_some(),
                "geoip" => declared.geoip,
                _ => false,
            },
        };
        if !declared {
            panic!("called `{capability}`, which plugin.json does not declare");
        }
    }

    fn cache_live(&self, key: &str) -> Option<&(String, Option<u64>)> {
        let now = self.clock_seconds;
        self.cache
            .get(key)
            .filter(|(_, expires)| expires.is_none_or(|at| at > now))
    }
}

/// The checks `storage::set` and `cache::set` make (the harness's `check_entry`).
fn check_entry(key: &str, value: &str) -> Result<(), String> {
    if key.len() > MAX_KEY_BYTES {
        return Err(format!("key is {} bytes, over {MAX_KEY_BYTES}", key.len()));
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(format!(
            "value is {} bytes, over {MAX_VALUE_BYTES}",
            value.len()
        ));
    }
    Ok(())
}

/// The lower-cased host of an absolute http(s) URL (the harness's `fixtures::url_host`).
fn url_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

thread_local! {
    static HOST: RefCell<MockHost> = RefCell::new(MockHost::new());
}

fn with<R>(f: impl FnOnce(&mut MockHost) -> R) -> R {
    HOST.with(|host| f(&mut host.borrow_mut()))
}

/// Forgets everything this thread's in-memory host holds (storage, cache, logs, captures, HTTP
/// fixtures and requests, the clock, and what [`declare`] declared: back to the plugin's
/// `plugin.json`), and starts an event: from here the per-event budgets apply (see
/// [`begin_event`]).
pub fn reset() {
    with(|host| {
        *host = MockHost::new();
        host.event = Some(EventBudget::default());
    })
}

/// Starts the next event: the per-event budgets start again, as the harness resets them
/// before each `setup`, `process-event` and `on-event` call. They are
/// [`HOST_CALLS_PER_EVENT`] host calls and [`LOG_BYTES_PER_EVENT`] bytes of logs (over either,
/// the host call panics, as the harness traps) and [`MAX_CAPTURES_PER_CALL`] captures (the next
/// capture is an error). Nothing else is forgotten: logs and captured events stay readable.
///
/// The budgets apply from the first `reset()` or `begin_event()` on a thread; a test that
/// runs many events through a plugin calls this before each, like the harness does.
pub fn begin_event() {
    with(|host| host.event = Some(EventBudget::default()))
}

/// Declares the capabilities this thread's plugin has, by their `plugin.json` names
/// (`"storage"`, `"cache"`, `"capture"`, `"http"`; `log` is always allowed): calling any other
/// panics as the harness traps. `"http"` here allows every host; [`declare_json`] lists them.
/// Replaces what was declared before (by default the crate's `plugin.json`, if any), until
/// [`reset`].
///
/// ```
/// use posthog_plugin_sdk::{cache, testing};
/// testing::reset();
/// testing::declare(&["cache"]);
/// cache::set("k", &1, None).unwrap();
/// let refused = std::panic::catch_unwind(|| posthog_plugin_sdk::storage::del("k"));
/// assert!(refused.is_err());
/// ```
pub fn declare(capabilities: &[&str]) {
    let declared = Declared::from_names(capabilities);
    with(|host| host.declared = Some(declared))
}

/// Declares the capabilities `json` names, written as `plugin.json`'s `capabilities` object
/// (`{"cache": true, "http": {"hosts": ["api.example.com", "*.example.org"]}}`); panics if it
/// is not such an object. Like [`declare`], until [`reset`].
pub fn declare_json(json: &str) {
    let declared = serde_json::from_str(json)
        .map_err(|e| e.to_string())
        .and_then(|value| Declared::from_json(&value))
        .unwrap_or_else(|e| panic!("declare_json: {e}"));
    with(|host| host.declared = Some(declared))
}

/// Declares what the `plugin.json` at `path` declares (what the native host does by itself
/// with `$CARGO_MANIFEST_DIR/plugin.json`); panics if it cannot be read. Until [`reset`].
pub fn declare_from_manifest(path: impl AsRef<Path>) {
    let declared = Declared::from_manifest(path.as_ref()).unwrap_or_else(|e| panic!("{e}"));
    with(|host| host.declared = Some(declared))
}

/// Allows every capability and every HTTP host on this thread (what the native host does
/// where it finds no `plugin.json`), until [`reset`].
pub fn allow_all() {
    with(|host| host.declared = None)
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
/// Sets the clock the cache's expiry reads to `seconds` after its start,
/// [`CLOCK_START_SECONDS`] (2024-01-01T00:00:00Z, where the harness's deterministic clock
/// starts): `set_clock_seconds(3600)` is an hour in.
pub fn set_clock_seconds(seconds: u64) {
    with(|host| host.clock_seconds = CLOCK_START_SECONDS + seconds)
}
/// The clock the cache's expiry reads, in Unix seconds: [`CLOCK_START_SECONDS`] until
/// [`set_clock_seconds`] moves it.
pub fn clock_unix_seconds() -> u64 {
    with(|host| host.clock_seconds)
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

/// Makes `geoip::locate` answer `record` (a GeoIP2 City record, as the database stores it) for
/// the addresses of `network` (`89.160.20.128/25`, `2001:db8::/32`, or one address), as the
/// harness's database built from `fixtures/geoip.json` does. The last network given that holds
/// an address answers for it.
pub fn set_location(network: &str, record: serde_json::Value) {
    with(|host| host.locations.push((network.to_owned(), record)))
}

pub fn geoip_locate(ip: &str) -> Option<String> {
    with(|host| {
        host.require("geoip");
        let address: std::net::IpAddr = ip.trim().parse().ok()?;
        host.locations
            .iter()
            .rev()
            .find(|(network, _)| network_contains(network, address))
            .map(|(_, record)| record.to_string())
    })
}

/// Whether `network` (an address, or `address/prefix`) holds `address`.
fn network_contains(network: &str, address: std::net::IpAddr) -> bool {
    match network.parse::<ipnet::IpNet>() {
        Ok(network) => network.contains(&address),
        Err(_) => network.parse::<std::net::IpAddr>() == Ok(address),
    }
}

/// Gives config field `key` an attachment (this thread), as the harness reads the file a
/// config value names.
pub fn set_attachment(key: &str, file_name: &str, content_type: &str, contents: &[u8]) {
    with(|host| {
        host.attachments.insert(
            key.to_owned(),
            crate::attachments::Attachment {
                file_name: file_name.to_owned(),
                content_type: content_type.to_owned(),
                contents: contents.to_vec(),
            },
        );
    })
}

pub fn attachment(key: &str) -> Option<crate::attachments::Attachment> {
    with(|host| {
        host.charge();
        host.attachments.get(key).cloned()
    })
}

pub fn log(level: Level, message: &str) {
    with(|host| {
        host.charge();
        if let Some(event) = &mut host.event {
            event.log_bytes += message.len() as u64;
            if event.log_bytes > LOG_BYTES_PER_EVENT {
                panic!("logged more than {LOG_BYTES_PER_EVENT} bytes in one call");
            }
        }
        host.logs.push((level, message.to_owned()))
    })
}
pub fn storage_get(key: &str) -> Option<String> {
    with(|host| {
        host.require("storage");
        host.storage.get(key).cloned()
    })
}
pub fn storage_set(key: &str, value: &str) -> Result<(), String> {
    with(|host| {
        host.require("storage");
        check_entry(key, value)?;
        host.storage.insert(key.to_owned(), value.to_owned());
        Ok(())
    })
}
pub fn storage_del(key: &str) {
    with(|host| {
        host.require("storage");
        host.storage.remove(key);
    })
}
pub fn cache_get(key: &str) -> Option<String> {
    with(|host| {
        host.require("cache");
        host.cache_live(key).map(|(value, _)| value.clone())
    })
}
pub fn cache_set(key: &str, value: &str, ttl: Option<u32>) -> Result<(), String> {
    with(|host| {
        host.require("cache");
        check_entry(key, value)?;
        let expires = ttl.map(|ttl| host.clock_seconds + u64::from(ttl));
        host.cache
            .insert(key.to_owned(), (value.to_owned(), expires));
        Ok(())
    })
}
pub fn cache_incr(key: &str, by: i64) -> Result<i64, String> {
    with(|host| {
        host.require("cache");
        let (current, expires) = match host.cache_live(key) {
            None => (0, None),
            Some((raw, expires)) => (
                raw.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("the value under `{key}` is not an integer"))?,
                // Like Redis INCR, an existing expiry is kept.
                *expires,
            ),
        };
        let next = current
            .checked_add(by)
            .ok_or_else(|| format!("the value under `{key}` would overflow"))?;
        host.cache
            .insert(key.to_owned(), (next.to_string(), expires));
        Ok(next)
    })
}
pub fn capture(event: &str, properties: &str) -> Result<(), String> {
    with(|host| {
        host.require("capture");
        if host
            .event
            .is_some_and(|budget| budget.captures >= MAX_CAPTURES_PER_CALL)
        {
            return Err(format!(
                "more than {MAX_CAPTURES_PER_CALL} events captured in one call"
            ));
        }
        match serde_json::from_str::<serde_json::Value>(properties) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => return Err("properties must be a JSON object".into()),
            Err(e) => return Err(format!("properties are not JSON: {e}")),
        }
        if event.is_empty() {
            return Err("the event name is empty".into());
        }
        if let Some(budget) = &mut host.event {
            budget.captures += 1;
        }
        host.captured
            .push((event.to_owned(), properties.to_owned()));
        Ok(())
    })
}
pub fn http_fetch(request: &Request) -> Result<Response, String> {
    with(|host| {
        host.require("http");
        host.requests.push(request.clone());
        let Some(url_host) = url_host(&request.url) else {
            return Err(format!("`{}` is not an absolute http(s) URL", request.url));
        };
        if host
            .declared
            .as_ref()
            .is_some_and(|declared| !declared.allows_host(&url_host))
        {
            return Err(format!(
                "host `{url_host}` is not in plugin.json's capabilities.http.hosts"
            ));
        }
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
