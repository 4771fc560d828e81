//! downsampling: keep a fixed share of your events.
//!
//! Follows PostHog's downsampling plugin (PostHog/downsampling-plugin): `percentage` (0 to 100)
//! of events are kept and the rest dropped, chosen by `samplingMethod`:
//!
//! - `Distinct ID aware sampling` (the default): the choice is made per `distinct_id`, so a
//!   user's events are either all kept or all dropped and funnels stay whole. The first 15 hex
//!   digits of the SHA-256 of the `distinct_id`, read as a number and divided by
//!   `0xfffffffffffffff`, give a value from 0 to 1, and the event is kept when that value is at
//!   most `percentage / 100`. The same `distinct_id` always gets the same answer, so this mode is
//!   deterministic and idempotent, and raising the percentage only ever adds users.
//! - `Random sampling`: each event on its own is kept with a probability of `percentage / 100`,
//!   from the random numbers the host gives the component (WASI `random`, through `getrandom`).
//!   Nondeterministic, so not idempotent either; while verifying, the harness seeds those random
//!   numbers, so runs repeat.
//!
//! A blank `percentage` is an error, as upstream's `parseFloat("")` is `NaN` and its setup
//! throws; only an absent one means 100. A blank `samplingMethod` is the default, as upstream
//! takes anything but `Random sampling` for distinct-id sampling.
//!
//! Deliberately unlike upstream: `percentage` must be a number and nothing more (`12.5`, and
//! `33%`), where `parseFloat` takes any numeric prefix (`5 0` is 5); a `samplingMethod` other than
//! the two choices is an error; and random sampling keeps exactly `percentage`% of events, where upstream's
//! `parseInt(Math.random() * 100) <= percentage` keeps one more in a hundred (1% at 0%, 51% at
//! 50%).

use posthog_plugin_sdk::{Config, Error, Event, Plugin, Transform};
use sha2::{Digest, Sha256};

pub const DEFAULT_PERCENTAGE: f64 = 100.0;

/// The `samplingMethod` choices, as upstream names them.
pub const RANDOM_SAMPLING: &str = "Random sampling";
pub const DISTINCT_ID_SAMPLING: &str = "Distinct ID aware sampling";

/// How events are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// By the hash of the `distinct_id`: all of a user's events, or none.
    DistinctId,
    /// Each event by chance.
    Random,
}

impl Method {
    /// The method a `samplingMethod` value names; blank is the default.
    pub fn from_config(raw: &str) -> Result<Method, Error> {
        match raw.trim() {
            "" | DISTINCT_ID_SAMPLING => Ok(Method::DistinctId),
            RANDOM_SAMPLING => Ok(Method::Random),
            _ => Err(Error::msg(format!(
                "config value `samplingMethod` = {raw:?} is not one of: {RANDOM_SAMPLING}, {DISTINCT_ID_SAMPLING}"
            ))),
        }
    }
}

/// The largest number 15 hex digits hold.
const MAX_15_HEX_DIGITS: u64 = 0x0fff_ffff_ffff_ffff;

pub struct Downsampling {
    /// The share of users (or events) kept, from 0 to 1.
    ratio: f64,
    method: Method,
}

/// Reads `percentage`: a number from 0 to 100, optionally followed by `%`.
pub fn parse_percentage(raw: &str) -> Result<f64, Error> {
    let text = raw.trim();
    let text = text.strip_suffix('%').unwrap_or(text).trim_end();
    match text.parse::<f64>() {
        Ok(value) if (0.0..=100.0).contains(&value) => Ok(value),
        _ => Err(Error::msg(format!(
            "config value `percentage` = {raw:?} must be a number from 0 to 100"
        ))),
    }
}

/// The value from 0 to 1 that `distinct_id` hashes to.
pub fn sample_value(distinct_id: &str) -> f64 {
    let digest = Sha256::digest(distinct_id.as_bytes());
    let first_eight: [u8; 8] = digest[..8]
        .try_into()
        .expect("a SHA-256 digest has 32 bytes");
    // 16 hex digits, shifted right by one digit: the first 15.
    let number = u64::from_be_bytes(first_eight) >> 4;
    number as f64 / MAX_15_HEX_DIGITS as f64
}

/// Whether an event of `distinct_id` is kept when `percentage` (0 to 100) of users are.
pub fn keeps(distinct_id: &str, percentage: f64) -> bool {
    sample_value(distinct_id) <= percentage / 100.0
}

/// A random number from 0 (included) to 1 (excluded), from the host's random numbers.
pub fn random_unit() -> Result<f64, Error> {
    let bits = getrandom::u64().map_err(|e| Error::msg(format!("no random numbers: {e}")))?;
    // The top 53 bits: every double in [0, 1) that is a multiple of 2^-53, equally likely.
    Ok((bits >> 11) as f64 / (1u64 << 53) as f64)
}

impl Plugin for Downsampling {
    fn setup(config: &Config) -> Result<Self, Error> {
        let percentage = match config.get("percentage") {
            Some(raw) => parse_percentage(raw)?,
            None => DEFAULT_PERCENTAGE,
        };
        let method = Method::from_config(config.get_or("samplingMethod", DISTINCT_ID_SAMPLING))?;
        Ok(Downsampling {
            ratio: percentage / 100.0,
            method,
        })
    }
}

impl Transform for Downsampling {
    fn process_event(&mut self, event: Event) -> Result<Option<Event>, Error> {
        let keep = self.ratio >= 1.0
            || match self.method {
                Method::DistinctId => sample_value(&event.distinct_id) <= self.ratio,
                Method::Random => self.ratio > 0.0 && random_unit()? < self.ratio,
            };
        Ok(keep.then_some(event))
    }
}

posthog_plugin_sdk::transform!(Downsampling);

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(percentage: &str) -> Result<Downsampling, Error> {
        Downsampling::setup(&[("percentage", percentage)].into_iter().collect())
    }

    #[track_caller]
    fn check(raw: &str, expected: Option<f64>) {
        assert_eq!(parse_percentage(raw).ok(), expected, "parsing {raw:?}");
    }

    #[test]
    fn hashes_like_posthog() {
        // sha256("user-1") = c6c289e49e9c05b2..., and in JavaScript
        // parseInt("c6c289e49e9c05b", 16) / 0xfffffffffffffff is 0.7764059241441005.
        assert_eq!(sample_value("user-1"), 0.7764059241441005);
        assert!(keeps("user-1", 77.65) && !keeps("user-1", 77.6));
        assert!((0.0..=1.0).contains(&sample_value("")));
        assert!((0.0..=1.0).contains(&sample_value("ユーザー")));
    }

    #[test]
    fn parses_percentages() {
        check("50", Some(50.0));
        check(" 12.5 ", Some(12.5));
        check("0", Some(0.0));
        check("100", Some(100.0));
        check("33%", Some(33.0));
        for bad in ["", "lots", "-1", "100.5", "NaN", "inf", "5 0", "%"] {
            check(bad, None);
        }
    }

    fn random(percentage: &str) -> Downsampling {
        let config: Config = [
            ("percentage", percentage),
            ("samplingMethod", RANDOM_SAMPLING),
        ]
        .into_iter()
        .collect();
        Downsampling::setup(&config).unwrap()
    }

    #[test]
    fn reads_the_sampling_method() {
        for (raw, method) in [
            ("", Method::DistinctId),
            (DISTINCT_ID_SAMPLING, Method::DistinctId),
            (RANDOM_SAMPLING, Method::Random),
        ] {
            assert_eq!(Method::from_config(raw).unwrap(), method, "{raw:?}");
        }
        let err = Method::from_config("random").unwrap_err().to_string();
        assert!(
            err.contains("`samplingMethod`") && err.contains(RANDOM_SAMPLING),
            "{err}"
        );
        assert_eq!(
            Downsampling::setup(&Config::default()).unwrap().method,
            Method::DistinctId
        );
    }

    #[test]
    fn random_sampling_keeps_about_the_percentage_of_events() {
        let mut plugin = random("30");
        let kept = (0..4000)
            .filter(|_| {
                let event = Event::new("e", "same-user");
                plugin.process_event(event).unwrap().is_some()
            })
            .count();
        assert!((1000..1400).contains(&kept), "kept {kept} of 4000");
        for _ in 0..200 {
            let value = random_unit().unwrap();
            assert!((0.0..1.0).contains(&value), "{value}");
        }
    }

    #[test]
    fn random_sampling_at_0_and_100_is_certain() {
        let (mut none, mut all) = (random("0"), random("100"));
        for i in 0..300 {
            let event = Event::new("e", format!("user-{i}"));
            assert_eq!(none.process_event(event.clone()).unwrap(), None);
            assert_eq!(all.process_event(event.clone()).unwrap(), Some(event));
        }
    }

    #[test]
    fn a_blank_percentage_is_an_error_and_an_absent_one_is_100() {
        let err = setup("").err().unwrap().to_string();
        assert!(err.contains("`percentage`"), "{err}");
        let plugin = Downsampling::setup(&Config::default()).unwrap();
        assert_eq!(plugin.ratio, 1.0);
    }

    #[test]
    fn setup_fails_with_a_clear_message() {
        let err = setup("150").err().unwrap().to_string();
        assert!(
            err.contains("`percentage`") && err.contains("0 to 100"),
            "{err}"
        );
        assert!(setup("half").is_err());
    }

    #[test]
    fn keeps_everything_by_default_and_at_100() {
        for mut plugin in [
            Downsampling::setup(&Config::default()).unwrap(),
            setup("100").unwrap(),
        ] {
            for i in 0..200 {
                let event = Event::new("$pageview", format!("user-{i}"));
                assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
            }
        }
    }

    #[test]
    fn drops_everything_at_0() {
        let mut plugin = setup("0").unwrap();
        for i in 0..200 {
            assert_eq!(
                plugin
                    .process_event(Event::new("e", format!("user-{i}")))
                    .unwrap(),
                None
            );
        }
    }

    #[test]
    fn keeps_about_the_percentage_and_whole_users() {
        let mut plugin = setup("50").unwrap();
        let kept = (0..2000)
            .filter(|i| {
                let id = format!("user-{i}");
                let first = plugin.process_event(Event::new("a", id.clone())).unwrap();
                let second = plugin.process_event(Event::new("b", id.clone())).unwrap();
                assert_eq!(first.is_some(), second.is_some(), "{id}");
                assert_eq!(first.is_some(), keeps(&id, 50.0), "{id}");
                first.is_some()
            })
            .count();
        assert!((900..1100).contains(&kept), "kept {kept} of 2000");
    }

    #[test]
    fn a_kept_event_is_unchanged_and_stays_kept() {
        let mut plugin = setup("50").unwrap();
        let id = (0..)
            .map(|i| format!("u{i}"))
            .find(|id| keeps(id, 50.0))
            .unwrap();
        let event = Event::new("$pageview", id);
        let once = plugin.process_event(event.clone()).unwrap();
        assert_eq!(once.as_ref(), Some(&event));
        assert_eq!(plugin.process_event(event).unwrap(), once);
    }
}
