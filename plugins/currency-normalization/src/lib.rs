//! currency-normalization: every amount in one currency.
//!
//! Follows PostHog's currency normalization plugin (PostHog/currency-normalization-plugin): an
//! event whose properties hold an amount (a number, or a string holding one) under
//! `amountProperty` and a three-letter currency code under `currencyProperty` gets two
//! properties added: under `normalizedAmountProperty` (`normalized_amount`), the amount converted
//! into `normalizedCurrency` and rounded to 4 decimals as JavaScript's `Math.round` rounds
//! (halves towards +infinity: -0.00125 gives -0.0012), and under `normalizedCurrencyProperty`
//! (`normalized_currency`), the currency. As upstream, the conversion always goes through the
//! rates (`amount * rate[to] / rate[from]`, in that order of operations), even from the target
//! currency itself, and an amount whose currency, or a target currency, the rates do not list is
//! left as it is, without an error. A whole result is written as an integer (`92`, not `92.0`),
//! as JavaScript writes it. Other events pass unchanged.
//!
//! Exchange rates come from openexchangerates.org (`/api/latest.json`, with the configured API
//! key). They are fetched when the first event needs them, not at setup, and kept in the cache
//! under `rates` for a day; every later event reads them from there, so a new instance does not
//! fetch again and the rates are refreshed once the cache entry expires. The plugin also keeps the
//! rates it last used: when a refresh fails it goes on with those (and logs a warning) rather
//! than failing every event. Without any rates, a failed request is an error (as upstream, whose
//! fetch throws), and the event goes on unchanged.
//!
//! Config as PostHog passes it: a blank API key is a setup error (upstream: `No API key
//! found!`); a blank `amountProperty` or `currencyProperty` names the property `""`, which events
//! do not have; a key absent from the config takes the default.
//!
//! Deliberately unlike upstream: currency codes are matched case-insensitively (`eur` is `EUR`;
//! upstream leaves `eur` alone), and only numbers and numeric strings are amounts (upstream's
//! `amount * rate` also turns `null`, `""` and `true` into amounts and writes `NaN` for text); a
//! blank or non-three-letter `normalizedCurrency` and blank output property names are setup
//! errors (upstream then does nothing, or writes a property named `""`); rates are fetched on
//! the first event that needs them rather than at setup, and refreshed when the cached ones are a
//! day old rather than by an hourly job.

use std::collections::BTreeMap;

use posthog_plugin_sdk::{Config, Error, Event, Plugin, Transform, Value, cache, http, log};

/// Units of each currency per unit of the base currency (USD for openexchangerates.org).
pub type Rates = BTreeMap<String, f64>;

pub const RATES_KEY: &str = "rates";
pub const RATES_TTL_SECONDS: u32 = 86_400;
pub const RATES_URL: &str = "https://openexchangerates.org/api/latest.json";

pub const DEFAULT_NORMALIZED_CURRENCY: &str = "EUR";
pub const DEFAULT_AMOUNT_PROPERTY: &str = "amount";
pub const DEFAULT_CURRENCY_PROPERTY: &str = "currency";
pub const DEFAULT_NORMALIZED_AMOUNT_PROPERTY: &str = "normalized_amount";
pub const DEFAULT_NORMALIZED_CURRENCY_PROPERTY: &str = "normalized_currency";

pub struct CurrencyNormalization {
    api_key: String,
    normalized_currency: String,
    amount_property: String,
    currency_property: String,
    normalized_amount_property: String,
    normalized_currency_property: String,
    /// The rates used last, in case a refresh fails.
    rates: Option<Rates>,
}

/// The output property name under `key`: `default` when absent, an error when blank.
fn output_property(config: &Config, key: &str, default: &str) -> Result<String, Error> {
    let name = config.get_or(key, default);
    if name.trim().is_empty() {
        return Err(Error::msg(format!(
            "config value `{key}` is blank: it names the property to write"
        )));
    }
    Ok(name.to_owned())
}

impl Plugin for CurrencyNormalization {
    fn setup(config: &Config) -> Result<Self, Error> {
        let api_key = config.require("openExchangeRatesApiKey")?.trim().to_owned();
        let raw = config.get_or("normalizedCurrency", DEFAULT_NORMALIZED_CURRENCY);
        let normalized_currency = currency_code(raw).ok_or_else(|| {
            Error::msg(format!(
                "config value `normalizedCurrency` = {raw:?} is not a three-letter currency code"
            ))
        })?;
        Ok(CurrencyNormalization {
            api_key,
            normalized_currency,
            amount_property: config
                .get_or("amountProperty", DEFAULT_AMOUNT_PROPERTY)
                .to_owned(),
            currency_property: config
                .get_or("currencyProperty", DEFAULT_CURRENCY_PROPERTY)
                .to_owned(),
            normalized_amount_property: output_property(
                config,
                "normalizedAmountProperty",
                DEFAULT_NORMALIZED_AMOUNT_PROPERTY,
            )?,
            normalized_currency_property: output_property(
                config,
                "normalizedCurrencyProperty",
                DEFAULT_NORMALIZED_CURRENCY_PROPERTY,
            )?,
            rates: None,
        })
    }
}

impl Transform for CurrencyNormalization {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        let amount = event.property(&self.amount_property).and_then(amount_value);
        let currency = event
            .property(&self.currency_property)
            .and_then(Value::as_str)
            .and_then(currency_code);
        let (Some(amount), Some(currency)) = (amount, currency) else {
            return Ok(Some(event));
        };
        let target = self.normalized_currency.clone();
        let Some(normalized) = convert(amount, &currency, &target, self.rates()?) else {
            return Ok(Some(event));
        };
        event.set_property(
            self.normalized_amount_property.clone(),
            js_number(normalized),
        );
        event.set_property(self.normalized_currency_property.clone(), target);
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(CurrencyNormalization);

impl CurrencyNormalization {
    /// The current rates: from the cache, else fetched (and cached), else the last ones used.
    fn rates(&mut self) -> Result<&Rates, Error> {
        match cache::get::<Rates>(RATES_KEY) {
            Ok(Some(rates)) => {
                self.rates = Some(rates);
            }
            Ok(None) => self.refresh()?,
            Err(e) => {
                log::warn(&format!(
                    "cached exchange rates are unreadable ({e}); fetching them"
                ));
                self.refresh()?;
            }
        }
        Ok(self.rates.as_ref().expect("rates were just set"))
    }

    fn refresh(&mut self) -> Result<(), Error> {
        match fetch_rates(&self.api_key) {
            Ok(rates) => {
                cache::set(RATES_KEY, &rates, Some(RATES_TTL_SECONDS))?;
                log::info(&format!(
                    "fetched exchange rates for {} currencies",
                    rates.len()
                ));
                self.rates = Some(rates);
                Ok(())
            }
            Err(e) if self.rates.is_some() => {
                log::warn(&format!(
                    "{e}; going on with the exchange rates fetched before"
                ));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// The request URL for `api_key`.
pub fn rates_url(api_key: &str) -> String {
    format!("{RATES_URL}?app_id={}", percent_encode(api_key))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Fetches the latest rates. Errors never show the API key.
pub fn fetch_rates(api_key: &str) -> Result<Rates, Error> {
    let redact = |message: String| {
        let message = message.replace(&rates_url(api_key), RATES_URL);
        Error::msg(if api_key.is_empty() {
            message
        } else {
            message.replace(api_key, "***")
        })
    };
    let response = http::get(&rates_url(api_key))
        .map_err(|e| redact(format!("fetching exchange rates failed: {e}")))?;
    if !response.is_success() {
        let body = String::from_utf8_lossy(&response.body);
        let body: String = body.chars().take(200).collect();
        return Err(redact(format!(
            "fetching exchange rates failed: openexchangerates.org answered {}: {body}",
            response.status
        )));
    }
    let body: Value = response
        .json()
        .map_err(|e| Error::msg(format!("exchange rates are not valid JSON: {e}")))?;
    parse_rates(&body)
}

/// The usable rates in an openexchangerates.org answer: positive finite numbers, by upper-case
/// code.
pub fn parse_rates(body: &Value) -> Result<Rates, Error> {
    let Some(Value::Object(rates)) = body.get("rates") else {
        return Err(Error::msg(
            "the exchange rates answer has no `rates` object",
        ));
    };
    let rates: Rates = rates
        .iter()
        .filter_map(|(code, rate)| {
            let rate = rate.as_f64().filter(|r| r.is_finite() && *r > 0.0)?;
            Some((currency_code(code)?, rate))
        })
        .collect();
    if rates.is_empty() {
        return Err(Error::msg("the exchange rates answer lists no usable rate"));
    }
    Ok(rates)
}

/// An amount: a finite number, or a string holding one.
pub fn amount_value(value: &Value) -> Option<f64> {
    let amount = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    amount.is_finite().then_some(amount)
}

/// A three-letter currency code, upper-cased; `None` for anything else.
pub fn currency_code(text: &str) -> Option<String> {
    let text = text.trim();
    (text.len() == 3 && text.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| text.to_ascii_uppercase())
}

/// `value * 10^4` rounded as JavaScript's `Math.round` rounds (to the nearest integer, halves
/// towards +infinity), divided by `10^4`: upstream's `roundToDigits(value, 4)`, operation for
/// operation.
pub fn round4(value: f64) -> f64 {
    let scaled = value * 10_000.0;
    if !scaled.is_finite() {
        return value;
    }
    js_round(scaled) / 10_000.0
}

/// JavaScript's `Math.round`: the nearest integer, and of two equally near the greater one
/// (`-2.5` gives `-2`, `2.5` gives `3`).
pub fn js_round(value: f64) -> f64 {
    let floor = value.floor();
    // Exact: `value` and its floor are within one of each other.
    if value - floor >= 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

/// A number as JavaScript writes it in JSON: a whole number without a fraction (`92`, and `0`
/// for `-0`), anything else as it is.
pub fn js_number(value: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if value.fract() == 0.0 && value.abs() < EXACT {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

/// `amount` in `from` converted into `to` (both upper-case codes) with `rates`, rounded like
/// upstream; `None` when the rates do not list either currency or the result is not finite.
pub fn convert(amount: f64, from: &str, to: &str, rates: &Rates) -> Option<f64> {
    let (rate_from, rate_to) = (rates.get(from)?, rates.get(to)?);
    let converted = amount * rate_to / rate_from;
    converted.is_finite().then(|| round4(converted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use posthog_plugin_sdk::{json, testing};

    const KEY: &str = "test-key";

    fn rates(pairs: &[(&str, f64)]) -> Rates {
        pairs
            .iter()
            .map(|&(code, rate)| (code.to_owned(), rate))
            .collect()
    }

    fn sample_rates() -> Rates {
        rates(&[("USD", 1.0), ("EUR", 0.92), ("GBP", 0.8), ("JPY", 150.0)])
    }

    fn serve_rates(status: u16, body: &str) {
        testing::add_http_fixture("GET", &rates_url(KEY), status, body);
    }

    fn plugin(extra: &[(&str, &str)]) -> CurrencyNormalization {
        let config: Config = [("openExchangeRatesApiKey", KEY)]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        CurrencyNormalization::setup(&config).unwrap()
    }

    /// [`plugin`], for where a variable named `plugin` hides it.
    fn plugin_with(extra: &[(&str, &str)]) -> CurrencyNormalization {
        plugin(extra)
    }

    fn purchase(amount: impl Into<Value>, currency: impl Into<Value>) -> Event {
        let mut event = Event::new("purchase", "u1");
        event.set_property("amount", amount);
        event.set_property("currency", currency);
        event
    }

    /// The (normalized_amount, normalized_currency) an event got, if any.
    fn normalized(event: &Event) -> Option<(f64, &str)> {
        Some((
            event.property("normalized_amount")?.as_f64()?,
            event.property("normalized_currency")?.as_str()?,
        ))
    }

    #[track_caller]
    fn check(amount: f64, from: &str, to: &str, expected: f64) {
        assert_eq!(
            convert(amount, from, to, &sample_rates()).unwrap(),
            expected,
            "{amount} {from} in {to}"
        );
    }

    #[test]
    fn converts_through_the_base_currency() {
        check(100.0, "USD", "EUR", 92.0);
        check(92.0, "EUR", "USD", 100.0);
        check(10.0, "GBP", "EUR", 11.5);
        check(1.0, "JPY", "EUR", 0.0061);
        check(-25.0, "EUR", "GBP", -21.7391);
        check(0.0, "GBP", "JPY", 0.0);
    }

    #[test]
    fn unknown_currencies_and_overflows_convert_to_nothing() {
        assert_eq!(convert(1.0, "XYZ", "EUR", &sample_rates()), None);
        assert_eq!(convert(1.0, "EUR", "ABC", &sample_rates()), None);
        assert!(convert(f64::MAX, "JPY", "USD", &sample_rates()).is_some());
        assert_eq!(convert(f64::MAX, "USD", "JPY", &sample_rates()), None);
    }

    #[test]
    fn rounds_halves_up_like_javascript() {
        for (value, expected) in [
            (2.5, 3.0),
            (-2.5, -2.0),
            (-12.5, -12.0),
            (0.49999999999999994, 0.0),
            (-0.5, 0.0),
            (1.5, 2.0),
            (-1.5000000000000002, -2.0),
            (4503599627370497.0, 4503599627370497.0),
        ] {
            assert_eq!(js_round(value), expected, "Math.round({value})");
        }
        // Values from JavaScript: Math.round(x * 10 ** 4) / 10 ** 4.
        assert_eq!(round4(-0.00125), -0.0012);
        assert_eq!(round4(-1.00005), -1.0001);
        assert_eq!(round4(-2.00005), -2.0);
        assert_eq!(round4(-12.34565), -12.3456);
        assert_eq!(round4(0.00125), 0.0013);
    }

    #[test]
    fn writes_whole_numbers_as_javascript_does() {
        assert_eq!(js_number(92.0).to_string(), "92");
        assert_eq!(js_number(-0.0).to_string(), "0");
        assert_eq!(js_number(-3.0).to_string(), "-3");
        assert_eq!(js_number(4.4691).to_string(), "4.4691");
        assert_eq!(js_number(1e300).to_string(), "1e+300");
    }

    #[test]
    fn reads_amounts_and_codes() {
        assert_eq!(amount_value(&json!(12)), Some(12.0));
        assert_eq!(amount_value(&json!(" 12.5 ")), Some(12.5));
        assert_eq!(amount_value(&json!("-3e2")), Some(-300.0));
        for bad in [
            json!("12 EUR"),
            json!(""),
            json!("NaN"),
            json!("inf"),
            json!(null),
            json!([1]),
        ] {
            assert_eq!(amount_value(&bad), None, "{bad}");
        }
        assert_eq!(currency_code(" eur "), Some("EUR".to_owned()));
        for bad in ["EURO", "E1R", "€", "ÉUR", ""] {
            assert_eq!(currency_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_rates_and_skips_unusable_ones() {
        let body = json!({"base": "USD", "rates": {"USD": 1, "EUR": 0.92, "BAD": "x", "NEG": -1, "TOOLONG": 2}});
        assert_eq!(
            parse_rates(&body).unwrap(),
            rates(&[("USD", 1.0), ("EUR", 0.92)])
        );
        assert!(parse_rates(&json!({"error": true})).is_err());
        assert!(parse_rates(&json!({"rates": {}})).is_err());
    }

    #[test]
    fn setup_requires_a_key_and_a_valid_currency() {
        let err = CurrencyNormalization::setup(&Config::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("openExchangeRatesApiKey"), "{err}");
        let config: Config = [
            ("openExchangeRatesApiKey", "k"),
            ("normalizedCurrency", "Euro"),
        ]
        .into_iter()
        .collect();
        let err = CurrencyNormalization::setup(&config).err().unwrap();
        assert!(err.to_string().contains("Euro"), "{err}");
    }

    #[test]
    fn normalizes_amounts_fetching_rates_lazily_once() {
        testing::reset();
        let mut plugin = plugin(&[]);
        assert_eq!(
            cache::get::<Rates>(RATES_KEY).unwrap(),
            None,
            "nothing fetched at setup"
        );

        serve_rates(
            200,
            r#"{"base":"USD","rates":{"USD":1,"EUR":0.92,"GBP":0.8}}"#,
        );
        let out = plugin.process_event(purchase(25, "usd")).unwrap().unwrap();
        assert_eq!(normalized(&out), Some((23.0, "EUR")));
        assert_eq!(
            out.property("currency"),
            Some(&json!("usd")),
            "the input is kept"
        );
        let out = plugin
            .process_event(purchase("10", "GBP"))
            .unwrap()
            .unwrap();
        assert_eq!(normalized(&out), Some((11.5, "EUR")));

        let cached = cache::get::<Rates>(RATES_KEY).unwrap().unwrap();
        assert_eq!(cached, rates(&[("EUR", 0.92), ("GBP", 0.8), ("USD", 1.0)]));
        let fetches = testing::logs()
            .iter()
            .filter(|(_, m)| m.starts_with("fetched"))
            .count();
        assert_eq!(fetches, 1);
        testing::set_clock_seconds(u64::from(RATES_TTL_SECONDS));
        assert_eq!(
            cache::get::<Rates>(RATES_KEY).unwrap(),
            None,
            "cached for a day"
        );
    }

    #[test]
    fn reads_cached_rates_and_refreshes_them_when_they_expire() {
        testing::reset();
        cache::set(RATES_KEY, &rates(&[("USD", 1.0), ("EUR", 0.5)]), Some(100)).unwrap();
        let config = [
            ("normalizedCurrency", "usd"),
            ("amountProperty", "price"),
            ("currencyProperty", "cur"),
        ];
        let mut plugin = plugin(&config);
        let mut event = Event::new("order", "u1");
        event.set_property("price", 10);
        event.set_property("cur", "EUR");
        let out = plugin.process_event(event.clone()).unwrap().unwrap();
        assert_eq!(
            normalized(&out),
            Some((20.0, "USD")),
            "no fixture: the cache answered"
        );

        testing::set_clock_seconds(100);
        serve_rates(200, r#"{"base":"USD","rates":{"USD":1,"EUR":0.8}}"#);
        let out = plugin.process_event(event).unwrap().unwrap();
        assert_eq!(normalized(&out), Some((12.5, "USD")));
    }

    #[test]
    fn keeps_going_with_old_rates_when_a_refresh_fails() {
        testing::reset();
        cache::set(RATES_KEY, &sample_rates(), Some(10)).unwrap();
        let mut plugin = plugin(&[]);
        assert!(
            plugin
                .process_event(purchase(100, "USD"))
                .unwrap()
                .is_some()
        );
        testing::set_clock_seconds(10);
        let out = plugin.process_event(purchase(100, "USD")).unwrap().unwrap();
        assert_eq!(normalized(&out), Some((92.0, "EUR")));
        let warned = testing::logs().into_iter().any(|(level, message)| {
            level == log::Level::Warn
                && message.contains("fetched before")
                && !message.contains(KEY)
        });
        assert!(warned, "{:?}", testing::logs());
    }

    #[test]
    fn http_failures_are_errors_and_unknown_currencies_are_not() {
        testing::reset();
        let mut plugin = plugin(&[]);
        let err = plugin
            .process_event(purchase(1, "USD"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fetching exchange rates failed") && !err.contains(KEY),
            "{err}"
        );

        serve_rates(401, r#"{"error":true,"message":"invalid_app_id"}"#);
        let err = plugin
            .process_event(purchase(1, "USD"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("401") && err.contains("invalid_app_id") && !err.contains(KEY),
            "{err}"
        );

        testing::reset();
        serve_rates(200, r#"{"base":"USD","rates":{"USD":1,"EUR":0.92}}"#);
        let event = purchase(1, "XYZ");
        assert_eq!(
            plugin.process_event(event.clone()).unwrap(),
            Some(event),
            "an unknown currency is left alone"
        );
    }

    #[test]
    fn other_events_pass_unchanged_without_fetching() {
        testing::reset();
        let mut plugin = plugin(&[]);
        let mut no_currency = Event::new("purchase", "u1");
        no_currency.set_property("amount", 5);
        let events = [
            Event::new("$pageview", "u1"),
            no_currency,
            purchase("five", "USD"),
            purchase(5, "US Dollar"),
            purchase(5, 840),
            purchase(json!(null), "USD"),
        ];
        for event in events {
            assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
        }
        assert_eq!(cache::get::<Rates>(RATES_KEY).unwrap(), None);
        assert!(testing::http_requests().is_empty());
    }

    #[test]
    fn the_target_currency_goes_through_the_rates_too() {
        testing::reset();
        serve_rates(200, r#"{"base":"USD","rates":{"USD":1,"EUR":0.840622}}"#);
        let mut plugin = plugin(&[]);
        let out = plugin
            .process_event(purchase("19.999999", "eur"))
            .unwrap()
            .unwrap();
        assert_eq!(normalized(&out), Some((20.0, "EUR")));
        assert_eq!(out.property("normalized_amount").unwrap().to_string(), "20");
        assert_eq!(testing::http_requests().len(), 1);
        // A target currency the rates do not list: nothing to write.
        let mut plugin = plugin_with(&[("normalizedCurrency", "XYZ")]);
        let event = purchase(5, "XYZ");
        assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
    }

    #[test]
    fn writes_the_configured_output_properties() {
        testing::reset();
        serve_rates(200, r#"{"base":"USD","rates":{"USD":1,"EUR":0.5}}"#);
        let mut plugin = plugin_with(&[
            ("normalizedAmountProperty", "amount_eur"),
            ("normalizedCurrencyProperty", "currency_eur"),
        ]);
        let out = plugin.process_event(purchase(3, "USD")).unwrap().unwrap();
        assert_eq!(out.property("amount_eur"), Some(&json!(1.5)));
        assert_eq!(out.property("currency_eur"), Some(&json!("EUR")));
        assert_eq!(out.property("normalized_amount"), None);
    }

    #[test]
    fn blank_config_values_are_not_the_defaults() {
        testing::reset();
        for key in [
            "openExchangeRatesApiKey",
            "normalizedCurrency",
            "normalizedAmountProperty",
            "normalizedCurrencyProperty",
        ] {
            let config: Config = [("openExchangeRatesApiKey", KEY), (key, "")]
                .into_iter()
                .collect();
            let err = CurrencyNormalization::setup(&config).err().unwrap();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        // A blank amount property names the property "", which the event does not have.
        serve_rates(200, r#"{"base":"USD","rates":{"USD":1,"EUR":0.5}}"#);
        let mut plugin = plugin_with(&[("amountProperty", "")]);
        let event = purchase(3, "USD");
        assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
    }

    #[test]
    fn is_idempotent() {
        testing::reset();
        serve_rates(
            200,
            r#"{"base":"USD","rates":{"USD":1,"EUR":0.92,"JPY":151.3}}"#,
        );
        let mut plugin = plugin(&[]);
        let once = plugin
            .process_event(purchase(1234, "JPY"))
            .unwrap()
            .unwrap();
        assert_eq!(normalized(&once), Some((7.5035, "EUR")));
        let twice = plugin.process_event(once.clone()).unwrap().unwrap();
        assert_eq!(twice, once);
    }

    #[test]
    fn the_fixture_the_harness_serves_is_usable() {
        let fixtures: Value = include_str!("../fixtures/http.json").parse().unwrap();
        let fixture = &fixtures[0];
        assert_eq!(fixture["request"]["method"], "GET");
        assert_eq!(fixture["request"]["url"], rates_url("verify-key").as_str());
        let rates = parse_rates(&fixture["response"]["json"]).unwrap();
        assert_eq!(rates.len(), 15);
        assert_eq!(rates["USD"], 1.0);
    }
}
