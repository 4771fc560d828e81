//! semver-flattener: version properties you can filter and break down by.
//!
//! Follows PostHog's semver flattener plugin (PostHog/semver-flattener-plugin): each property
//! listed in `properties`
//! (comma-separated) that holds a version string such as `v1.2.3-beta.1+build.5` gets its parts
//! added as separate properties beside it: `<key>__major`, `<key>__minor` and `<key>__patch` as
//! numbers, `<key>__preRelease` and `<key>__build` as strings. A part the version does not have is
//! not written, and an older value of that part's property is removed, so the parts always
//! describe the version. Values that are not strings, or strings that are not versions, are left
//! alone.
//!
//! A version is `MAJOR[.MINOR[.PATCH]][-PRE][+BUILD]` with an optional leading `v` or `V`, where
//! the numbers are ASCII digits and `PRE` and `BUILD` are dot-separated non-empty identifiers of
//! ASCII letters, digits and `-` (as in semver, but minor and patch may be left out).
//!
//! A blank `properties` flattens nothing (upstream's default is `""`); only an absent key takes
//! the default list below.
//!
//! Deliberately unlike upstream, which splits any truthy value on `+`, `-` and `.` without
//! checking it: a string that is not a version is left alone (upstream writes `NaN`, stored as
//! `null`, for `latest`, and takes the part after a second `+` away), a leading `v` is allowed,
//! a part the version lacks removes that part's older property, a value that is not a string is
//! ignored (upstream's `split` throws), and an event without properties passes unchanged
//! (upstream returns nothing for it, which drops the event).

use posthog_plugin_sdk::{Config, Error, Event, Map, Plugin, Transform, Value};

pub const DEFAULT_PROPERTIES: &str = "$lib_version,$app_version";

/// The parts of a version string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: Option<u64>,
    pub patch: Option<u64>,
    pub pre_release: Option<String>,
    pub build: Option<String>,
}

/// Parses `MAJOR[.MINOR[.PATCH]][-PRE][+BUILD]` (leading `v` allowed); `None` when `text` is
/// not a version.
pub fn parse_version(text: &str) -> Option<Version> {
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(identifiers(build)?)),
        None => (text, None),
    };
    let (core, pre_release) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(identifiers(pre)?)),
        None => (rest, None),
    };
    let mut numbers = core.split('.');
    let major = number(numbers.next()?)?;
    // An absent part is fine; a part that is there must be a number.
    let minor = match numbers.next() {
        Some(text) => Some(number(text)?),
        None => None,
    };
    let patch = match numbers.next() {
        Some(text) => Some(number(text)?),
        None => None,
    };
    if numbers.next().is_some() {
        return None;
    }
    Some(Version {
        major,
        minor,
        patch,
        pre_release,
        build,
    })
}

fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn identifiers(text: &str) -> Option<String> {
    let valid = text
        .split('.')
        .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    valid.then(|| text.to_owned())
}

/// Adds the parts of the version under `key` to `properties` (see the module docs). Returns
/// whether `key` held a version.
pub fn flatten(properties: &mut Map<String, Value>, key: &str) -> bool {
    let Some(Value::String(text)) = properties.get(key) else {
        return false;
    };
    let Some(version) = parse_version(text) else {
        return false;
    };
    let parts: [(&str, Option<Value>); 5] = [
        ("major", Some(version.major.into())),
        ("minor", version.minor.map(Value::from)),
        ("patch", version.patch.map(Value::from)),
        ("preRelease", version.pre_release.map(Value::from)),
        ("build", version.build.map(Value::from)),
    ];
    for (part, value) in parts {
        let name = format!("{key}__{part}");
        match value {
            Some(value) => {
                properties.insert(name, value);
            }
            None => {
                properties.shift_remove(&name);
            }
        }
    }
    true
}

pub struct SemverFlattener {
    keys: Vec<String>,
}

impl Plugin for SemverFlattener {
    fn setup(config: &Config) -> Result<Self, Error> {
        let keys = config
            .get_or("properties", DEFAULT_PROPERTIES)
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(SemverFlattener { keys })
    }
}

impl Transform for SemverFlattener {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        if let Some(properties) = event.properties.as_mut() {
            for key in &self.keys {
                flatten(properties, key);
            }
        }
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(SemverFlattener);

#[cfg(test)]
mod tests {
    use super::*;
    use posthog_plugin_sdk::json;

    fn v(
        major: u64,
        minor: Option<u64>,
        patch: Option<u64>,
        pre: Option<&str>,
        build: Option<&str>,
    ) -> Version {
        Version {
            major,
            minor,
            patch,
            pre_release: pre.map(str::to_owned),
            build: build.map(str::to_owned),
        }
    }

    #[track_caller]
    fn check(text: &str, expected: Option<Version>) {
        assert_eq!(parse_version(text), expected, "parsing {text:?}");
    }

    #[test]
    fn parses_full_and_partial_versions() {
        check("1.2.3", Some(v(1, Some(2), Some(3), None, None)));
        check("v10.0", Some(v(10, Some(0), None, None, None)));
        check("V7", Some(v(7, None, None, None, None)));
        check(
            "1.2.3-beta.1",
            Some(v(1, Some(2), Some(3), Some("beta.1"), None)),
        );
        check(
            "1.2.3+build.5",
            Some(v(1, Some(2), Some(3), None, Some("build.5"))),
        );
        check(
            "2.0.0-rc-1.x+sha.0a1b-c",
            Some(v(2, Some(0), Some(0), Some("rc-1.x"), Some("sha.0a1b-c"))),
        );
        check("1-alpha", Some(v(1, None, None, Some("alpha"), None)));
        check("01.002.0003", Some(v(1, Some(2), Some(3), None, None)));
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for text in [
            "",
            "v",
            "abc",
            "1.2.3.4",
            "1..2",
            ".1",
            "1.",
            "1.2.x",
            "-1.2",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "1.2.3-ä",
            "1.2.3+a+b",
            " 1.2.3",
            "1.2.3 ",
            "vv1",
            "١.٢.٣",
            "99999999999999999999999.0",
        ] {
            check(text, None);
        }
    }

    #[test]
    fn flattens_the_default_properties() {
        let mut plugin = SemverFlattener::setup(&Config::default()).unwrap();
        let mut event = Event::new("$pageview", "u1");
        event.set_property("$lib_version", "1.30.0-beta.2+exp.sha.5114f85");
        event.set_property("$app_version", "v4.1");
        let out = plugin.process_event(event).unwrap().unwrap();
        assert_eq!(
            Value::from(out.properties.unwrap()),
            json!({
                "$lib_version": "1.30.0-beta.2+exp.sha.5114f85",
                "$app_version": "v4.1",
                "$lib_version__major": 1,
                "$lib_version__minor": 30,
                "$lib_version__patch": 0,
                "$lib_version__preRelease": "beta.2",
                "$lib_version__build": "exp.sha.5114f85",
                "$app_version__major": 4,
                "$app_version__minor": 1,
            })
        );
    }

    #[test]
    fn leaves_non_versions_and_non_strings_alone() {
        let config: Config = [("properties", "a, b, c, d, missing")]
            .into_iter()
            .collect();
        let mut plugin = SemverFlattener::setup(&config).unwrap();
        let mut event = Event::new("e", "u1");
        event.set_property("a", 1.2);
        event.set_property("b", "latest");
        event.set_property("c", json!({"major": 1}));
        event.set_property("d", Value::Null);
        assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
    }

    #[test]
    fn removes_parts_an_older_version_left() {
        let mut properties = json!({
            "v": "3.1",
            "v__patch": 9,
            "v__preRelease": "rc.1",
            "v__build": "x",
        })
        .as_object()
        .unwrap()
        .clone();
        assert!(flatten(&mut properties, "v"));
        assert_eq!(
            Value::Object(properties),
            json!({"v": "3.1", "v__major": 3, "v__minor": 1})
        );
    }

    #[test]
    fn a_blank_list_flattens_nothing() {
        let config: Config = [("properties", "")].into_iter().collect();
        let mut plugin = SemverFlattener::setup(&config).unwrap();
        let mut event = Event::new("$pageview", "u1");
        event.set_property("$lib_version", "1.2.3");
        assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
    }

    #[test]
    fn events_without_properties_gain_none() {
        let mut plugin = SemverFlattener::setup(&Config::default()).unwrap();
        let event = Event::new("$pageview", "u1");
        assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
    }

    #[test]
    fn is_idempotent() {
        let mut plugin = SemverFlattener::setup(&Config::default()).unwrap();
        let mut event = Event::new("$pageview", "u1");
        event.set_property("$lib_version", "1.2.3-beta+5");
        event.set_property("$app_version", "2");
        let once = plugin.process_event(event).unwrap().unwrap();
        let twice = plugin.process_event(once.clone()).unwrap().unwrap();
        assert_eq!(twice, once);
    }
}
