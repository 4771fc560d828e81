//! A plugin's config values, as PostHog passed them: every value is a string.
//!
//! PostHog sends a field the user emptied as `""`, and a plugin sees that `""` (the upstream
//! plugins read `config.properties.split(',')` and get nothing to filter). So here too a key that
//! is present with `""` has the empty value, not the default: `get_or` gives `""`, `list_or` an
//! empty list, `parse_or` parses `""` (an error for a number). Only a key absent from the config
//! gets the default.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::Error;

/// The config values a plugin was set up with (`key -> value`, all strings, as in PostHog).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    values: BTreeMap<String, String>,
}

impl Config {
    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The value of `key`, or `default` when the key is absent. A key present with `""` (a field
    /// the user cleared, as PostHog sends it) gives `""`, not `default`.
    pub fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// The value of `key`, or an error naming the key when it is absent or blank (a required
    /// field has no empty value).
    pub fn require(&self, key: &str) -> Result<&str, Error> {
        match self.get(key) {
            Some(value) if !value.trim().is_empty() => Ok(value),
            _ => Err(Error::msg(format!("config value `{key}` is required"))),
        }
    }

    /// The value of `key` parsed as `T` (numbers, for example; surrounding whitespace is
    /// ignored), `default` when the key is absent. A key present with `""` is parsed like any
    /// other value, so for a number it is an error naming the key, as a cleared number field
    /// breaks the upstream plugins too (`parseFloat("")` is `NaN`).
    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e| Error::msg(format!("config value `{key}` = {raw:?}: {e}"))),
        }
    }

    /// The value of `key` as a list: comma-separated, items trimmed, empty items skipped.
    pub fn list(&self, key: &str) -> Vec<String> {
        split_list(self.get(key).unwrap_or(""))
    }

    /// Like [`Config::list`], with `default` (comma-separated) when the key is absent. A key
    /// present with `""` (or only commas and spaces) is the empty list.
    pub fn list_or(&self, key: &str, default: &str) -> Vec<String> {
        split_list(self.get_or(key, default))
    }

    /// A boolean the PostHog way: a `choice` of "true"/"false" or "Yes"/"No" (in any case).
    /// Anything else, `""` included, gives `default`: a boolean has no empty value.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if v == "true" || v == "yes" => true,
            Some(v) if v == "false" || v == "no" => false,
            _ => default,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Config {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Config {
            values: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_trims_and_skips_empty_items() {
        let config: Config = [("keys", " a, b.c ,, d ")].into_iter().collect();
        assert_eq!(config.list("keys"), ["a", "b.c", "d"]);
        assert!(config.list("missing").is_empty());
    }

    #[test]
    fn parse_or_names_the_key_on_bad_values() {
        let config: Config = [("percentage", "lots")].into_iter().collect();
        let err = config.parse_or("percentage", 100.0_f64).unwrap_err();
        assert!(err.to_string().contains("`percentage`"), "{err}");
        assert_eq!(config.parse_or("other", 7_u32).unwrap(), 7);
    }

    #[test]
    fn flags_accept_posthog_choices() {
        let config: Config = [("a", "Yes"), ("b", "false"), ("c", "maybe")]
            .into_iter()
            .collect();
        assert!(config.flag("a", false));
        assert!(!config.flag("b", true));
        assert!(config.flag("c", true));
    }

    #[test]
    fn blank_values_are_empty_and_only_absent_keys_get_the_default() {
        let config: Config = [("a", ""), ("b", "x, y"), ("c", " , ")]
            .into_iter()
            .collect();
        assert_eq!(config.get_or("a", "dflt"), "");
        assert_eq!(config.get_or("absent", "dflt"), "dflt");
        assert!(config.list_or("a", "p,q").is_empty());
        assert!(config.list_or("c", "p,q").is_empty());
        assert_eq!(config.list_or("b", "p,q"), ["x", "y"]);
        assert_eq!(config.list_or("absent", "p,q"), ["p", "q"]);
    }

    #[test]
    fn parse_or_parses_blank_values_too() {
        let config: Config = [("n", ""), ("m", " 5 "), ("s", "")].into_iter().collect();
        let err = config.parse_or("n", 7_u32).unwrap_err();
        assert!(err.to_string().contains("`n`"), "{err}");
        assert_eq!(config.parse_or("m", 7_u32).unwrap(), 5);
        assert_eq!(config.parse_or("s", String::from("dflt")).unwrap(), "");
        assert_eq!(config.parse_or("absent", 7_u32).unwrap(), 7);
    }

    #[test]
    fn blank_flags_take_the_default() {
        let config: Config = [("a", "")].into_iter().collect();
        assert!(config.flag("a", true));
        assert!(!config.flag("a", false));
    }

    #[test]
    fn require_rejects_blank_values() {
        let config: Config = [("key", "  ")].into_iter().collect();
        assert!(config.require("key").is_err());
        assert!(config.require("absent").is_err());
    }
}
