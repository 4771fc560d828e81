//! taxonomy: one naming convention for every custom event.
//!
//! After PostHog's taxonomy plugin: custom event names are rewritten into the configured
//! `defaultNamingConvention` (`camelCase`, `PascalCase`, `snake_case`, `kebab-case` or
//! `spaces in between`), so that `User Signed Up`, `user_signed_up` and `UserSignedUp` end up as
//! one event. PostHog's own events are left alone: names starting with `$`, and the survey
//! events posthog-js sends without one (`survey shown`, `survey sent`, `survey dismissed`, the
//! upstream plugin's `skippedPostHogEvents`).
//!
//! Upstream rewrites names with regular expressions that only fire on some case changes (its
//! camelCase of `Hello World` is `hello World`); this plugin splits names into words instead
//! (below), which gives the same names for everything upstream's tests cover and stays
//! idempotent.
//!
//! A name is split into words on spaces, `_`, `-` and `.`, and where the case changes: before an
//! upper-case letter that follows a lower-case letter or a digit (`userSignedUp`, `page2View`),
//! and before the last letter of an upper-case run that a lower-case letter follows
//! (`HTMLParser` is `HTML` + `Parser`). Words are lower-cased, then joined in the convention.
//!
//! The rewrite is idempotent. For `camelCase` and `PascalCase` that needs one rule beyond the
//! split: a name that already is in the convention (no separators, and its first letter in the
//! right case) is kept as it is. Otherwise `a_b_c` would become `aBC`, which splits into `a` +
//! `BC` and would become `aBc` on a second pass; kept as it is, `iOSAppOpened` also keeps its
//! capitals.

use posthog_plugin_sdk::{Config, Error, Event, Plugin, Transform};

/// The naming conventions the plugin can write, by their config value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    CamelCase,
    PascalCase,
    SnakeCase,
    KebabCase,
    Spaces,
}

impl Convention {
    /// Every convention, in the order of the config field's choices.
    pub const ALL: [Convention; 5] = [
        Convention::CamelCase,
        Convention::PascalCase,
        Convention::SnakeCase,
        Convention::KebabCase,
        Convention::Spaces,
    ];

    /// The config value naming this convention.
    pub fn name(self) -> &'static str {
        match self {
            Convention::CamelCase => "camelCase",
            Convention::PascalCase => "PascalCase",
            Convention::SnakeCase => "snake_case",
            Convention::KebabCase => "kebab-case",
            Convention::Spaces => "spaces in between",
        }
    }

    /// The convention a config value names (exactly, as PostHog's choice field gives it).
    pub fn from_name(name: &str) -> Option<Convention> {
        Convention::ALL.into_iter().find(|c| c.name() == name)
    }
}

pub const DEFAULT_CONVENTION: &str = "camelCase";

/// Events PostHog sends whose names do not start with `$`, left as they are (as upstream).
pub const SKIPPED_POSTHOG_EVENTS: [&str; 3] = ["survey shown", "survey sent", "survey dismissed"];

/// Whether `name` is one of PostHog's own events, which keep their names.
pub fn is_posthog_event(name: &str) -> bool {
    name.starts_with('$') || SKIPPED_POSTHOG_EVENTS.contains(&name)
}

pub struct Taxonomy {
    convention: Convention,
}

impl Plugin for Taxonomy {
    fn setup(config: &Config) -> Result<Self, Error> {
        let raw = config.get_or("defaultNamingConvention", DEFAULT_CONVENTION);
        let convention = Convention::from_name(raw.trim()).ok_or_else(|| {
            let choices: Vec<_> = Convention::ALL.iter().map(|c| c.name()).collect();
            Error::msg(format!(
                "config value `defaultNamingConvention` = {raw:?} is not one of: {}",
                choices.join(", ")
            ))
        })?;
        Ok(Taxonomy { convention })
    }
}

impl Transform for Taxonomy {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        if !is_posthog_event(&event.event) {
            event.event = standardize_name(&event.event, self.convention);
        }
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(Taxonomy);

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '_' | '-' | '.')
}

/// Splits a name into its words, keeping their case (see the module docs for where it splits).
pub fn split_words(name: &str) -> Vec<&str> {
    let mut words = Vec::new();
    for part in name.split(is_separator).filter(|part| !part.is_empty()) {
        let chars: Vec<(usize, char)> = part.char_indices().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (at, c) = chars[i];
            let prev = chars[i - 1].1;
            let next = chars.get(i + 1).map(|&(_, n)| n);
            let after_lower = prev.is_lowercase() || prev.is_numeric();
            let ends_run = prev.is_uppercase() && next.is_some_and(char::is_lowercase);
            if c.is_uppercase() && (after_lower || ends_run) {
                words.push(&part[start..at]);
                start = at;
            }
        }
        words.push(&part[start..]);
    }
    words
}

/// The lower-cased words of a name. A lower-cased word is split again: letters without a
/// lower-case form can leave a new case change inside it, and the words must stay the same when
/// the result is split once more.
pub fn lower_words(name: &str) -> Vec<String> {
    split_words(name)
        .into_iter()
        .flat_map(|word| {
            let lower = word.to_lowercase();
            split_words(&lower)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `c` in upper case, when that is one character (`ß` has no one-letter capital and is kept).
fn upper_char(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// `c` in lower case, when that is one character.
fn lower_char(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => upper_char(first).to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Whether `name` is already written in `convention` and is kept as it is. Only camelCase and
/// PascalCase use this (see the module docs); the other conventions always rebuild the name.
fn already_in(name: &str, convention: Convention) -> bool {
    let Some(first) = name.chars().next() else {
        return false;
    };
    if name.contains(is_separator) {
        return false;
    }
    match convention {
        Convention::CamelCase => lower_char(first) == first,
        Convention::PascalCase => upper_char(first) == first,
        _ => false,
    }
}

/// `name` written in `convention`. A name without any word (empty, or only separators) is
/// returned as it is.
pub fn standardize_name(name: &str, convention: Convention) -> String {
    if already_in(name, convention) {
        return name.to_owned();
    }
    let words = lower_words(name);
    if words.is_empty() {
        return name.to_owned();
    }
    match convention {
        Convention::CamelCase => {
            let mut out = words[0].clone();
            out.extend(words[1..].iter().map(|w| capitalize(w)));
            out
        }
        Convention::PascalCase => words.iter().map(|w| capitalize(w)).collect(),
        Convention::SnakeCase => words.join("_"),
        Convention::KebabCase => words.join("-"),
        Convention::Spaces => words.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Convention::*;

    #[track_caller]
    fn check(input: &str, convention: Convention, expected: &str) {
        assert_eq!(
            standardize_name(input, convention),
            expected,
            "{input:?} in {}",
            convention.name()
        );
    }

    #[test]
    fn splits_on_separators_and_case_changes() {
        for name in [
            "UserSignedUp",
            "user signed-up",
            "user_signed_up",
            "user.signed.up",
        ] {
            assert_eq!(lower_words(name), ["user", "signed", "up"], "{name:?}");
        }
        assert_eq!(
            split_words("  __user--Signed  Up.."),
            ["user", "Signed", "Up"]
        );
        assert_eq!(split_words("HTMLParser"), ["HTML", "Parser"]);
        assert_eq!(split_words("page2View"), ["page2", "View"]);
        assert_eq!(split_words("USER_SIGNED_UP"), ["USER", "SIGNED", "UP"]);
        assert!(split_words("_-. ").is_empty());
    }

    #[test]
    fn writes_every_convention() {
        check("User Signed Up", CamelCase, "userSignedUp");
        check("User Signed Up", PascalCase, "UserSignedUp");
        check("User Signed Up", SnakeCase, "user_signed_up");
        check("User Signed Up", KebabCase, "user-signed-up");
        check("User Signed Up", Spaces, "user signed up");
        check("userSignedUp", SnakeCase, "user_signed_up");
        check("user-signed-up", PascalCase, "UserSignedUp");
        check("USER_SIGNED_UP", CamelCase, "userSignedUp");
        check("HTMLParser loaded", KebabCase, "html-parser-loaded");
    }

    #[test]
    fn keeps_names_already_in_camel_or_pascal_case() {
        check("iOSAppOpened", CamelCase, "iOSAppOpened");
        check("iOSAppOpened", SnakeCase, "i_os_app_opened");
        check("UserSignedUp", PascalCase, "UserSignedUp");
        check("UserSignedUp", CamelCase, "userSignedUp");
        check("signup", PascalCase, "Signup");
    }

    #[test]
    fn handles_unicode_letters() {
        check("Überweisung Gesendet", SnakeCase, "überweisung_gesendet");
        check("überweisung_gesendet", CamelCase, "überweisungGesendet");
        check("straße_öffnen", PascalCase, "StraßeÖffnen");
        // `ß` has no one-letter capital: the word stays as it is.
        check("ßig wert", PascalCase, "ßigWert");
        check("注册 完成", SnakeCase, "注册_完成");
        check("ΣΟΦΙΑ_ΓΡΑΦΕΙ", CamelCase, "σοφιαΓραφει");
    }

    #[test]
    fn names_without_words_are_kept() {
        check("", CamelCase, "");
        check("__", SnakeCase, "__");
        check(" - ", Spaces, " - ");
    }

    #[test]
    fn is_idempotent_for_every_short_name() {
        // Every name up to four characters over an alphabet that mixes cases, digits,
        // separators and letters without a (one-letter) other case.
        let alphabet = [
            'a', 'B', '1', '_', ' ', '-', '.', 'ß', 'É', 'ϒ', 'Σ', '字', 'İ',
        ];
        let mut names = vec![String::new()];
        let mut last = names.clone();
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|name| alphabet.iter().map(move |c| format!("{name}{c}")))
                .collect();
            names.extend(last.iter().cloned());
        }
        for convention in Convention::ALL {
            for name in &names {
                let once = standardize_name(name, convention);
                let twice = standardize_name(&once, convention);
                assert_eq!(twice, once, "{name:?} in {}", convention.name());
            }
        }
        for name in [
            "a b c",
            "x HTML y",
            "ABC",
            "iOS 2FA Setup",
            "aBCd",
            "Top10Items",
        ] {
            for convention in Convention::ALL {
                let once = standardize_name(name, convention);
                assert_eq!(standardize_name(&once, convention), once, "{name:?}");
            }
        }
    }

    #[test]
    fn setup_reads_the_convention_and_rejects_unknown_ones() {
        let mut plugin = Taxonomy::setup(&Config::default()).unwrap();
        let out = plugin
            .process_event(Event::new("Signed Up", "u1"))
            .unwrap()
            .unwrap();
        assert_eq!(out.event, "signedUp");

        let config: Config = [("defaultNamingConvention", "snake_case")]
            .into_iter()
            .collect();
        let mut plugin = Taxonomy::setup(&config).unwrap();
        let out = plugin
            .process_event(Event::new("Signed Up", "u1"))
            .unwrap()
            .unwrap();
        assert_eq!(out.event, "signed_up");

        let config: Config = [("defaultNamingConvention", "SCREAMING")]
            .into_iter()
            .collect();
        let err = Taxonomy::setup(&config).err().unwrap();
        assert!(err.to_string().contains("SCREAMING"), "{err}");
        assert!(err.to_string().contains("kebab-case"), "{err}");
    }

    #[test]
    fn posthog_events_and_everything_but_the_name_are_untouched() {
        let config: Config = [("defaultNamingConvention", "spaces in between")]
            .into_iter()
            .collect();
        let mut plugin = Taxonomy::setup(&config).unwrap();
        for name in [
            "$pageview",
            "$autocapture",
            "$Custom_Thing",
            "survey shown",
            "survey sent",
            "survey dismissed",
        ] {
            let event = Event::new(name, "u1");
            assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
        }
        let mut event = Event::new("checkoutStarted", "u1");
        event.set_property("someProperty", 1);
        let out = plugin.process_event(event.clone()).unwrap().unwrap();
        assert_eq!(out.event, "checkout started");
        assert_eq!(out.properties, event.properties);

        let out = plugin
            .process_event(Event::new("a_b", "u1"))
            .unwrap()
            .unwrap();
        assert_eq!(out.properties, None);

        // Only the exact names are PostHog's: other survey-like names are rewritten.
        let out = plugin
            .process_event(Event::new("Survey Shown", "u1"))
            .unwrap()
            .unwrap();
        assert_eq!(out.event, "survey shown");
        let out = plugin
            .process_event(Event::new("survey_shown", "u1"))
            .unwrap()
            .unwrap();
        assert_eq!(out.event, "survey shown");
    }

    #[test]
    fn a_blank_convention_is_an_error() {
        let config: Config = [("defaultNamingConvention", "")].into_iter().collect();
        assert!(Taxonomy::setup(&config).is_err());
    }
}
