//! The `geoip` capability (PostHog's `meta.geoip.locate`): where an IP address is, from a
//! MaxMind-format (GeoIP2 City) database read by the `maxminddb` crate.
//!
//! In `run` the database is the operator's (`--geoip-database GeoLite2-City.mmdb`). While
//! verifying it is built, in memory, from the plugin's `fixtures/geoip.json` (an object from
//! network to record, `{"89.160.20.128/25": {"city": {"names": {"en": "Linköping"}}}}`) with the
//! `mmdb-writer` crate, so a verification answers from the same kind of database as a run, and
//! the same way every time.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The plugin's GeoIP fixtures, beside `fixtures/http.json`.
pub const GEOIP_FIXTURES: &str = "fixtures/geoip.json";

/// The largest `fixtures/geoip.json` the harness reads (a plugin's file: capped like its
/// other fixtures).
pub const MAX_FIXTURES_BYTES: u64 = 8 << 20;

/// An open MaxMind-format database.
pub struct GeoIpDatabase {
    reader: maxminddb::Reader<Vec<u8>>,
    /// Where it came from, for messages.
    pub source: PathBuf,
}

impl std::fmt::Debug for GeoIpDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIpDatabase")
            .field("source", &self.source)
            .field("type", &self.reader.metadata().database_type)
            .finish()
    }
}

impl GeoIpDatabase {
    /// Opens a `.mmdb` file (`run --geoip-database`); an error names the file.
    pub fn open(path: &Path) -> Result<GeoIpDatabase, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        GeoIpDatabase::from_bytes(bytes, path)
    }

    fn from_bytes(bytes: Vec<u8>, source: &Path) -> Result<GeoIpDatabase, String> {
        let reader = maxminddb::Reader::from_source(bytes)
            .map_err(|e| format!("{}: not a MaxMind database: {e}", source.display()))?;
        Ok(GeoIpDatabase {
            reader,
            source: source.to_owned(),
        })
    }

    /// The database the plugin in `dir` sees while verifying: built from its
    /// [`GEOIP_FIXTURES`]; `None` when it has none (every lookup then answers nothing).
    pub fn from_fixtures(dir: &Path) -> Result<Option<GeoIpDatabase>, String> {
        let path = dir.join(GEOIP_FIXTURES);
        if !path.exists() {
            return Ok(None);
        }
        let confined = crate::plugin::confined_file(dir, GEOIP_FIXTURES)
            .map_err(|m| format!("{}: {m}", path.display()))?;
        let bytes = crate::plugin::read_capped(&confined, MAX_FIXTURES_BYTES)
            .map_err(|m| format!("{}: {m}", path.display()))?;
        let networks: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes).map_err(|e| crate::error::json_error(&path, &e))?;
        let mut writer = mmdb_writer::Writer::new("GeoIP2-City");
        for (network, record) in &networks {
            let pointer = format!("/{}", network.replace('~', "~0").replace('/', "~1"));
            let parsed = parse_network(network).ok_or_else(|| {
                format!(
                    "{}: {pointer}: `{network}` is not an IP address or network (such as 89.160.20.128/25)",
                    path.display()
                )
            })?;
            if !record.is_object() {
                return Err(format!(
                    "{}: {pointer}: the record must be a JSON object (a GeoIP2 City record)",
                    path.display()
                ));
            }
            writer
                .insert(parsed, record)
                .map_err(|e| format!("{}: {pointer}: {e}", path.display()))?;
        }
        let bytes = writer
            .to_bytes()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        GeoIpDatabase::from_bytes(bytes, &path).map(Some)
    }

    /// The record for `ip` as JSON text; `None` when there is none or `ip` is not an address.
    pub fn locate(&self, ip: &str) -> Option<String> {
        let address: IpAddr = ip.trim().parse().ok()?;
        let found = self.reader.lookup(address).ok()?;
        let record: serde_json::Value = found.decode().ok()??;
        Some(record.to_string())
    }
}

/// `89.160.20.128/25`, `2001:db8::/32`, or one address (a /32 or /128 network).
fn parse_network(text: &str) -> Option<mmdb_writer::ipnet::IpNet> {
    if let Ok(network) = text.parse::<mmdb_writer::ipnet::IpNet>() {
        return Some(network.trunc());
    }
    text.parse::<IpAddr>()
        .ok()
        .map(mmdb_writer::ipnet::IpNet::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(fixtures: &str) -> Result<Option<GeoIpDatabase>, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fixtures")).unwrap();
        std::fs::write(dir.path().join(GEOIP_FIXTURES), fixtures).unwrap();
        GeoIpDatabase::from_fixtures(dir.path())
    }

    #[test]
    fn fixtures_answer_lookups_inside_their_networks_only() {
        let db = database(
            r#"{"89.160.20.128/25": {"city": {"names": {"en": "Linköping"}}, "location": {"latitude": 58.4167, "accuracy_radius": 76}},
                "2001:db8::1": {"country": {"iso_code": "ZZ"}}}"#,
        )
        .unwrap()
        .unwrap();
        let found: serde_json::Value =
            serde_json::from_str(&db.locate("89.160.20.129").unwrap()).unwrap();
        assert_eq!(found["city"]["names"]["en"], "Linköping");
        assert_eq!(found["location"]["latitude"], 58.4167);
        assert_eq!(found["location"]["accuracy_radius"], 76);
        assert!(db.locate("89.160.20.127").is_none(), "outside the /25");
        assert!(db.locate("2001:db8::1").unwrap().contains("ZZ"));
        assert!(db.locate("2001:db8::2").is_none());
        assert!(db.locate("not an ip").is_none());
        assert!(db.locate("").is_none());
    }

    #[test]
    fn bad_fixtures_name_the_file_and_the_pointer() {
        let cases = [
            ("[]", "invalid type"),
            (
                r#"{"not-a-network": {}}"#,
                "/not-a-network: `not-a-network` is not an IP",
            ),
            (
                r#"{"10.0.0.0/8": "Sweden"}"#,
                "/10.0.0.0~18: the record must be a JSON object",
            ),
            ("{", "EOF"),
        ];
        for (text, expected) in cases {
            let error = database(text).unwrap_err();
            assert!(error.contains("geoip.json"), "{error}");
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn no_fixtures_is_no_database_and_a_bad_file_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        assert!(GeoIpDatabase::from_fixtures(dir.path()).unwrap().is_none());
        let file = dir.path().join("x.mmdb");
        std::fs::write(&file, b"not a database").unwrap();
        let error = GeoIpDatabase::open(&file).unwrap_err();
        assert!(error.contains("x.mmdb: not a MaxMind database"), "{error}");
    }
}
