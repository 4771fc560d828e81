//! `server-side.jsonl`: custom events from the server libraries, named in every convention,
//! with amounts, currencies, items, billing addresses and GeoIP properties.

use serde_json::{Map, Value, json};

use crate::random::{Gen, Who, extend, fixed};
use crate::time::{DAY_MS, rfc3339};
use crate::world::User;

pub(crate) const CURRENCIES: &[&str] = &[
    "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK", "INR", "BRL", "usd", "eur",
];

pub(crate) const PRODUCTS: &[(&str, &str, &str, i64)] = &[
    ("SOCK-HOG-XL", "Hedgehog socks (XL)", "apparel", 1_299),
    ("MUG-001", "Mug — \"I ♥ analytics\"", "home", 1_850),
    ("STK-PACK", "Sticker pack", "accessories", 499),
    ("BOOK-DS", "Data Science from Scratch", "books", 3_999),
    ("PLAN-PRO-Y", "Pro plan (yearly)", "subscription", 45_000),
    ("GIFT-50", "Gift card", "gift_cards", 5_000),
];

impl Gen<'_> {
    /// An amount in `currency`: a number, or now and then a numeric string.
    pub(crate) fn amount(&mut self, cents: i64, currency: &str) -> Value {
        let as_string = self.chance(0.25);
        if currency.eq_ignore_ascii_case("JPY") {
            let yen = cents * 15 / 10;
            return if as_string {
                yen.to_string().into()
            } else {
                yen.into()
            };
        }
        if as_string {
            let sign = if cents < 0 { "-" } else { "" };
            format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100).into()
        } else if cents % 100 == 0 && self.chance(0.5) {
            (cents / 100).into()
        } else {
            (cents as f64 / 100.0).into()
        }
    }

    pub(crate) fn items(&mut self, currency: &str) -> (Value, i64) {
        let mut total = 0;
        let items = (0..self.int(1, 4))
            .map(|_| {
                let (sku, name, category, cents) = self.pick(PRODUCTS);
                let quantity = self.int(1, 3);
                total += cents * quantity;
                json!({
                    "sku": sku,
                    "name": name,
                    "category": category,
                    "quantity": quantity,
                    "price": self.amount(cents, currency),
                })
            })
            .collect();
        (items, total)
    }

    pub(crate) fn billing(&mut self, user: &User) -> Value {
        let zip = if user.city.zip.bytes().all(|b| b.is_ascii_digit()) && self.chance(0.15) {
            // A zip code as a number: leading zeros are lost.
            Value::from(user.city.zip.parse::<u64>().expect("digits"))
        } else {
            Value::from(user.city.zip)
        };
        let mut billing = json!({
            "name": user.name,
            "address": {
                "line1": self.pick(&["1 Infinite Loop", "221B Baker Street", "Friedrichstraße 43", "2-chōme-1 Marunouchi"]),
                "city": user.city.name,
                "zip": zip,
                "country": user.city.country_code,
            },
        });
        if self.chance(0.3) {
            billing["vat_id"] = format!(
                "{}{}",
                user.city.country_code,
                self.int(100_000_000, 999_999_999)
            )
            .into();
        }
        billing
    }

    pub(crate) fn geo(&mut self, user: &User, props: &mut Map<String, Value>) {
        props.insert("$ip".into(), user.ip.clone().into());
        if self.chance(0.8) {
            let c = user.city;
            extend(
                props,
                json!({
                    "$geoip_city_name": c.name,
                    "$geoip_country_code": c.country_code,
                    "$geoip_country_name": c.country,
                    "$geoip_latitude": fixed((c.latitude * 1e4) as i64 + self.int(-500, 500), 4),
                    "$geoip_longitude": fixed((c.longitude * 1e4) as i64 + self.int(-500, 500), 4),
                    "$geoip_time_zone": c.time_zone,
                }),
            );
        }
    }
}

pub(crate) fn generate(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    const SERVER_IPS: &[&str] = &[
        "10.0.3.17",
        "34.201.12.8",
        "172.31.44.201",
        "2600:1f18:4a3:6901::15",
    ];
    (0..n)
        .map(|_| {
            let ts = g.start_time();
            let user = if g.chance(0.9) { g.identified_user() } else { g.user() };
            let company = g.world.company(user);
            let name = g.pick(&[
                "user signed up",
                "UserSignedUp",
                "order_completed",
                "checkout-started",
                "Invoice Paid",
                "subscription.renewed",
                "Refund Issued",
                "api_request",
                "order_completed",
                "Invoice Paid",
            ]);
            let mut props = g.server_lib();
            let currency = g.pick(CURRENCIES);
            match name {
                "user signed up" | "UserSignedUp" => {
                    extend(
                        &mut props,
                        json!({
                            "plan": user.plan,
                            "signup_method": g.pick(&["email", "google", "github", "SAML"]),
                            "company": company.seed.name,
                        }),
                    );
                    if g.chance(0.3) {
                        props.insert("referral_code".into(), format!("REF-{}", g.hex(6).to_uppercase()).into());
                    }
                }
                "order_completed" | "checkout-started" => {
                    let (items, total) = g.items(currency);
                    let key = if name == "order_completed" { "order_id" } else { "cart_id" };
                    props.insert(key.into(), format!("ord_{}", g.hex(12)).into());
                    props.insert("amount".into(), g.amount(total, currency));
                    props.insert("currency".into(), currency.into());
                    props.insert("items".into(), items);
                    if name == "order_completed" {
                        props.insert("billing".into(), g.billing(user));
                        let coupon = if g.chance(0.3) { Value::from("SPRING24") } else { Value::Null };
                        props.insert("coupon".into(), coupon);
                    }
                }
                "Invoice Paid" | "subscription.renewed" => {
                    let cents = g.pick(&[0, 2_900, 4_500, 9_900, 45_000, 120_000]);
                    extend(
                        &mut props,
                        json!({
                            "invoice_id": format!("in_{}", g.hex(14)),
                            "plan": user.plan,
                            "amount": g.amount(cents, currency),
                            "currency": currency,
                            "billing": g.billing(user),
                            "period": { "start": rfc3339(ts - 30 * DAY_MS), "end": rfc3339(ts) },
                        }),
                    );
                }
                "Refund Issued" => {
                    let cents = -g.int(100, 20_000);
                    extend(
                        &mut props,
                        json!({
                            "order_id": format!("ord_{}", g.hex(12)),
                            "amount": g.amount(cents, currency),
                            "currency": currency,
                            "reason": g.pick(&["duplicate", "fraudulent", "requested_by_customer", ""]),
                        }),
                    );
                }
                _ => {
                    extend(
                        &mut props,
                        json!({
                            "endpoint": g.pick(&["/api/v1/events", "/api/v1/users/{id}", "/graphql", "/api/v2/Orders"]),
                            "method": g.pick(&["GET", "POST", "DELETE"]),
                            "status_code": g.pick(&[200, 201, 204, 400, 404, 429, 500]),
                            "duration_ms": g.float(0.5, 2_500.0, 2),
                        }),
                    );
                }
            }
            g.geo(user, &mut props);
            if g.chance(0.25) {
                props.insert("$groups".into(), json!({ "company": company.seed.key }));
            }
            if g.chance(0.15) {
                props.insert("$set".into(), json!({ "plan": user.plan, "last_order_at": rfc3339(ts) }));
            }
            let server_ip = if g.chance(0.5) { Some(g.pick(SERVER_IPS)) } else { None };
            g.event(name, Who { ip: server_ip, ..user.who() }, ts, props)
        })
        .collect()
}
