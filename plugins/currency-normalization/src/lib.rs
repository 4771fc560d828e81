//! currency-normalization: every amount in one currency.
//!
//! After PostHog's currency normalization plugin: an event whose properties hold an amount (a
//! number, or a string holding one) under `amountProperty` and a three-letter currency code under
//! `currencyProperty` gets two properties added: `normalized_amount`, the amount converted into
//! `normalizedCurrency` and rounded to 4 decimals, and `normalized_currency`. Other events pass
//! unchanged. Currency codes are matched case-insensitively (`eur` is `EUR`).
//!
//! Exchange rates come from openexchangerates.org (`/api/latest.json`, with the configured API
//! key). They are fetched when the first event needs them, not at setup, and kept in the cache
//! under `rates` for a day; every later event reads them from there, so a new instance does not
//! fetch again and the rates are refreshed once the cache entry expires. The plugin also keeps the
//! rates it last used: when a refresh fails it goes on with those (and logs a warning) rather
//! than failing every event. Without any rates, a failed request is an error, as is a currency
//! the rates do not list.

use std::collections::BTreeMap;

use posthog_plugin_sdk::{Config, Error, Event, Plugin, Transform, Value, cache, http, log};

/// Units of each currency per unit of the base currency (USD for openexchangerates.org).
pub type Rates = BTreeMap<String, f64>;

pub const RATES_KEY: &str = "rates";
pub const RATES_TTL_SECONDS: u32 = 86_400;
pub const RATES_URL: &str = "https://openexchangerates.org/api/latest.json";

pub struct CurrencyNormalization {
    api_key: String,
    normalized_currency: String,
    amount_property: String,
    currency_property: String,
    /// The rates used last, in case a refresh fails.
    rates: Option<Rates>,
}

/// The value of `key`, or `default` when it is unset or blank.
fn non_blank<'a>(config: &'a Config, key: &str, default: &'a str) -> &'a str {
    match config.get(key).map(str::trim) {
        Some(value) if !value.is_empty() => value,
        _ => default,
    }
}

impl Plugin for CurrencyNormalization {
    fn setup(config: &Config) -> Result<Self, Error> {
        let api_key = config.require("openExchangeRatesApiKey")?.trim().to_owned();
        let raw = non_blank(config, "normalizedCurrency", "EUR");
        let normalized_currency = currency_code(raw).ok_or_else(|| {
            Error::msg(format!(
                "config value `normalizedCurrency` = {raw:?} is not a three-letter currency code"
            ))
        })?;
        Ok(CurrencyNormalization {
            api_key,
            normalized_currency,
            amount_property: non_blank(config, "amountProperty", "amount").to_owned(),
            currency_property: non_blank(config, "currencyProperty", "currency").to_owned(),
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
        let normalized = if currency == self.normalized_currency {
            round4(amount)
        } else {
            let target = self.normalized_currency.clone();
            convert(amount, &currency, &target, self.rates()?)?
        };
        event.set_property("normalized_amount", normalized);
        event.set_property("normalized_currency", self.normalized_currency.clone());
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

/// Rounds to 4 decimals.
pub fn round4(value: f64) -> f64 {
    let scaled = value * 10_000.0;
    if scaled.is_finite() {
        scaled.round() / 10_000.0
    } else {
        value
    }
}

/// `amount` in `from` converted into `to` (both upper-case codes) with `rates`, rounded to 4
/// decimals. A currency the rates do not list is an error naming it.
pub fn convert(amount: f64, from: &str, to: &str, rates: &Rates) -> Result<f64, Error> {
    let rate = |code: &str| {
        rates.get(code).copied().ok_or_else(|| {
            Error::msg(format!(
                "unknown currency `{code}`: no exchange rate for it"
            ))
        })
    };
    let converted = amount * rate(to)? / rate(from)?;
    if !converted.is_finite() {
        return Err(Error::msg(format!(
            "{amount} {from} is too large to convert"
        )));
    }
    Ok(round4(converted))
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
    fn unknown_currencies_are_errors_naming_them() {
        let err = convert(1.0, "XYZ", "EUR", &sample_rates()).unwrap_err();
        assert!(err.to_string().contains("`XYZ`"), "{err}");
        let err = convert(1.0, "EUR", "ABC", &sample_rates()).unwrap_err();
        assert!(err.to_string().contains("`ABC`"), "{err}");
        assert!(convert(f64::MAX, "JPY", "USD", &sample_rates()).is_ok());
        assert!(convert(f64::MAX, "USD", "JPY", &sample_rates()).is_err());
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
    fn http_failures_and_unknown_currencies_are_errors() {
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
        let err = plugin
            .process_event(purchase(1, "XYZ"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`XYZ`"), "{err}");
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
        // The same currency as the target needs no rates either.
        let out = plugin
            .process_event(purchase("19.999999", "eur"))
            .unwrap()
            .unwrap();
        assert_eq!(normalized(&out), Some((20.0, "EUR")));
        assert_eq!(cache::get::<Rates>(RATES_KEY).unwrap(), None);
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
