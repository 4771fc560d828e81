//! `run`'s real runtime: what a plugin reaches outside the process once it is approved.
//!
//! While verifying nothing leaves the process (`host` answers `http` from fixtures and keeps
//! storage in memory). An operator's `run` gives approved plugins instead:
//! - [`Network`]: outgoing HTTPS to the hosts the manifest lists, and nowhere else. The host
//!   check is the one verification makes (`Capabilities::allows_host` on the WHATWG host); on
//!   top of it the request is https only, goes to a public address (a host that resolves to a
//!   loopback, private, link-local or otherwise special address is refused, and the address
//!   checked is the address connected to, so DNS cannot change its answer in between), follows
//!   no redirects (the plugin sees the 3xx and may fetch the next URL itself, which is checked
//!   again), takes no proxy from the environment, sends nothing the plugin did not ask for but
//!   a `user-agent`, waits no longer than the call's deadline, and reads no more than
//!   [`MAX_RESPONSE_BYTES`].
//! - [`StorageFile`]: storage persisted in one crash-safe file per library (redb: every write a
//!   transaction; a crash loses at most the writes since the last durable commit, never the
//!   file), one table per plugin, so a plugin reads only what it wrote.
//!
//! The cache stays in memory in both environments (PostHog kept it in Redis, with expiry); in
//! `run` its clock is the wall clock, so a TTL is real time.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

/// The largest HTTP response body a plugin is given, in bytes (the same with fixtures).
pub const MAX_RESPONSE_BYTES: usize = 8 << 20;

/// The largest request body a plugin may send, in bytes.
pub const MAX_REQUEST_BODY_BYTES: usize = 1 << 20;

/// The longest a request may take, whatever the call's deadline.
pub const MAX_REQUEST_TIME: Duration = Duration::from_secs(30);

/// Request headers the host sets itself; a plugin naming one is refused.
const RESERVED_HEADERS: [&str; 7] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "proxy-authorization",
];

/// What a plugin reaches in `run`: `None` parts stay as in verification.
#[derive(Debug, Default)]
pub struct Runtime {
    pub network: Option<Network>,
    pub storage: Option<StorageFile>,
    /// The operator's GeoIP database (`--geoip-database`); `None`: `geoip` answers nothing.
    pub geoip: Option<Arc<crate::geoip::GeoIpDatabase>>,
    /// Per approved plugin, the requests its approval allows (the lock's `http_requests`).
    /// Unset (`--allow-unapproved`), the manifest's hosts are the only bound.
    pub approved_requests: std::sync::OnceLock<std::collections::BTreeMap<String, Vec<String>>>,
}

impl Runtime {
    /// Refuses a request that `plugin`'s approval does not allow.
    pub fn check_approved(&self, plugin: &str, method: &str, url: &str) -> Result<(), String> {
        let Some(approved) = self.approved_requests.get() else {
            return Ok(());
        };
        let requests = approved.get(plugin).map_or(&[][..], Vec::as_slice);
        if crate::fixtures::request_matches(requests, method, url) {
            return Ok(());
        }
        Err(format!(
            "{method} {} is not a request verification answered (the lock's http_requests \
             for `{plugin}`: {}); record it in fixtures/http.json, verify and approve again",
            crate::fixtures::redact_url(url),
            if requests.is_empty() {
                "none".to_owned()
            } else {
                requests
                    .iter()
                    .map(|r| crate::fixtures::redact_url(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ))
    }
}

/// How the network is reached.
#[derive(Clone, Debug, Default)]
pub struct NetworkOptions {
    /// PEM files of root certificates to trust instead of Mozilla's (webpki-roots).
    pub root_certificates: Vec<PathBuf>,
    /// Allow hosts that resolve to loopback, private and other non-public addresses (a test
    /// server on loopback, a service on the operator's own network).
    pub allow_private_addresses: bool,
}

/// Outgoing HTTPS for `run`.
#[derive(Debug)]
pub struct Network {
    agent: ureq::Agent,
}

/// A plugin's request, as the `http` capability receives it.
#[derive(Debug)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: Option<&'a [u8]>,
}

/// The answer a plugin is given.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Network {
    pub fn new(options: &NetworkOptions) -> Result<Network, String> {
        let roots = root_certificates(&options.root_certificates)?;
        let config = https_config(roots).build();
        let resolver = CheckedResolver {
            allow_private_addresses: options.allow_private_addresses,
        };
        Ok(Network {
            agent: ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::default(),
                resolver,
            ),
        })
    }

    /// Sends `request` (whose host the caller has checked against the manifest), waiting at
    /// most `time_left`. An error is a sentence the plugin is given.
    pub fn fetch(&self, request: &Request, time_left: Duration) -> Result<Response, String> {
        let url = crate::fixtures::redact_url(request.url);
        if !request.url.starts_with("https://") {
            return Err(format!(
                "`{url}` is not https (run sends nothing in clear text)"
            ));
        }
        if let Some((name, _)) = request
            .headers
            .iter()
            .find(|(name, _)| RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
        {
            return Err(format!(
                "the `{name}` header is set by the host, not the plugin"
            ));
        }
        let body = request.body.unwrap_or_default();
        if body.len() > MAX_REQUEST_BODY_BYTES {
            return Err(format!(
                "the request body is {} bytes, over {MAX_REQUEST_BODY_BYTES}",
                body.len()
            ));
        }
        let time_left = time_left.min(MAX_REQUEST_TIME);
        if time_left.is_zero() {
            return Err("the call's deadline has passed".into());
        }
        let mut builder = ureq::http::Request::builder()
            .method(request.method)
            .uri(request.url);
        for (name, value) in request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let built = builder
            .body(body.to_vec())
            .map_err(|e| format!("{} {url}: {e}", request.method))?;
        let configured = self
            .agent
            .configure_request(built)
            .timeout_global(Some(time_left))
            .build();
        let mut response = self
            .agent
            .run(configured)
            .map_err(|e| format!("{} {url}: {}", request.method, describe(&e)))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES as u64)
            .read_to_vec()
            .map_err(|e| format!("{} {url}: {}", request.method, describe(&e)))?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// What every request the harness sends is held to (a plugin's in `run`, the npm registry's):
/// https only, no redirect followed (a credential or an approval never carries to another
/// URL), no proxy from the environment, response headers at most 64 KiB, a status is an answer
/// rather than an error, the harness's user agent, and `roots` to trust.
pub fn https_config(
    roots: ureq::tls::RootCerts,
) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .https_only(true)
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .max_response_header_size(64 << 10)
        .user_agent(concat!(
            "posthog-plugin-harness/",
            env!("CARGO_PKG_VERSION")
        ))
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
}

/// The roots to trust: Mozilla's (webpki-roots) when `files` is empty, else the PEM
/// certificates in `files` and nothing else.
pub fn root_certificates(files: &[PathBuf]) -> Result<ureq::tls::RootCerts, String> {
    if files.is_empty() {
        return Ok(ureq::tls::RootCerts::WebPki);
    }
    let mut certificates = Vec::new();
    for path in files {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let before = certificates.len();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(certificate)) => certificates.push(certificate),
                Ok(_) => {}
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        if certificates.len() == before {
            return Err(format!("{}: no PEM certificate in it", path.display()));
        }
    }
    Ok(ureq::tls::RootCerts::Specific(Arc::new(certificates)))
}

/// A one-line description of a failed request, without ureq's debug formatting.
fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::BodyExceedsLimit(limit) => {
            format!("the response is larger than {limit} bytes")
        }
        ureq::Error::Timeout(_) => "timed out (the call's deadline)".into(),
        ureq::Error::Other(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

/// Resolves as ureq does, then refuses addresses that are not public (unless allowed). ureq
/// connects to exactly the addresses returned here.
#[derive(Debug)]
struct CheckedResolver {
    allow_private_addresses: bool,
}

impl ureq::unversioned::resolver::Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let resolved = ureq::unversioned::resolver::DefaultResolver::default()
            .resolve(uri, config, timeout)?;
        if self.allow_private_addresses {
            return Ok(resolved);
        }
        let mut public = self.empty();
        let mut refused = None;
        for address in resolved.iter() {
            if is_public(address.ip()) {
                public.push(*address);
            } else {
                refused.get_or_insert(*address);
            }
        }
        match refused {
            Some(address) if public.is_empty() => Err(ureq::Error::Other(
                format!(
                    "{} resolves to {}, which is not a public address (run refuses loopback, \
                     private and link-local addresses unless --allow-private-network)",
                    uri.host().unwrap_or_default(),
                    address.ip()
                )
                .into(),
            )),
            _ => Ok(public),
        }
    }
}

/// Whether `ip` is an address on the public internet: not loopback, private, link-local,
/// shared (CGNAT), documentation, benchmarking, multicast, broadcast or unspecified, and for
/// IPv6 not unique-local or an IPv4-mapped address that is one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064 && v6.segments()[1] == 0xff9b)
        }
    }
}

/// Storage persisted in one file: a table per plugin.
#[derive(Debug)]
pub struct StorageFile {
    path: PathBuf,
    db: redb::Database,
}

/// A plugin's table: its name prefixed, so that no plugin name collides with anything else.
fn table(plugin: &str) -> String {
    format!("plugin:{plugin}")
}

impl StorageFile {
    /// Opens (or creates) the storage file at `path`, creating its directory.
    pub fn open(path: &Path) -> Result<StorageFile, String> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let db = redb::Database::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(StorageFile {
            path: path.to_owned(),
            db,
        })
    }

    fn failed(&self, e: impl std::fmt::Display) -> String {
        format!("storage {}: {e}", self.path.display())
    }

    /// `plugin`'s table for reading; `None` when it has written nothing yet.
    fn read_table(
        &self,
        plugin: &str,
    ) -> Result<Option<redb::ReadOnlyTable<&'static str, &'static str>>, String> {
        let name = table(plugin);
        let definition: TableDefinition<&str, &str> = TableDefinition::new(&name);
        let read = self.db.begin_read().map_err(|e| self.failed(e))?;
        match read.open_table(definition) {
            Ok(table) => Ok(Some(table)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(self.failed(e)),
        }
    }

    pub fn get(&self, plugin: &str, key: &str) -> Result<Option<String>, String> {
        let Some(table) = self.read_table(plugin)? else {
            return Ok(None);
        };
        let value = table.get(key).map_err(|e| self.failed(e))?;
        Ok(value.map(|value| value.value().to_owned()))
    }

    /// Writes (`Some`) or deletes (`None`) `key`. The commit is atomic but not yet flushed to
    /// disk: [`StorageFile::sync`] makes every earlier write durable.
    pub fn put(&self, plugin: &str, key: &str, value: Option<&str>) -> Result<(), String> {
        let name = table(plugin);
        let definition: TableDefinition<&str, &str> = TableDefinition::new(&name);
        let mut write = self.db.begin_write().map_err(|e| self.failed(e))?;
        write
            .set_durability(redb::Durability::None)
            .map_err(|e| self.failed(e))?;
        {
            let mut table = write.open_table(definition).map_err(|e| self.failed(e))?;
            match value {
                Some(value) => {
                    table.insert(key, value).map_err(|e| self.failed(e))?;
                }
                None => {
                    table.remove(key).map_err(|e| self.failed(e))?;
                }
            }
        }
        write.commit().map_err(|e| self.failed(e))
    }

    /// Makes every write so far durable (an empty commit with immediate durability).
    pub fn sync(&self) -> Result<(), String> {
        let write = self.db.begin_write().map_err(|e| self.failed(e))?;
        write.commit().map_err(|e| self.failed(e))
    }

    /// Every key and value of `plugin`'s table, in key order (for inspection and tests).
    pub fn entries(&self, plugin: &str) -> Result<Vec<(String, String)>, String> {
        let Some(table) = self.read_table(plugin)? else {
            return Ok(Vec::new());
        };
        let mut entries = Vec::new();
        for entry in table.iter().map_err(|e| self.failed(e))? {
            let (key, value) = entry.map_err(|e| self.failed(e))?;
            entries.push((key.value().to_owned(), value.value().to_owned()));
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn storage_survives_reopening_and_keeps_plugins_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/storage.redb");
        {
            let storage = StorageFile::open(&path).unwrap();
            storage.put("a", "k", Some("1")).unwrap();
            storage.put("a", "gone", Some("2")).unwrap();
            storage.put("a", "gone", None).unwrap();
            storage.put("b", "k", Some("\"b's\"")).unwrap();
            storage.sync().unwrap();
        }
        let storage = StorageFile::open(&path).unwrap();
        assert_eq!(storage.get("a", "k").unwrap().as_deref(), Some("1"));
        assert_eq!(storage.get("a", "gone").unwrap(), None);
        assert_eq!(storage.get("b", "k").unwrap().as_deref(), Some("\"b's\""));
        assert_eq!(storage.get("c", "k").unwrap(), None);
        assert_eq!(
            storage.entries("a").unwrap(),
            vec![("k".into(), "1".into())]
        );
    }

    #[test]
    fn a_file_that_is_not_storage_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("storage.redb");
        std::fs::write(&path, "not a database").unwrap();
        let err = StorageFile::open(&path).unwrap_err();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
    }
}
