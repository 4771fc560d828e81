//! `plugin.json`: PostHog's plugin manifest plus the harness's own fields (`version`,
//! `capabilities`, `limits`, `verifyConfig`, and behaviour declarations).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::limits::Limits;

/// Whether `name` is a plugin name as the manifest schema has it: lower-case ASCII letters and
/// digits in words joined by single hyphens (`my-plugin`), starting with a letter, at most 64
/// characters.
pub fn is_plugin_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// A parsed `plugin.json`. Unknown fields are kept out of the way here; the static stage judges
/// the whole document against `schemas/plugin.schema.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The component file, relative to the manifest. Not needed for a crate plugin, which the
    /// harness builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posthog_version: Option<String>,
    /// The plugin's version (semver).
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub config: Vec<ConfigField>,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub limits: Limits,
    /// Config values used while verifying, over the fields' defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub verify_config: BTreeMap<String, String>,
    /// The plugin's output may depend on earlier events (it uses storage or cache to remember).
    #[serde(default)]
    pub stateful: bool,
    /// Running the plugin twice gives what running it once gives: f(f(e)) == f(e).
    #[serde(default)]
    pub idempotent: bool,
    /// The plugin's output depends on the clock by design (it stamps dates, say): differences
    /// under other clocks are reported, not rejected.
    #[serde(default)]
    pub uses_clock: bool,
    /// The plugin's output depends on random numbers by design (random sampling).
    #[serde(default)]
    pub uses_random: bool,
    /// The most events the plugin may capture while handling one event
    /// (default [`DEFAULT_MAX_CAPTURES_PER_EVENT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_captures_per_event: Option<u32>,
    /// Top-level event fields the plugin may change (`distinct_id`, ...); the property stage
    /// checks that `uuid`, `team_id`, `timestamp` and `distinct_id` stay as they were unless
    /// listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub may_change: Vec<String>,
    /// Event properties the plugin reads and needs an earlier plugin (or the client) to set;
    /// `harness order` rejects an order that runs it before the plugin that provides them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Event properties the plugin sets, for plugins after it to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provides: Vec<String>,
    /// The plugin refuses some events by design (returns an error result for them); the
    /// property stage then accepts error results, never traps.
    #[serde(default)]
    pub rejects_some_inputs: bool,
    /// JSON Schemas the plugin declares for the events it takes and gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemas: Option<PluginSchemas>,
}

/// The plugin's own event schemas (`"schemas": {"input": ..., "output": ...}`): JSON Schema
/// files, paths relative to the plugin directory. Outputs must match `output`
/// (rule `schema/output-contract`); `schemas/README.md` says how to write them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginSchemas {
    /// The events the plugin expects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// What every event the plugin returns matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// One field of the plugin's config form, as in PostHog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigField {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub field_type: ConfigType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigType {
    #[default]
    String,
    Json,
    Attachment,
    Choice,
}

/// What a plugin may import besides `log`. A component's imports must match these both ways.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub storage: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cache: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub capture: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCapability>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub geoip: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCapability {
    /// Host names the plugin may reach (exact, or `*.example.com` for subdomains).
    pub hosts: Vec<String>,
}

impl Capabilities {
    /// The declared capabilities by their WIT interface name, in contract order.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.storage {
            names.push("storage");
        }
        if self.cache {
            names.push("cache");
        }
        if self.capture {
            names.push("capture");
        }
        if self.http.is_some() {
            names.push("http");
        }
        if self.geoip {
            names.push("geoip");
        }
        names
    }

    /// Whether `host` may be reached over `http`.
    pub fn allows_host(&self, host: &str) -> bool {
        let Some(http) = &self.http else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        http.hosts.iter().any(|allowed| {
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

/// Captured events per input event a plugin may make unless its manifest says otherwise.
pub const DEFAULT_MAX_CAPTURES_PER_EVENT: u32 = 10;

impl Manifest {
    /// The capture bound per input event.
    pub fn max_captures(&self) -> u32 {
        self.max_captures_per_event
            .unwrap_or(DEFAULT_MAX_CAPTURES_PER_EVENT)
    }

    /// Parses `plugin.json`; the error is one line naming the file, line and column.
    pub fn parse(path: &Path, text: &str) -> Result<Manifest, String> {
        serde_json::from_str(text).map_err(|e| crate::error::json_error(path, &e))
    }

    /// sha256 of the manifest's canonical form without what does not change behaviour or
    /// authority (`description`, `url`): capabilities, hosts, limits, config fields and
    /// defaults, `verifyConfig`, declarations, schemas, `main`. An approval pins it, so a
    /// manifest loosened after approval (more hosts, more memory) does not run.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let mut canonical = self.clone();
        canonical.description.clear();
        canonical.url = None;
        let text = serde_json::to_string(&canonical).expect("a manifest always serialises");
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    }

    /// The config values a plugin runs with: each field's default, then (only while
    /// verifying) `verifyConfig`, then `overrides` (from a pipeline file), later ones winning.
    /// Sorted by key.
    pub fn config_values(
        &self,
        overrides: &BTreeMap<String, String>,
        verifying: bool,
    ) -> Vec<(String, String)> {
        let mut values: BTreeMap<String, String> = self
            .config
            .iter()
            .filter_map(|field| Some((field.key.clone(), field.default.clone()?)))
            .collect();
        if verifying {
            values.extend(self.verify_config.clone());
        }
        values.extend(overrides.clone());
        values.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_that_is_not_json_names_file_line_and_column() {
        let err = Manifest::parse(
            Path::new("p/plugin.json"),
            "{\n  \"name\": \"x\",\n  oops\n}",
        )
        .unwrap_err();
        assert!(
            err.starts_with("p/plugin.json:3:3: key must be a string"),
            "{err}"
        );
    }

    #[test]
    fn config_values_layer_defaults_verify_config_and_overrides() {
        let manifest: Manifest = serde_json::from_str(
            r#"{"name":"p","config":[{"key":"a","default":"1"},{"key":"b","default":"2"},{"key":"c"}],
                "verifyConfig":{"b":"20","c":"30"}}"#,
        )
        .unwrap();
        let overrides = BTreeMap::from([("c".to_owned(), "300".to_owned())]);
        assert_eq!(
            manifest.config_values(&overrides, true),
            [("a", "1"), ("b", "20"), ("c", "300")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        // Outside verification `verifyConfig` is not applied.
        assert_eq!(
            manifest.config_values(&overrides, false),
            [("a", "1"), ("b", "2"), ("c", "300")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn http_hosts_match_exactly_or_by_wildcard_subdomain() {
        let caps: Capabilities =
            serde_json::from_str(r#"{"http":{"hosts":["api.a.com","*.b.io"]}}"#).unwrap();
        assert!(caps.allows_host("API.a.com"));
        assert!(!caps.allows_host("evil-api.a.com"));
        assert!(caps.allows_host("x.b.io"));
        assert!(!caps.allows_host("b.io"));
        assert!(!caps.allows_host("xb.io"));
        assert!(!Capabilities::default().allows_host("api.a.com"));
    }

    #[test]
    fn unknown_capabilities_are_an_error() {
        let err = Manifest::parse(
            Path::new("plugin.json"),
            r#"{"name":"p","capabilities":{"filesystem":true}}"#,
        )
        .unwrap_err();
        assert!(err.contains("unknown field `filesystem`"), "{err}");
    }
}
