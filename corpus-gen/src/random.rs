//! Randomness: each file's own random stream ([`Gen`]), the draws the scenarios make from it,
//! and the event envelope every scenario wraps its properties in.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value};

use crate::ids::{hex, uuid4, uuid7};
use crate::time::{DAY_MS, YEAR_END_MS, YEAR_START_MS, rfc3339};
use crate::world::{User, World, team};

pub(crate) const SCALES: [f64; 5] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0];

/// `units` hundredths (or tenths, …: `decimals` decimals) as a number.
pub(crate) fn fixed(units: i64, decimals: usize) -> f64 {
    units as f64 / SCALES[decimals]
}

/// FNV-1a, to derive a file's random stream from the seed and its name.
pub(crate) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub(crate) fn stream(seed: u64, name: &str) -> StdRng {
    StdRng::seed_from_u64(seed ^ fnv1a(name))
}

/// The random stream of one file, with the shared world.
pub(crate) struct Gen<'w> {
    pub(crate) rng: StdRng,
    pub(crate) world: &'w World,
}

impl<'w> Gen<'w> {
    pub(crate) fn new(seed: u64, file: &str, world: &'w World) -> Self {
        Gen {
            rng: stream(seed, file),
            world,
        }
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    pub(crate) fn int(&mut self, low: i64, high: i64) -> i64 {
        self.rng.random_range(low..=high)
    }

    /// A number with `decimals` decimals between `low` and `high`, drawn as an integer count of
    /// units so that it prints as a short decimal (`12.3`, never `12.299999999999999`).
    pub(crate) fn float(&mut self, low: f64, high: f64, decimals: usize) -> f64 {
        let scale = SCALES[decimals];
        fixed(
            self.rng
                .random_range((low * scale) as i64..=(high * scale) as i64),
            decimals,
        )
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *self.pick_ref(items)
    }

    pub(crate) fn pick_ref<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items
            .choose(&mut self.rng)
            .expect("picking from a non-empty list")
    }

    pub(crate) fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
        let total: u32 = items.iter().map(&weight).sum();
        let mut roll = self.rng.random_range(0..total);
        for item in items {
            let w = weight(item);
            if roll < w {
                return item;
            }
            roll -= w;
        }
        unreachable!("the roll is below the total weight")
    }

    pub(crate) fn uuid(&mut self) -> String {
        uuid4(&mut self.rng)
    }

    pub(crate) fn uuid7(&mut self, ms: i64) -> String {
        uuid7(&mut self.rng, ms)
    }

    pub(crate) fn hex(&mut self, digits: usize) -> String {
        hex(&mut self.rng, digits)
    }

    /// A start time in 2024, leaving a day for what follows it.
    pub(crate) fn start_time(&mut self) -> i64 {
        self.rng.random_range(YEAR_START_MS..YEAR_END_MS - DAY_MS)
    }

    /// Any user: half the time uniformly, half the time skewed towards the start of the pool, so
    /// that every user appears and a few recur a lot.
    pub(crate) fn user(&mut self) -> &'w User {
        let users = &self.world.users;
        let u: f64 = self.rng.random();
        let skew = if self.chance(0.5) { u * u } else { u };
        &users[((skew * users.len() as f64) as usize).min(users.len() - 1)]
    }

    /// A user that has been identified (whose distinct id is not an anonymous id).
    pub(crate) fn identified_user(&mut self) -> &'w User {
        loop {
            let user = self.user();
            if user.identified {
                return user;
            }
        }
    }

    /// The envelope of an event around `properties`, in the canonical key order.
    pub(crate) fn event(
        &mut self,
        name: &str,
        who: Who<'_>,
        ts: i64,
        properties: Map<String, Value>,
    ) -> Map<String, Value> {
        let mut event = Map::new();
        event.insert("event".into(), name.into());
        event.insert("distinct_id".into(), who.distinct_id.into());
        event.insert("uuid".into(), self.uuid().into());
        event.insert("team_id".into(), who.team_id.into());
        event.insert("timestamp".into(), rfc3339(ts).into());
        if self.chance(0.95) {
            let ip = match who.ip {
                Some(ip) if self.chance(0.92) => Value::from(ip),
                _ => Value::Null,
            };
            event.insert("ip".into(), ip);
            event.insert("site_url".into(), team(who.team_id).site_url.into());
            // Mobile SDKs batch events while offline: their sent_at can lag by hours.
            let lag = if self.chance(0.05) {
                self.int(60_000, 6 * 3_600_000)
            } else {
                self.int(5, 8_000)
            };
            let sent_at = ts + lag;
            let now = sent_at + self.int(15, 900);
            event.insert("now".into(), rfc3339(now).into());
            if self.chance(0.96) {
                event.insert("sent_at".into(), rfc3339(sent_at).into());
            }
        }
        event.insert("properties".into(), Value::Object(properties));
        event
    }
}

/// Who sends an event: for the envelope.
#[derive(Clone, Copy)]
pub(crate) struct Who<'a> {
    pub(crate) distinct_id: &'a str,
    pub(crate) team_id: u32,
    pub(crate) ip: Option<&'a str>,
}

impl User {
    pub(crate) fn who(&self) -> Who<'_> {
        Who {
            distinct_id: &self.distinct_id,
            team_id: self.team_id,
            ip: Some(&self.ip),
        }
    }
}

pub(crate) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => unreachable!("not an object: {other}"),
    }
}

pub(crate) fn extend(map: &mut Map<String, Value>, more: Value) {
    map.extend(object(more));
}
