//! `cargo xtask corpus [--seed N]`: the seeded generator of the event corpus under `corpus/`.
//!
//! The corpus is what `verify` runs every plugin over: realistic PostHog events as they reach
//! the plugin server (after capture), one compact JSON object per line. Most of it is
//! generated here, from a seed, so that it can be regrown at will and reviewed as a diff; one
//! file, `corpus/edge-cases.jsonl`, is written by hand and is never touched by the generator.
//!
//! # The files
//!
//! | file                       | events | what it exercises |
//! |----------------------------|-------:|-------------------|
//! | `web-pageviews.jsonl`      | 250 | `$pageview`/`$pageleave` sessions from posthog-js: several browsers and OSes, `$current_url` with mixed-case hosts and paths, ports, trailing slashes, queries, fragments, percent-encoding; `$host`, `$pathname`, `$referrer`, screen sizes, `$session_id`/`$window_id` (UUIDv7-looking), `token` |
//! | `web-autocapture.jsonl`    | 120 | `$autocapture` clicks, changes and submits, with either an `$elements_chain` string (PostHog's `tag.class:attr="value"…;parent…` format, with escaped quotes and non-ASCII text) or an `$elements` array of objects |
//! | `identify-and-alias.jsonl` | 100 | `$identify` with top-level `$set`/`$set_once` (sometimes inside `properties` instead, as older SDKs send them) and `$anon_distinct_id`; `$create_alias` with `alias` |
//! | `groups.jsonl`             |  80 | `$groupidentify` (`$group_type` company/project, `$group_key`, `$group_set`) and custom events carrying a `$groups` object |
//! | `feature-flags.jsonl`      | 100 | `$feature_flag_called` (boolean and multivariate responses, payloads) and events carrying `$feature/<flag>` properties and `$active_feature_flags` |
//! | `mobile.jsonl`             | 120 | iOS/Android/React Native/Flutter sessions: `Application Opened`, `$screen`, `Application Backgrounded`, the odd `Application Installed`/`Updated`; app versions with pre-release and build metadata, `$app_build` a string (iOS) or a number (Android) |
//! | `server-side.jsonl`        | 150 | custom events from posthog-python/-node/-go/-ruby, named in every convention on purpose (`user signed up`, `UserSignedUp`, `order_completed`, `checkout-started`, `Invoice Paid`, `subscription.renewed`), with amounts as numbers or numeric strings, currencies in both cases, `items` arrays, nested `billing.address`, `$ip` and `$geoip_*` |
//! | `snapshots.jsonl`          |  80 | session recording: `$snapshot` events with rrweb `$snapshot_data` (meta, full snapshots of a few KB of nested DOM, incremental mouse/scroll/input/mutation data, custom events) and `$performance_event` events with posthog-js's numeric column keys |
//!
//! Every generated event has, in this key order: `event`, `distinct_id`, `uuid`, `team_id`
//! (1, 2 or 13), `timestamp`, then usually `ip` (a string, or `null`), `site_url`, `now`,
//! `sent_at` (a few percent of events leave all four out, a few more only `sent_at`), then
//! `properties`, then `$set`/`$set_once` when present. `uuid` looks like a version-4 UUID
//! (`xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx`, lower-case hex); timestamps are RFC 3339 UTC with
//! milliseconds (`2024-03-05T14:22:31.123Z`), within 2024, and `timestamp <= sent_at <= now`.
//! `distinct_id`s come from one pool of 60 users (UUIDs, e-mail addresses, numeric strings and
//! anonymous posthog-js ids) shared by all files and skewed so that some users recur a lot;
//! each user belongs to one company and so to one team, and gets stable feature-flag values.
//!
//! # The seed
//!
//! The default seed is 2026. The user pool is drawn from the seed alone, and each file from its
//! own random stream, seeded by the seed mixed with the file's name: so a file's events depend
//! only on the seed, the pool and that file's generator, and growing or adding one file leaves
//! the others byte for byte as they were. Only ordered collections are iterated and objects are
//! built with their keys in a fixed order (serde_json's `preserve_order`), so the same seed
//! gives byte-identical files. (The bytes do depend on `rand`'s `StdRng` and `random_range`
//! algorithms, which `rand` only keeps stable within a major version: a `rand` upgrade may
//! regenerate a different, equally valid, corpus.)
//!
//! # Regenerating and growing
//!
//! `cargo xtask corpus` rewrites the generated files in `corpus/` (and only those: other files
//! there, like `edge-cases.jsonl`, stay as they are); `--seed N` draws a different corpus. To
//! grow the corpus, raise a file's count in [`FILES`]; to exercise something new, add a
//! generator function and a row to [`FILES`], then rerun the command and commit the files. The
//! tests below check that the output is reproducible and that every line is a well-formed event,
//! and that the hand-written edge cases still parse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value, json};

#[derive(Debug, clap::Args)]
pub struct CorpusArgs {
    /// Seed of the generator.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

/// The hand-written file of edge cases, which the generator must never write.
const EDGE_CASES: &str = "edge-cases.jsonl";

/// One generated file: its name, how many events it holds and the function that makes them.
struct FileSpec {
    name: &'static str,
    events: usize,
    generate: fn(&mut Gen<'_>, usize) -> Vec<Map<String, Value>>,
}

/// The generated files, in the order they are generated and written.
const FILES: &[FileSpec] = &[
    file("web-pageviews.jsonl", 250, web_pageviews),
    file("web-autocapture.jsonl", 120, web_autocapture),
    file("identify-and-alias.jsonl", 100, identify_and_alias),
    file("groups.jsonl", 80, groups),
    file("feature-flags.jsonl", 100, feature_flags),
    file("mobile.jsonl", 120, mobile),
    file("server-side.jsonl", 150, server_side),
    file("snapshots.jsonl", 80, snapshots),
];

const fn file(
    name: &'static str,
    events: usize,
    generate: fn(&mut Gen<'_>, usize) -> Vec<Map<String, Value>>,
) -> FileSpec {
    FileSpec {
        name,
        events,
        generate,
    }
}

/// A generated file, rendered: JSONL, one compact event per line.
struct GeneratedFile {
    name: &'static str,
    events: usize,
    contents: String,
}

pub fn run(root: &Path, args: &CorpusArgs) -> anyhow::Result<()> {
    let dir = root.join("corpus");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut total = 0;
    for file in generate(args.seed) {
        anyhow::ensure!(
            file.name != EDGE_CASES,
            "the generator must not write {EDGE_CASES}"
        );
        let path = dir.join(file.name);
        std::fs::write(&path, &file.contents)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{:>5} events  corpus/{}", file.events, file.name);
        total += file.events;
    }
    println!("{total:>5} events generated (seed {})", args.seed);
    Ok(())
}

/// Generates every file of [`FILES`] from `seed`.
fn generate(seed: u64) -> Vec<GeneratedFile> {
    let world = World::new(seed);
    FILES
        .iter()
        .map(|spec| {
            let mut generator = Gen::new(seed, spec.name, &world);
            let events = (spec.generate)(&mut generator, spec.events);
            debug_assert_eq!(events.len(), spec.events, "{}", spec.name);
            let mut contents = String::new();
            for event in &events {
                contents.push_str(&serde_json::to_string(event).expect("a JSON object serialises"));
                contents.push('\n');
            }
            GeneratedFile {
                name: spec.name,
                events: events.len(),
                contents,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Time, ids and randomness.

/// 2024-01-01T00:00:00Z and 2025-01-01T00:00:00Z, in milliseconds since the epoch.
const YEAR_START_MS: i64 = 1_704_067_200_000;
const YEAR_END_MS: i64 = 1_735_689_600_000;
const DAY_MS: i64 = 86_400_000;

/// RFC 3339 UTC with milliseconds: `2024-03-05T14:22:31.123Z`.
fn rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let in_day = ms.rem_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

const SCALES: [f64; 5] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0];

/// `units` hundredths (or tenths, …: `decimals` decimals) as a number.
fn fixed(units: i64, decimals: usize) -> f64 {
    units as f64 / SCALES[decimals]
}

/// FNV-1a, to derive a file's random stream from the seed and its name.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn stream(seed: u64, name: &str) -> StdRng {
    StdRng::seed_from_u64(seed ^ fnv1a(name))
}

fn uuid4(rng: &mut StdRng) -> String {
    let (a, b, c, d, e): (u32, u16, u16, u16, u64) = (
        rng.random(),
        rng.random(),
        rng.random(),
        rng.random(),
        rng.random(),
    );
    format!(
        "{a:08x}-{b:04x}-4{:03x}-8{:03x}-{:012x}",
        c & 0xfff,
        d & 0xfff,
        e & 0xffff_ffff_ffff
    )
}

/// A UUIDv7-looking id whose first 48 bits are `ms`, as posthog-js makes session ids.
fn uuid7(rng: &mut StdRng, ms: i64) -> String {
    let ms = ms as u64 & 0xffff_ffff_ffff;
    let (c, d, e): (u16, u16, u64) = (rng.random(), rng.random(), rng.random());
    format!(
        "{:08x}-{:04x}-7{:03x}-{:x}{:03x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        c & 0xfff,
        8 + (d >> 14),
        d & 0xfff,
        e & 0xffff_ffff_ffff
    )
}

fn hex(rng: &mut StdRng, digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(rng.random_range(0..16u32), 16).expect("a hex digit"))
        .collect()
}

/// The random stream of one file, with the shared world.
struct Gen<'w> {
    rng: StdRng,
    world: &'w World,
}

impl<'w> Gen<'w> {
    fn new(seed: u64, file: &str, world: &'w World) -> Self {
        Gen {
            rng: stream(seed, file),
            world,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn int(&mut self, low: i64, high: i64) -> i64 {
        self.rng.random_range(low..=high)
    }

    /// A number with `decimals` decimals between `low` and `high`, drawn as an integer count of
    /// units so that it prints as a short decimal (`12.3`, never `12.299999999999999`).
    fn float(&mut self, low: f64, high: f64, decimals: usize) -> f64 {
        let scale = SCALES[decimals];
        fixed(
            self.rng
                .random_range((low * scale) as i64..=(high * scale) as i64),
            decimals,
        )
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *self.pick_ref(items)
    }

    fn pick_ref<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items
            .choose(&mut self.rng)
            .expect("picking from a non-empty list")
    }

    fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
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

    fn uuid(&mut self) -> String {
        uuid4(&mut self.rng)
    }

    fn uuid7(&mut self, ms: i64) -> String {
        uuid7(&mut self.rng, ms)
    }

    fn hex(&mut self, digits: usize) -> String {
        hex(&mut self.rng, digits)
    }

    /// A start time in 2024, leaving a day for what follows it.
    fn start_time(&mut self) -> i64 {
        self.rng.random_range(YEAR_START_MS..YEAR_END_MS - DAY_MS)
    }

    /// Any user: half the time uniformly, half the time skewed towards the start of the pool, so
    /// that every user appears and a few recur a lot.
    fn user(&mut self) -> &'w User {
        let users = &self.world.users;
        let u: f64 = self.rng.random();
        let skew = if self.chance(0.5) { u * u } else { u };
        &users[((skew * users.len() as f64) as usize).min(users.len() - 1)]
    }

    /// A user that has been identified (whose distinct id is not an anonymous id).
    fn identified_user(&mut self) -> &'w User {
        loop {
            let user = self.user();
            if user.identified {
                return user;
            }
        }
    }

    /// The envelope of an event around `properties`, in the canonical key order.
    fn event(
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
struct Who<'a> {
    distinct_id: &'a str,
    team_id: u32,
    ip: Option<&'a str>,
}

impl User {
    fn who(&self) -> Who<'_> {
        Who {
            distinct_id: &self.distinct_id,
            team_id: self.team_id,
            ip: Some(&self.ip),
        }
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => unreachable!("not an object: {other}"),
    }
}

fn extend(map: &mut Map<String, Value>, more: Value) {
    map.extend(object(more));
}

// ---------------------------------------------------------------------------------------------
// The world: teams, companies, users.

struct Team {
    id: u32,
    token: &'static str,
    site_url: &'static str,
    hosts: &'static [&'static str],
    app_name: &'static str,
    app_namespace: &'static str,
}

const TEAMS: &[Team] = &[
    Team {
        id: 1,
        token: "phc_Hx7kQ2mVb9LpR4sT8wYc3nDf6gJh1zKa5eUo0iXqWvB",
        site_url: "https://us.i.posthog.com",
        hosts: &[
            "hogflix.com",
            "www.hogflix.com",
            "WWW.HogFlix.com",
            "app.hogflix.com",
            "App.Hogflix.COM",
        ],
        app_name: "Hogflix",
        app_namespace: "com.hogflix.app",
    },
    Team {
        id: 2,
        token: "phc_2aCmE9shOpT0kEnZr8yXw7vU6tS5rQ4pO3nM2lK1jIh",
        site_url: "https://eu.i.posthog.com",
        hosts: &[
            "shop.acme.com",
            "Shop.Acme.com",
            "www.acme.com",
            "localhost:3000",
        ],
        app_name: "Acme Shop",
        app_namespace: "com.acme.shop",
    },
    Team {
        id: 13,
        token: "phc_nOrDlYs13xTeAmToKeN9f8e7d6c5b4a3z2y1x0wVuT",
        site_url: "https://posthog.nordlys.no",
        hosts: &[
            "nordlys.no",
            "www.Nordlys.no",
            "staging.nordlys.no:8443",
            "docs.nordlys.no",
        ],
        app_name: "Nordlys",
        app_namespace: "no.nordlys.mobile",
    },
];

fn team(id: u32) -> &'static Team {
    TEAMS.iter().find(|t| t.id == id).expect("a known team")
}

struct CompanySeed {
    name: &'static str,
    key: &'static str,
    domain: &'static str,
    industry: &'static str,
}

const COMPANIES: &[CompanySeed] = &[
    CompanySeed {
        name: "Acme Corp",
        key: "acme",
        domain: "acme.com",
        industry: "Manufacturing",
    },
    CompanySeed {
        name: "Hogflix",
        key: "hogflix",
        domain: "hogflix.com",
        industry: "Media",
    },
    CompanySeed {
        name: "Initech",
        key: "initech",
        domain: "initech.io",
        industry: "Software",
    },
    CompanySeed {
        name: "Globex GmbH",
        key: "globex-gmbh",
        domain: "globex.de",
        industry: "Logistics",
    },
    CompanySeed {
        name: "Kōbō KK",
        key: "kobo-kk",
        domain: "kobo.co.jp",
        industry: "Retail",
    },
    CompanySeed {
        name: "Soylent Ltd",
        key: "soylent",
        domain: "soylent.co.uk",
        industry: "Food & Beverage",
    },
    CompanySeed {
        name: "Wayne & Sons",
        key: "wayne-and-sons",
        domain: "wayneandsons.com",
        industry: "Finance",
    },
    CompanySeed {
        name: "Nordlys AS",
        key: "nordlys",
        domain: "nordlys.no",
        industry: "Energy",
    },
    CompanySeed {
        name: "Pied Piper",
        key: "pied-piper",
        domain: "piedpiper.com",
        industry: "Software",
    },
    CompanySeed {
        name: "Tyrell Labs",
        key: "tyrell",
        domain: "tyrell.ai",
        industry: "AI",
    },
    CompanySeed {
        name: "Café Olé SARL",
        key: "cafe-ole",
        domain: "cafeole.fr",
        industry: "Hospitality",
    },
    CompanySeed {
        name: "Umbrella Health",
        key: "10442",
        domain: "umbrella-health.org",
        industry: "Healthcare",
    },
];

const PEOPLE: &[(&str, &str)] = &[
    ("Jane Doe", "jane.doe"),
    ("José García", "jose.garcia"),
    ("Zoë Müller", "zoe.mueller"),
    ("Siobhán O'Brien", "siobhan"),
    ("李伟", "li.wei"),
    ("Ahmed Al-Farsi", "ahmed"),
    ("Priya Natarajan", "priya.n"),
    ("Łukasz Wiśniewski", "lukasz"),
    ("Nguyễn Văn An", "an.nguyen"),
    ("Olusegun Adeyemi", "segun"),
    ("Mariana Souza", "mariana.souza"),
    ("Kenji Watanabe", "k.watanabe"),
    ("Ingrid Hansen", "ingrid"),
    ("Tom Smith", "tom"),
    ("Fatima Zahra", "fatima.z"),
    ("Dmitri Ivanov", "dmitri"),
    ("Chloé Lefèvre", "chloe"),
    ("Sam Taylor", "sam.taylor"),
    ("Noa Levi", "noa"),
    ("Björn Þórsson", "bjorn"),
    ("Amara Okafor", "amara"),
    ("Lucas Martin", "lucas.martin"),
    ("Hana Kim", "hana.kim"),
    ("Mateo Rossi", "mateo"),
    ("Aisha Rahman", "aisha"),
    ("Oliver Brown", "obrown"),
    ("Elif Yılmaz", "elif"),
    ("Diego Fernández", "diego.f"),
    ("Grace Hopper", "grace"),
    ("Yuki Tanaka", "yuki"),
];

const PLANS: &[&str] = &[
    "free",
    "starter",
    "pro",
    "enterprise",
    "Pro",
    "pay-as-you-go",
];

struct City {
    name: &'static str,
    country_code: &'static str,
    country: &'static str,
    latitude: f64,
    longitude: f64,
    time_zone: &'static str,
    zip: &'static str,
    locale: &'static str,
}

const CITIES: &[City] = &[
    City {
        name: "San Francisco",
        country_code: "US",
        country: "United States",
        latitude: 37.7749,
        longitude: -122.4194,
        time_zone: "America/Los_Angeles",
        zip: "94107",
        locale: "en-US",
    },
    City {
        name: "New York",
        country_code: "US",
        country: "United States",
        latitude: 40.7128,
        longitude: -74.006,
        time_zone: "America/New_York",
        zip: "10001",
        locale: "en-US",
    },
    City {
        name: "London",
        country_code: "GB",
        country: "United Kingdom",
        latitude: 51.5072,
        longitude: -0.1276,
        time_zone: "Europe/London",
        zip: "SW1A 1AA",
        locale: "en-GB",
    },
    City {
        name: "Berlin",
        country_code: "DE",
        country: "Germany",
        latitude: 52.52,
        longitude: 13.405,
        time_zone: "Europe/Berlin",
        zip: "10115",
        locale: "de-DE",
    },
    City {
        name: "Paris",
        country_code: "FR",
        country: "France",
        latitude: 48.8566,
        longitude: 2.3522,
        time_zone: "Europe/Paris",
        zip: "75001",
        locale: "fr-FR",
    },
    City {
        name: "Tokyo",
        country_code: "JP",
        country: "Japan",
        latitude: 35.6762,
        longitude: 139.6503,
        time_zone: "Asia/Tokyo",
        zip: "100-0001",
        locale: "ja-JP",
    },
    City {
        name: "São Paulo",
        country_code: "BR",
        country: "Brazil",
        latitude: -23.5505,
        longitude: -46.6333,
        time_zone: "America/Sao_Paulo",
        zip: "01000-000",
        locale: "pt-BR",
    },
    City {
        name: "Bengaluru",
        country_code: "IN",
        country: "India",
        latitude: 12.9716,
        longitude: 77.5946,
        time_zone: "Asia/Kolkata",
        zip: "560001",
        locale: "en-IN",
    },
    City {
        name: "Sydney",
        country_code: "AU",
        country: "Australia",
        latitude: -33.8688,
        longitude: 151.2093,
        time_zone: "Australia/Sydney",
        zip: "2000",
        locale: "en-AU",
    },
    City {
        name: "Toronto",
        country_code: "CA",
        country: "Canada",
        latitude: 43.6532,
        longitude: -79.3832,
        time_zone: "America/Toronto",
        zip: "M5H 2N2",
        locale: "en-CA",
    },
    City {
        name: "Zürich",
        country_code: "CH",
        country: "Switzerland",
        latitude: 47.3769,
        longitude: 8.5417,
        time_zone: "Europe/Zurich",
        zip: "8001",
        locale: "de-CH",
    },
    City {
        name: "Oslo",
        country_code: "NO",
        country: "Norway",
        latitude: 59.9139,
        longitude: 10.7522,
        time_zone: "Europe/Oslo",
        zip: "0150",
        locale: "nb-NO",
    },
    City {
        name: "Lagos",
        country_code: "NG",
        country: "Nigeria",
        latitude: 6.5244,
        longitude: 3.3792,
        time_zone: "Africa/Lagos",
        zip: "100001",
        locale: "en-NG",
    },
    City {
        name: "Tel Aviv",
        country_code: "IL",
        country: "Israel",
        latitude: 32.0853,
        longitude: 34.7818,
        time_zone: "Asia/Jerusalem",
        zip: "6100000",
        locale: "he-IL",
    },
];

/// A feature flag: boolean when it has no variants.
struct Flag {
    key: &'static str,
    variants: &'static [&'static str],
}

const FLAGS: &[Flag] = &[
    Flag {
        key: "new-onboarding-flow",
        variants: &[],
    },
    Flag {
        key: "pricing-page-experiment",
        variants: &["control", "test", "test-2"],
    },
    Flag {
        key: "beta-dashboards",
        variants: &[],
    },
    Flag {
        key: "checkout-v2",
        variants: &["control", "test"],
    },
    Flag {
        key: "ai-summaries",
        variants: &[],
    },
    Flag {
        key: "homepage-hero",
        variants: &["control", "bold-copy", "video"],
    },
    Flag {
        key: "Enable_Dark_Mode",
        variants: &[],
    },
    Flag {
        key: "max_upload_size",
        variants: &["small", "large"],
    },
];

struct Company {
    seed: &'static CompanySeed,
    team_id: u32,
    employees: u32,
    plan: &'static str,
    created_ms: i64,
    projects: Vec<(String, &'static str)>,
}

struct User {
    distinct_id: String,
    anon_id: String,
    identified: bool,
    email: String,
    name: &'static str,
    company: usize,
    team_id: u32,
    plan: &'static str,
    ip: String,
    city: &'static City,
    /// The value of each of [`FLAGS`] for this user: `false`, `true` or a variant.
    flags: Vec<Value>,
}

/// What all files share: the companies and the pool of users.
struct World {
    companies: Vec<Company>,
    users: Vec<User>,
}

const USERS: usize = 60;

const PROJECT_NAMES: &[&str] = &[
    "Marketing site",
    "Web app",
    "iOS app",
    "Data warehouse",
    "Staging",
    "Internal tools",
];

impl World {
    fn new(seed: u64) -> World {
        let mut rng = stream(seed, "world");
        let companies: Vec<Company> = COMPANIES
            .iter()
            .enumerate()
            .map(|(i, company)| {
                let team_id = TEAMS[i % TEAMS.len()].id;
                let projects = (0..rng.random_range(1..=3))
                    .map(|_| {
                        (
                            format!("proj_{}", hex(&mut rng, 8)),
                            *PROJECT_NAMES.choose(&mut rng).expect("names"),
                        )
                    })
                    .collect();
                Company {
                    seed: company,
                    team_id,
                    employees: *[4, 12, 48, 150, 800, 12_000]
                        .choose(&mut rng)
                        .expect("sizes"),
                    plan: PLANS.choose(&mut rng).expect("plans"),
                    created_ms: rng.random_range(YEAR_START_MS - 3 * 365 * DAY_MS..YEAR_START_MS),
                    projects,
                }
            })
            .collect();
        let mut emails = BTreeSet::new();
        let users = (0..USERS)
            .map(|i| {
                let (name, handle) = PEOPLE[i % PEOPLE.len()];
                let company = rng.random_range(0..companies.len());
                let mut email = format!("{handle}@{}", companies[company].seed.domain);
                while !emails.insert(email.clone()) {
                    email = format!(
                        "{handle}{}@{}",
                        rng.random_range(2..100),
                        companies[company].seed.domain
                    );
                }
                let anon_id = if rng.random_bool(0.5) {
                    let first_seen = rng.random_range(YEAR_START_MS - 365 * DAY_MS..YEAR_END_MS);
                    uuid7(&mut rng, first_seen)
                } else {
                    // The id posthog-js made before UUIDv7: time, random, user agent hash, screen, time.
                    let first_seen = rng.random_range(YEAR_START_MS - 365 * DAY_MS..YEAR_END_MS);
                    format!(
                        "{first_seen:x}-0{}-{}-{:x}-{:x}",
                        hex(&mut rng, 13),
                        hex(&mut rng, 8),
                        [0x1fa400, 0x384000, 0x4b0000, 0xe1000][i % 4],
                        first_seen + rng.random_range(1..400)
                    )
                };
                let (distinct_id, identified) = match rng.random_range(0..10) {
                    0..3 => (uuid4(&mut rng), true),
                    3..5 => (email.clone(), true),
                    // Some backends identify with mixed-case addresses.
                    5 => (capitalise_email(&email), true),
                    6..8 => (rng.random_range(1..2_000_000u32).to_string(), true),
                    _ => (anon_id.clone(), false),
                };
                let ip = if rng.random_bool(0.15) {
                    format!(
                        "2a02:{:x}:{:x}:{:x}::{:x}",
                        rng.random_range(0x100..0xffffu32),
                        rng.random_range(0..0xffffu32),
                        rng.random_range(0..0xffffu32),
                        rng.random_range(1..0xffffu32)
                    )
                } else {
                    let first = [
                        23, 31, 45, 62, 77, 81, 89, 93, 104, 109, 151, 176, 185, 203, 212,
                    ];
                    format!(
                        "{}.{}.{}.{}",
                        first.choose(&mut rng).expect("octets"),
                        rng.random_range(0..=255),
                        rng.random_range(0..=255),
                        rng.random_range(1..=254)
                    )
                };
                let flags = FLAGS
                    .iter()
                    .map(|flag| {
                        if flag.variants.is_empty() {
                            Value::Bool(rng.random_bool(0.5))
                        } else if rng.random_bool(0.2) {
                            Value::Bool(false)
                        } else {
                            Value::from(*flag.variants.choose(&mut rng).expect("variants"))
                        }
                    })
                    .collect();
                User {
                    distinct_id,
                    anon_id,
                    identified,
                    email,
                    name,
                    company,
                    team_id: companies[company].team_id,
                    plan: PLANS.choose(&mut rng).expect("plans"),
                    ip,
                    city: CITIES.choose(&mut rng).expect("cities"),
                    flags,
                }
            })
            .collect();
        World { companies, users }
    }

    fn company(&self, user: &User) -> &Company {
        &self.companies[user.company]
    }
}

fn capitalise_email(email: &str) -> String {
    let mut out = String::with_capacity(email.len());
    let mut start = true;
    for c in email.chars() {
        out.push(if start { c.to_ascii_uppercase() } else { c });
        start = matches!(c, '.' | '@');
    }
    out
}

fn active_flags(user: &User) -> Value {
    FLAGS
        .iter()
        .zip(&user.flags)
        .filter(|(_, value)| **value != Value::Bool(false))
        .map(|(flag, _)| Value::from(flag.key))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The web: browsers, pages, posthog-js properties.

struct Browser {
    name: &'static str,
    os: &'static str,
    device_type: &'static str,
    weight: u32,
}

const BROWSERS: &[Browser] = &[
    Browser {
        name: "Chrome",
        os: "Windows",
        device_type: "Desktop",
        weight: 20,
    },
    Browser {
        name: "Chrome",
        os: "Mac OS X",
        device_type: "Desktop",
        weight: 12,
    },
    Browser {
        name: "Chrome",
        os: "Linux",
        device_type: "Desktop",
        weight: 3,
    },
    Browser {
        name: "Chrome",
        os: "Android",
        device_type: "Mobile",
        weight: 10,
    },
    Browser {
        name: "Chrome",
        os: "Chrome OS",
        device_type: "Desktop",
        weight: 2,
    },
    Browser {
        name: "Chrome iOS",
        os: "iOS",
        device_type: "Mobile",
        weight: 3,
    },
    Browser {
        name: "Firefox",
        os: "Windows",
        device_type: "Desktop",
        weight: 5,
    },
    Browser {
        name: "Firefox",
        os: "Linux",
        device_type: "Desktop",
        weight: 3,
    },
    Browser {
        name: "Firefox",
        os: "Mac OS X",
        device_type: "Desktop",
        weight: 2,
    },
    Browser {
        name: "Safari",
        os: "Mac OS X",
        device_type: "Desktop",
        weight: 8,
    },
    Browser {
        name: "Mobile Safari",
        os: "iOS",
        device_type: "Mobile",
        weight: 12,
    },
    Browser {
        name: "Mobile Safari",
        os: "iOS",
        device_type: "Tablet",
        weight: 3,
    },
    Browser {
        name: "Microsoft Edge",
        os: "Windows",
        device_type: "Desktop",
        weight: 8,
    },
    Browser {
        name: "Microsoft Edge",
        os: "Mac OS X",
        device_type: "Desktop",
        weight: 1,
    },
    Browser {
        name: "Samsung Internet",
        os: "Android",
        device_type: "Mobile",
        weight: 5,
    },
    Browser {
        name: "Samsung Internet",
        os: "Android",
        device_type: "Tablet",
        weight: 1,
    },
];

const WEB_LIB_VERSIONS: &[&str] = &[
    "1.96.1", "1.105.4", "1.116.6", "1.130.2", "1.139.3", "1.155.0",
];

/// One browser on one device, as posthog-js describes it.
struct WebClient {
    browser: &'static str,
    browser_version: Value,
    os: &'static str,
    os_version: &'static str,
    device_type: &'static str,
    screen: (u32, u32),
    viewport: (u32, u32),
    language: &'static str,
    lib_version: &'static str,
    device_id: String,
}

/// One visit: a session in one window of one client.
struct Visit<'w> {
    user: &'w User,
    client: WebClient,
    session_id: String,
    window_id: String,
}

/// A URL, with the parts posthog-js reports of it.
struct Page {
    url: String,
    host: &'static str,
    path: &'static str,
}

const PATHS: &[&str] = &[
    "/",
    "/pricing",
    "/Pricing/",
    "/pricing/",
    "/blog/",
    "/blog/2024/03/why-hedgehogs",
    "/docs/Getting-Started",
    "/docs/getting-started/",
    "/app/project/42/insights/AbC123xY",
    "/account/settings",
    "/signup",
    "/login",
    "/search",
    "/products/hog-socks-XL",
    "/caf%C3%A9/menu",
    "/cart",
    "/checkout/",
    "/index.html",
];

const QUERIES: &[&str] = &[
    "?utm_source=google&utm_medium=cpc&utm_campaign=spring_sale",
    "?ref=producthunt",
    "?q=hedgehog+socks",
    "?q=Hedgehog%20Socks&page=2",
    "?page=2&sort=desc",
    "?gclid=Cj0KCQiA5rGuBhCnARIsAN11vgT",
    "?",
    "?a=1&a=2",
    "?UTM_SOURCE=Newsletter&utm_medium=Email",
    "?lang=日本語",
];

const FRAGMENTS: &[&str] = &[
    "#pricing",
    "#/dashboard",
    "#section-2",
    "#",
    "#Top",
    "#:~:text=hedgehog",
];

const REFERRERS: &[&str] = &[
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://t.co/",
    "https://www.reddit.com/r/programming/",
    "https://L.Facebook.com/",
    "android-app://com.google.android.gm/",
];

fn referring_domain(referrer: &str) -> String {
    match referrer.split_once("://") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest).to_owned(),
        None => "$direct".to_owned(),
    }
}

impl<'w> Gen<'w> {
    fn web_client(&mut self) -> WebClient {
        let browser = self.weighted(BROWSERS, |b| b.weight);
        let browser_version = match browser.name {
            "Chrome" | "Microsoft Edge" => Value::from(self.int(119, 125)),
            "Chrome iOS" => Value::from(self.int(122, 124)),
            "Firefox" => Value::from(self.int(120, 126)),
            "Samsung Internet" => Value::from(self.int(23, 25)),
            _ => Value::from(self.pick(&[16.6, 17.0, 17.1, 17.2, 17.3, 17.4, 17.5])),
        };
        let os_version = match browser.os {
            "Windows" => "10.0",
            "Mac OS X" => self.pick(&["10.15.7", "14.4.1", "13.6.3"]),
            "Linux" => "",
            "Android" => self.pick(&["10.0", "13.0.0", "14.0.0", "12"]),
            "iOS" => self.pick(&["16.7.8", "17.3.1", "17.4.1", "17.5"]),
            _ => "14541.0.0",
        };
        let screen = match browser.device_type {
            "Desktop" => self.pick(&[
                (1920, 1080),
                (2560, 1440),
                (1440, 900),
                (1536, 864),
                (3840, 2160),
                (1366, 768),
            ]),
            "Mobile" if browser.os == "iOS" => {
                self.pick(&[(390, 844), (393, 852), (430, 932), (375, 667)])
            }
            "Mobile" => self.pick(&[(412, 915), (360, 800), (384, 854), (412, 892)]),
            _ => self.pick(&[(820, 1180), (768, 1024), (1024, 1366)]),
        };
        let viewport = (
            screen.0 - self.int(0, 16) as u32,
            screen.1 - self.int(60, 180) as u32,
        );
        let first_seen = YEAR_START_MS - self.int(0, 200 * DAY_MS);
        WebClient {
            browser: browser.name,
            browser_version,
            os: browser.os,
            os_version,
            device_type: browser.device_type,
            screen,
            viewport,
            language: self.pick(&[
                "en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "pt-BR", "nb-NO", "he-IL",
            ]),
            lib_version: self.pick(WEB_LIB_VERSIONS),
            device_id: self.uuid7(first_seen),
        }
    }

    fn visit(&mut self, start: i64) -> Visit<'w> {
        let user = self.user();
        let client = self.web_client();
        let session_id = self.uuid7(start);
        let window_start = start + self.int(0, 40);
        Visit {
            user,
            client,
            session_id,
            window_id: self.uuid7(window_start),
        }
    }

    fn page(&mut self, team_id: u32) -> Page {
        let host = self.pick(team(team_id).hosts);
        let scheme = if host.starts_with("localhost") || self.chance(0.04) {
            "http"
        } else {
            "https"
        };
        let path = self.pick(PATHS);
        let mut url = format!("{scheme}://{host}{path}");
        if self.chance(0.3) {
            url.push_str(self.pick(QUERIES));
        }
        if self.chance(0.15) {
            url.push_str(self.pick(FRAGMENTS));
        }
        Page { url, host, path }
    }

    /// The properties posthog-js sends with every event.
    fn web_props(
        &mut self,
        visit: &Visit<'_>,
        page: &Page,
        referrer: &str,
        ts: i64,
    ) -> Map<String, Value> {
        let c = &visit.client;
        let mut props = object(json!({
            "$os": c.os,
            "$os_version": c.os_version,
            "$browser": c.browser,
            "$device_type": c.device_type,
            "$current_url": page.url,
            "$host": page.host,
            "$pathname": page.path,
            "$browser_version": c.browser_version,
            "$browser_language": c.language,
            "$screen_height": c.screen.1,
            "$screen_width": c.screen.0,
            "$viewport_height": c.viewport.1,
            "$viewport_width": c.viewport.0,
            "$lib": "web",
            "$lib_version": c.lib_version,
            "$insert_id": self.hex(16),
            "$time": ts as f64 / 1000.0,
            "distinct_id": visit.user.distinct_id,
            "$device_id": c.device_id,
            "$referrer": referrer,
            "$referring_domain": referring_domain(referrer),
            "$session_id": visit.session_id,
            "$window_id": visit.window_id,
            "$timezone": visit.user.city.time_zone,
        }));
        if self.chance(0.1) {
            props.insert("$process_person_profile".into(), Value::Bool(false));
        }
        props.insert("token".into(), team(visit.user.team_id).token.into());
        props
    }

    fn first_referrer(&mut self) -> String {
        if self.chance(0.35) {
            "$direct".into()
        } else {
            self.pick(REFERRERS).into()
        }
    }
}

fn web_pageviews(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    let mut events = Vec::with_capacity(n + 16);
    while events.len() < n {
        let mut ts = g.start_time();
        let visit = g.visit(ts);
        let mut referrer = g.first_referrer();
        for _ in 0..g.int(1, 6) {
            let page = g.page(visit.user.team_id);
            let props = g.web_props(&visit, &page, &referrer, ts);
            events.push(g.event("$pageview", visit.user.who(), ts, props));
            let duration = g.int(800, 240_000);
            if g.chance(0.7) {
                let leave_ts = ts + duration;
                let mut props = g.web_props(&visit, &page, &referrer, leave_ts);
                extend(
                    &mut props,
                    json!({
                        "$prev_pageview_pathname": page.path,
                        "$prev_pageview_duration": duration as f64 / 1000.0,
                        "$prev_pageview_max_scroll_percentage": g.float(0.0, 1.0, 4),
                        "$prev_pageview_last_content": g.int(400, 12_000),
                    }),
                );
                events.push(g.event("$pageleave", visit.user.who(), leave_ts, props));
            }
            ts += duration + g.int(50, 3_000);
            referrer = page.url;
        }
    }
    events.truncate(n);
    events
}

// ---------------------------------------------------------------------------------------------
// Autocapture.

/// One DOM element of an autocapture event.
struct Element {
    tag: &'static str,
    classes: &'static [&'static str],
    id: Option<&'static str>,
    href: Option<&'static str>,
    text: Option<&'static str>,
    attrs: Vec<(&'static str, &'static str)>,
    nth_child: i64,
    nth_of_type: i64,
}

impl Element {
    fn new(tag: &'static str, classes: &'static [&'static str]) -> Element {
        Element {
            tag,
            classes,
            id: None,
            href: None,
            text: None,
            attrs: Vec::new(),
            nth_child: 1,
            nth_of_type: 1,
        }
    }
}

const BUTTON_TEXTS: &[&str] = &[
    "Sign up",
    "Log in",
    "Add to cart",
    "Save changes",
    "Start free trial",
    "Add \"Pro\" plan",
    "Weiter →",
    "購入する",
    "Download",
    "  Continue  ",
];

const BUTTON_CLASSES: &[&[&str]] = &[
    &["btn", "primary"],
    &["btn", "btn-secondary"],
    &[],
    &[
        "LemonButton",
        "LemonButton--primary",
        "LemonButton--status-primary",
    ],
    &["w-full", "rounded-md", "bg-blue-600", "hover:bg-blue-700"],
];

const LINKS: &[(&str, &str)] = &[
    ("/signup", "Get started"),
    ("/pricing", "Pricing"),
    ("https://posthog.com/docs", "Docs"),
    ("#features", "Features"),
    ("/blog/2024/03/why-hedgehogs", "Read more"),
    ("mailto:hello@hogflix.com", "Contact us"),
];

const LINK_CLASSES: &[&[&str]] = &[&["nav-link"], &[], &["link", "text-muted"]];
const FIELD_CLASSES: &[&[&str]] = &[&["form-control"], &[], &["input", "input-lg"]];
const FORM_CLASSES: &[&[&str]] = &[&["signup-form"], &[], &["form", "needs-validation"]];

const ANCESTORS: &[(&str, &[&str], Option<&str>)] = &[
    ("div", &["container"], None),
    ("div", &["row", "g-2"], None),
    ("nav", &["navbar", "navbar-expand-lg"], Some("main-nav")),
    ("header", &[], None),
    ("section", &["hero"], Some("hero")),
    ("main", &[], None),
    ("li", &["nav-item"], None),
    ("ul", &["menu"], None),
    ("div", &["modal-body"], None),
];

impl Gen<'_> {
    fn target(&mut self, event_type: &str) -> Vec<Element> {
        let mut chain = Vec::new();
        match event_type {
            "click" => {
                if self.chance(0.35) {
                    let (href, text) = self.pick(LINKS);
                    let mut a = Element::new("a", self.pick(LINK_CLASSES));
                    a.href = Some(href);
                    a.text = Some(text);
                    chain.push(a);
                } else {
                    if self.chance(0.2) {
                        // A click on the icon inside a button.
                        chain.push(Element::new(self.pick(&["svg", "span", "img"]), &[]));
                    }
                    let mut button = Element::new("button", self.pick(BUTTON_CLASSES));
                    button.text = Some(self.pick(BUTTON_TEXTS));
                    if self.chance(0.4) {
                        button.id =
                            Some(self.pick(&["signup-button", "cta", "save", "checkout-btn"]));
                    }
                    if self.chance(0.3) {
                        button.attrs.push((
                            "attr__data-attr",
                            self.pick(&["hero-cta", "nav-signup", "plan-pro"]),
                        ));
                    }
                    button.attrs.push(("attr__type", "button"));
                    chain.push(button);
                }
            }
            "change" => {
                let (tag, kind, name) = self.pick(&[
                    ("input", "email", "email"),
                    ("input", "text", "company"),
                    ("input", "checkbox", "terms"),
                    ("input", "search", "q"),
                    ("select", "", "country"),
                    ("textarea", "", "message"),
                ]);
                let mut field = Element::new(tag, self.pick(FIELD_CLASSES));
                if !kind.is_empty() {
                    field.attrs.push(("attr__type", kind));
                }
                field.attrs.push(("attr__name", name));
                chain.push(field);
            }
            _ => {
                let mut form = Element::new("form", self.pick(FORM_CLASSES));
                form.id = Some(self.pick(&["signup-form", "checkout", "newsletter"]));
                form.attrs
                    .push(("attr__action", self.pick(&["/api/signup", "/checkout", ""])));
                form.attrs.push(("attr__method", "post"));
                chain.push(form);
            }
        }
        let mut used = BTreeSet::new();
        for _ in 0..self.int(1, 4) {
            let index = self.int(0, ANCESTORS.len() as i64 - 1);
            if !used.insert(index) {
                continue;
            }
            let (tag, classes, id) = ANCESTORS[index as usize];
            let mut el = Element::new(tag, classes);
            el.id = id;
            chain.push(el);
        }
        chain.push(Element::new("body", &[]));
        for el in &mut chain {
            el.nth_child = self.int(1, 6);
            el.nth_of_type = self.int(1, el.nth_child);
        }
        chain
    }
}

/// PostHog's `$elements_chain`: elements from the target up, `;`-separated, each
/// `tag.class1.class2:key="value"…` with the attributes in key order and `"` escaped.
fn elements_chain(chain: &[Element]) -> String {
    let escape = |s: &str| s.replace('"', "\\\"");
    let parts: Vec<String> = chain
        .iter()
        .map(|el| {
            let mut out = el.tag.to_owned();
            let mut classes = el.classes.to_vec();
            classes.sort_unstable();
            for class in classes {
                out.push('.');
                out.push_str(class);
            }
            let mut attrs: BTreeMap<&str, String> = BTreeMap::new();
            if !el.classes.is_empty() {
                attrs.insert("attr__class", el.classes.join(" "));
            }
            if let Some(href) = el.href {
                attrs.insert("attr__href", href.into());
                attrs.insert("href", href.into());
            }
            if let Some(id) = el.id {
                attrs.insert("attr__id", id.into());
                attrs.insert("attr_id", id.into());
            }
            for (key, value) in &el.attrs {
                attrs.insert(key, (*value).into());
            }
            attrs.insert("nth-child", el.nth_child.to_string());
            attrs.insert("nth-of-type", el.nth_of_type.to_string());
            if let Some(text) = el.text {
                attrs.insert("text", text.into());
            }
            out.push(':');
            for (key, value) in attrs {
                out.push_str(&format!("{key}=\"{}\"", escape(&value)));
            }
            out
        })
        .collect();
    parts.join(";")
}

/// posthog-js's older `$elements`: one object per element, from the target up.
fn elements_array(chain: &[Element], text_key: &str) -> Value {
    chain
        .iter()
        .map(|el| {
            let mut obj = Map::new();
            obj.insert("tag_name".into(), el.tag.into());
            if let Some(text) = el.text {
                obj.insert(text_key.into(), text.into());
            }
            if !el.classes.is_empty() {
                obj.insert(
                    "classes".into(),
                    el.classes.iter().map(|c| Value::from(*c)).collect(),
                );
                obj.insert("attr__class".into(), el.classes.join(" ").into());
            }
            if let Some(id) = el.id {
                obj.insert("attr__id".into(), id.into());
            }
            if let Some(href) = el.href {
                obj.insert("attr__href".into(), href.into());
            }
            for (key, value) in &el.attrs {
                obj.insert((*key).into(), (*value).into());
            }
            obj.insert("nth_child".into(), el.nth_child.into());
            obj.insert("nth_of_type".into(), el.nth_of_type.into());
            Value::Object(obj)
        })
        .collect()
}

fn web_autocapture(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    (0..n)
        .map(|_| {
            let ts = g.start_time();
            let session_start = ts - g.int(0, 600_000);
            let visit = g.visit(session_start);
            let page = g.page(visit.user.team_id);
            let referrer = g.first_referrer();
            let event_type = *g.weighted(&[("click", 7), ("change", 2), ("submit", 1)], |e| e.1);
            let chain = g.target(event_type.0);
            let mut props = g.web_props(&visit, &page, &referrer, ts);
            props.insert("$event_type".into(), event_type.0.into());
            props.insert("$ce_version".into(), 1.into());
            if g.chance(0.55) {
                props.insert("$elements_chain".into(), elements_chain(&chain).into());
            } else {
                let text_key = if g.chance(0.7) { "$el_text" } else { "text" };
                if let Some(text) = chain.iter().find_map(|el| el.text) {
                    props.insert("$el_text".into(), text.into());
                }
                props.insert("$elements".into(), elements_array(&chain, text_key));
            }
            g.event("$autocapture", visit.user.who(), ts, props)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Identify and alias.

fn identify_and_alias(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    (0..n)
        .map(|_| {
            let ts = g.start_time();
            let user = g.identified_user();
            let company = g.world.company(user);
            let session_start = ts - g.int(0, 900_000);
            let visit = Visit {
                user,
                client: g.web_client(),
                session_id: g.uuid7(session_start),
                window_id: g.uuid7(session_start + 3),
            };
            let page = g.page(user.team_id);
            let referrer = g.first_referrer();
            let mut props = g.web_props(&visit, &page, &referrer, ts);
            if g.chance(0.72) {
                props.insert("$anon_distinct_id".into(), user.anon_id.clone().into());
                let mut set = object(json!({
                    "email": user.email,
                    "name": user.name,
                    "plan": user.plan,
                    "company": company.seed.name,
                }));
                if g.chance(0.4) {
                    extend(
                        &mut set,
                        json!({
                            "is_admin": g.chance(0.2),
                            "seats": g.int(1, 250),
                            "role": g.pick(&["engineer", "founder", "Product Manager", "marketing", ""]),
                        }),
                    );
                }
                let first_url = g.page(user.team_id).url;
                let set_once = json!({
                    "$initial_referrer": referrer,
                    "$initial_referring_domain": referring_domain(&referrer),
                    "$initial_current_url": first_url,
                    "$initial_os": visit.client.os,
                    "signup_date": rfc3339(ts - g.int(0, 200) * DAY_MS),
                });
                let mut event = if g.chance(0.15) {
                    // Older SDKs send $set and $set_once inside the properties.
                    props.insert("$set".into(), Value::Object(set));
                    props.insert("$set_once".into(), set_once);
                    g.event("$identify", user.who(), ts, props)
                } else {
                    let mut event = g.event("$identify", user.who(), ts, props);
                    event.insert("$set".into(), Value::Object(set));
                    if g.chance(0.85) {
                        event.insert("$set_once".into(), set_once);
                    }
                    event
                };
                if g.chance(0.1) {
                    // Identifying with nothing to set.
                    event.insert("$set".into(), json!({}));
                }
                event
            } else {
                // Alias the user to another id they are known by.
                let alias = if user.distinct_id.contains('@') {
                    g.int(1, 2_000_000).to_string()
                } else {
                    user.email.clone()
                };
                props.insert("alias".into(), alias.into());
                g.event("$create_alias", user.who(), ts, props)
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Groups.

const SERVER_LIBS: &[(&str, &[&str])] = &[
    ("posthog-python", &["3.5.0", "3.7.4", "3.11.0"]),
    ("posthog-node", &["4.2.1", "4.10.1", "4.17.2"]),
    ("posthog-go", &["1.2.18", "1.2.24"]),
    ("posthog-ruby", &["2.5.0", "2.7.1"]),
];

impl Gen<'_> {
    fn server_lib(&mut self) -> Map<String, Value> {
        let (lib, versions) = self.pick(SERVER_LIBS);
        object(json!({ "$lib": lib, "$lib_version": self.pick(versions) }))
    }
}

fn groups(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    (0..n)
        .map(|_| {
            let ts = g.start_time();
            let user = g.user();
            let company = g.world.company(user);
            let (project_key, project_name) = g.pick_ref(&company.projects).clone();
            if g.chance(0.45) {
                let (group_type, group_key, group_set) = if g.chance(0.6) {
                    let set = json!({
                        "name": company.seed.name,
                        "industry": company.seed.industry,
                        "employees": company.employees,
                        "plan": company.plan,
                        "domain": company.seed.domain,
                        "created_at": rfc3339(company.created_ms),
                    });
                    ("company", company.seed.key.to_owned(), set)
                } else {
                    let set = json!({
                        "name": project_name,
                        "company": company.seed.key,
                        "environment": g.pick(&["production", "staging", "development"]),
                        "events_ingested": g.int(0, 50_000_000),
                    });
                    ("project", project_key, set)
                };
                let mut props = g.server_lib();
                extend(
                    &mut props,
                    json!({ "$group_type": group_type, "$group_key": group_key, "$group_set": group_set }),
                );
                // Server libraries send group identifies as the group itself; posthog-js as the user.
                let group_id = format!("${group_type}_{group_key}");
                let who = if g.chance(0.6) {
                    Who { distinct_id: &group_id, team_id: user.team_id, ip: None }
                } else {
                    user.who()
                };
                g.event("$groupidentify", who, ts, props)
            } else {
                let name = g.pick(&[
                    "project created",
                    "dashboard viewed",
                    "report exported",
                    "member invited",
                    "api key rotated",
                    "Insight Saved",
                ]);
                let mut props = g.server_lib();
                let mut groups = object(json!({ "company": company.seed.key }));
                if g.chance(0.6) {
                    groups.insert("project".into(), project_key.into());
                }
                props.insert("$groups".into(), Value::Object(groups));
                match name {
                    "dashboard viewed" => {
                        props.insert("dashboard_id".into(), g.int(1, 5000).into());
                        props.insert("tiles".into(), g.int(0, 40).into());
                    }
                    "member invited" => {
                        props.insert("role".into(), g.pick(&["admin", "member", "viewer"]).into());
                        props.insert("invitee_email_domain".into(), company.seed.domain.into());
                    }
                    "report exported" => {
                        props.insert("format".into(), g.pick(&["csv", "xlsx", "png", "PDF"]).into());
                        props.insert("rows".into(), g.int(0, 1_000_000).into());
                    }
                    _ => {}
                }
                g.event(name, user.who(), ts, props)
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Feature flags.

fn feature_flags(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    (0..n)
        .map(|_| {
            let ts = g.start_time();
            let session_start = ts - g.int(0, 600_000);
            let visit = g.visit(session_start);
            let user = visit.user;
            let mut props = if g.chance(0.8) {
                let page = g.page(user.team_id);
                let referrer = g.first_referrer();
                g.web_props(&visit, &page, &referrer, ts)
            } else {
                g.server_lib()
            };
            let flag_index = g.int(0, FLAGS.len() as i64 - 1) as usize;
            let name = if g.chance(0.55) {
                let flag = &FLAGS[flag_index];
                let response = user.flags[flag_index].clone();
                props.insert("$feature_flag".into(), flag.key.into());
                props.insert("$feature_flag_response".into(), response.clone());
                if response.is_string() && g.chance(0.4) {
                    let payload =
                        json!({ "headline": "Try the new thing", "discount": g.int(5, 50) });
                    props.insert("$feature_flag_payload".into(), payload);
                }
                if g.chance(0.3) {
                    props.insert("$feature_flag_request_id".into(), g.uuid().into());
                }
                props.insert(format!("$feature/{}", flag.key), response);
                "$feature_flag_called"
            } else {
                for (flag, value) in FLAGS.iter().zip(&user.flags) {
                    if g.chance(0.8) {
                        props.insert(format!("$feature/{}", flag.key), value.clone());
                    }
                }
                g.pick(&[
                    "dashboard viewed",
                    "insight viewed",
                    "upgrade clicked",
                    "checkout_started",
                ])
            };
            props.insert("$active_feature_flags".into(), active_flags(user));
            g.event(name, user.who(), ts, props)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Mobile.

struct Device {
    os: &'static str,
    manufacturer: &'static str,
    model: &'static str,
    name: &'static str,
    device_type: &'static str,
    screen: (u32, u32),
}

const DEVICES: &[Device] = &[
    Device {
        os: "iOS",
        manufacturer: "Apple",
        model: "iPhone15,2",
        name: "iPhone",
        device_type: "Mobile",
        screen: (393, 852),
    },
    Device {
        os: "iOS",
        manufacturer: "Apple",
        model: "iPhone16,1",
        name: "iPhone",
        device_type: "Mobile",
        screen: (393, 852),
    },
    Device {
        os: "iOS",
        manufacturer: "Apple",
        model: "iPhone14,5",
        name: "Jane's iPhone",
        device_type: "Mobile",
        screen: (390, 844),
    },
    Device {
        os: "iOS",
        manufacturer: "Apple",
        model: "iPad13,18",
        name: "iPad",
        device_type: "Tablet",
        screen: (820, 1180),
    },
    Device {
        os: "Android",
        manufacturer: "samsung",
        model: "SM-S918B",
        name: "dm3q",
        device_type: "Mobile",
        screen: (1080, 2340),
    },
    Device {
        os: "Android",
        manufacturer: "Google",
        model: "Pixel 8",
        name: "shiba",
        device_type: "Mobile",
        screen: (1080, 2400),
    },
    Device {
        os: "Android",
        manufacturer: "Xiaomi",
        model: "2201117TG",
        name: "spes",
        device_type: "Mobile",
        screen: (1080, 2400),
    },
    Device {
        os: "Android",
        manufacturer: "OnePlus",
        model: "CPH2449",
        name: "OP5958L1",
        device_type: "Mobile",
        screen: (1240, 2772),
    },
    Device {
        os: "Android",
        manufacturer: "samsung",
        model: "SM-X710",
        name: "gts9wifi",
        device_type: "Tablet",
        screen: (1752, 2800),
    },
];

const SCREENS: &[&str] = &[
    "HomeScreen",
    "Home",
    "SettingsView",
    "ProductDetail",
    "CheckoutViewController",
    "Onboarding/Step2",
    "search_results",
    "Profile",
    "カート",
    "MainActivity",
];

/// One app session on one device.
struct AppSession<'w> {
    user: &'w User,
    device: &'static Device,
    lib: &'static str,
    lib_version: &'static str,
    app_version: String,
    app_build: Value,
    os_version: &'static str,
    session_id: String,
    wifi: bool,
    emulator: bool,
}

impl<'w> Gen<'w> {
    fn app_session(&mut self, start: i64) -> AppSession<'w> {
        let user = self.user();
        let device = self.pick_ref(DEVICES);
        let (lib, lib_version) = match (device.os, self.int(0, 3)) {
            ("iOS", 0 | 1) => ("posthog-ios", self.pick(&["3.19.1", "3.20.0", "3.12.6"])),
            (_, 0 | 1) => ("posthog-android", self.pick(&["3.4.2", "3.8.0", "3.9.1"])),
            (_, 2) => (
                "posthog-react-native",
                self.pick(&["3.3.4", "3.1.2", "3.6.0"]),
            ),
            _ => ("posthog-flutter", self.pick(&["4.10.0", "4.6.0"])),
        };
        let base = self.pick(&["2.4.0", "2.4.1", "2.5.0", "3.0.0", "1.12.3"]);
        let build = self.int(100, 999);
        let app_version = match self.int(0, 9) {
            0 | 1 => format!("{base}-beta.{}", self.int(1, 5)),
            2 => format!("{base}-rc.1"),
            3 | 4 => format!("{base}+{build}"),
            _ => base.to_owned(),
        };
        // iOS reports CFBundleVersion (a string); Android its versionCode (a number).
        let app_build = if device.os == "iOS" {
            Value::from(build.to_string())
        } else {
            Value::from(build)
        };
        let os_version = if device.os == "iOS" {
            self.pick(&["17.4.1", "17.5", "16.7.8", "18.0"])
        } else {
            self.pick(&["14", "13", "12", "11"])
        };
        AppSession {
            user,
            device,
            lib,
            lib_version,
            app_version,
            app_build,
            os_version,
            session_id: self.uuid7(start),
            wifi: self.chance(0.6),
            emulator: self.chance(0.03),
        }
    }

    fn mobile_props(&mut self, s: &AppSession<'_>) -> Map<String, Value> {
        let t = team(s.user.team_id);
        let d = s.device;
        let mut props = object(json!({
            "$app_version": s.app_version,
            "$app_build": s.app_build,
            "$app_name": t.app_name,
            "$app_namespace": t.app_namespace,
            "$device_manufacturer": d.manufacturer,
            "$device_model": d.model,
            "$device_name": d.name,
            "$device_type": d.device_type,
            "$os": d.os,
            "$os_version": s.os_version,
            "$screen_width": d.screen.0,
            "$screen_height": d.screen.1,
            "$locale": s.user.city.locale,
            "$timezone": s.user.city.time_zone,
            "$network_wifi": s.wifi,
            "$network_cellular": !s.wifi,
        }));
        if !s.wifi && self.chance(0.7) {
            props.insert(
                "$network_carrier".into(),
                self.pick(&["Vodafone", "T-Mobile", "Telenor", "NTT DOCOMO", "Jio", ""])
                    .into(),
            );
        }
        extend(
            &mut props,
            json!({
                "$is_emulator": s.emulator,
                "$lib": s.lib,
                "$lib_version": s.lib_version,
                "$session_id": s.session_id,
            }),
        );
        props
    }
}

fn mobile(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    let mut events = Vec::with_capacity(n + 16);
    while events.len() < n {
        let mut ts = g.start_time();
        let s = g.app_session(ts);
        if g.chance(0.08) {
            let mut props = g.mobile_props(&s);
            let name = if g.chance(0.5) {
                "Application Installed"
            } else {
                props.insert("previous_version".into(), "2.3.9".into());
                props.insert("previous_build".into(), s.app_build.clone());
                "Application Updated"
            };
            props.insert("version".into(), s.app_version.clone().into());
            props.insert("build".into(), s.app_build.clone());
            events.push(g.event(name, s.user.who(), ts, props));
            ts += g.int(100, 2_000);
        }
        let mut props = g.mobile_props(&s);
        props.insert("from_background".into(), g.chance(0.5).into());
        props.insert("version".into(), s.app_version.clone().into());
        props.insert("build".into(), s.app_build.clone());
        if g.chance(0.2) {
            props.insert(
                "url".into(),
                format!("{}://open/promo?code=SPRING24", app_scheme(s.user.team_id)).into(),
            );
        }
        events.push(g.event("Application Opened", s.user.who(), ts, props));
        for _ in 0..g.int(1, 5) {
            ts += g.int(300, 90_000);
            let mut props = object(json!({ "$screen_name": g.pick(SCREENS) }));
            props.extend(g.mobile_props(&s));
            events.push(g.event("$screen", s.user.who(), ts, props));
        }
        if g.chance(0.8) {
            ts += g.int(1_000, 120_000);
            let props = g.mobile_props(&s);
            events.push(g.event("Application Backgrounded", s.user.who(), ts, props));
        }
    }
    events.truncate(n);
    events
}

fn app_scheme(team_id: u32) -> &'static str {
    match team_id {
        1 => "hogflix",
        2 => "acmeshop",
        _ => "nordlys",
    }
}

// ---------------------------------------------------------------------------------------------
// Server side.

const CURRENCIES: &[&str] = &[
    "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK", "INR", "BRL", "usd", "eur",
];

const PRODUCTS: &[(&str, &str, &str, i64)] = &[
    ("SOCK-HOG-XL", "Hedgehog socks (XL)", "apparel", 1_299),
    ("MUG-001", "Mug — \"I ♥ analytics\"", "home", 1_850),
    ("STK-PACK", "Sticker pack", "accessories", 499),
    ("BOOK-DS", "Data Science from Scratch", "books", 3_999),
    ("PLAN-PRO-Y", "Pro plan (yearly)", "subscription", 45_000),
    ("GIFT-50", "Gift card", "gift_cards", 5_000),
];

impl Gen<'_> {
    /// An amount in `currency`: a number, or now and then a numeric string.
    fn amount(&mut self, cents: i64, currency: &str) -> Value {
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

    fn items(&mut self, currency: &str) -> (Value, i64) {
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

    fn billing(&mut self, user: &User) -> Value {
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

    fn geo(&mut self, user: &User, props: &mut Map<String, Value>) {
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

fn server_side(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
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

// ---------------------------------------------------------------------------------------------
// Session recordings.

const DOM_TAGS: &[&str] = &[
    "div", "section", "ul", "li", "p", "span", "a", "button", "img", "nav", "header", "footer",
    "form", "input",
];
const DOM_CLASSES: &[&str] = &[
    "container",
    "row",
    "col-md-6",
    "card",
    "card-body",
    "btn btn-primary",
    "text-muted",
    "ph-no-capture",
    "flex items-center gap-2",
];
const DOM_TEXTS: &[&str] = &[
    "Welcome back!",
    "Pricing",
    "Hedgehogs ♥ analytics",
    "Total: €42.00",
    "ログイン",
    "שלום",
    "Read more →",
    "\n  ",
    "*****",
];

impl Gen<'_> {
    fn dom(&mut self, depth: u32, next_id: &mut i64) -> Value {
        let id = *next_id;
        *next_id += 1;
        if depth == 0 || self.chance(0.2) {
            return json!({ "type": 3, "textContent": self.pick(DOM_TEXTS), "id": id });
        }
        let tag = self.pick(DOM_TAGS);
        let mut attributes = object(json!({ "class": self.pick(DOM_CLASSES) }));
        if tag == "a" {
            attributes.insert("href".into(), self.pick(PATHS).into());
        }
        if self.chance(0.15) {
            attributes.insert("data-testid".into(), format!("{tag}-{id}").into());
        }
        let children: Vec<Value> = (0..self.int(0, 4))
            .map(|_| self.dom(depth - 1, next_id))
            .collect();
        json!({ "type": 2, "tagName": tag, "attributes": attributes, "childNodes": children, "id": id })
    }

    fn full_snapshot(&mut self) -> Value {
        let mut next_id = 6;
        let body: Vec<Value> = (0..self.int(2, 4))
            .map(|_| self.dom(4, &mut next_id))
            .collect();
        json!({
            "node": {
                "type": 0,
                "childNodes": [
                    { "type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2 },
                    {
                        "type": 2,
                        "tagName": "html",
                        "attributes": { "lang": "en" },
                        "childNodes": [
                            { "type": 2, "tagName": "head", "attributes": {}, "childNodes": [], "id": 4 },
                            { "type": 2, "tagName": "body", "attributes": {}, "childNodes": body, "id": 5 },
                        ],
                        "id": 3,
                    },
                ],
                "id": 1,
            },
            "initialOffset": { "left": 0, "top": 0 },
        })
    }

    fn incremental(&mut self) -> Value {
        let id = self.int(5, 120);
        match self.int(0, 4) {
            0 => {
                let positions: Vec<Value> = (0..self.int(3, 30))
                    .map(|i| json!({ "x": self.int(0, 1920), "y": self.int(0, 1080), "id": id, "timeOffset": -20 * i }))
                    .collect();
                json!({ "source": 1, "positions": positions })
            }
            1 => {
                json!({ "source": 2, "type": self.int(0, 9), "id": id, "x": self.int(0, 1920), "y": self.int(0, 1080) })
            }
            2 => json!({ "source": 3, "id": id, "x": 0, "y": self.int(0, 8_000) }),
            3 => json!({ "source": 5, "text": "*****", "isChecked": false, "id": id }),
            _ => {
                let mut next_id = 500 + self.int(0, 100);
                let adds: Vec<Value> = (0..self.int(1, 3))
                    .map(|_| json!({ "parentId": id, "nextId": null, "node": self.dom(2, &mut next_id) }))
                    .collect();
                json!({
                    "source": 0,
                    "texts": [{ "id": id + 1, "value": self.pick(DOM_TEXTS) }],
                    "attributes": [{ "id": id, "attributes": { "class": self.pick(DOM_CLASSES), "style": null } }],
                    "removes": [{ "parentId": id, "id": id + 2 }],
                    "adds": adds,
                })
            }
        }
    }

    fn snapshot(
        &mut self,
        visit: &Visit<'_>,
        page: &Page,
        ts: i64,
        kind: i64,
    ) -> Map<String, Value> {
        let data = match kind {
            4 => {
                json!({ "href": page.url, "width": visit.client.viewport.0, "height": visit.client.viewport.1 })
            }
            2 => self.full_snapshot(),
            5 => json!({ "tag": "$pageview", "payload": { "href": page.url } }),
            _ => self.incremental(),
        };
        let snapshot = json!({ "type": kind, "data": data, "timestamp": ts });
        let bytes = serde_json::to_string(&snapshot).expect("JSON").len();
        let props = object(json!({
            "$snapshot_bytes": bytes,
            "$snapshot_data": snapshot,
            "$session_id": visit.session_id,
            "$window_id": visit.window_id,
            "$snapshot_source": "web",
            "distinct_id": visit.user.distinct_id,
            "$lib": "web",
            "$lib_version": visit.client.lib_version,
            "token": team(visit.user.team_id).token,
        }));
        self.event("$snapshot", visit.user.who(), ts, props)
    }

    fn performance_event(
        &mut self,
        visit: &Visit<'_>,
        page: &Page,
        ts: i64,
        origin: i64,
    ) -> Map<String, Value> {
        let navigation = self.chance(0.3);
        let name = if navigation {
            page.url.clone()
        } else {
            let file = self.pick(&[
                "static/app.3f9a2c.js",
                "static/styles.css",
                "api/feature_flags",
                "images/hero.webp",
                "decide/?v=3",
            ]);
            format!("https://{}/{file}", page.host)
        };
        // Times in tenths of a millisecond, so that sums stay short decimals.
        let start = if navigation { 0 } else { self.int(50, 40_000) };
        let fetch = start + self.int(0, 50);
        let request = fetch + self.int(0, 800);
        let response_start = request + self.int(50, 4_000);
        let response_end = response_start + self.int(1, 3_000);
        let ms = |tenths: i64| fixed(tenths, 1);
        let decoded = self.int(200, 900_000);
        let mut props = object(json!({
            "0": if navigation { "navigation" } else { "resource" },
            "1": fixed(origin * 10 + self.int(0, 9), 1),
            "2": name,
            "3": ms(start),
            "7": ms(fetch),
            "13": ms(request),
            "14": ms(response_start),
            "15": ms(response_end),
            "16": decoded,
            "17": decoded / self.int(1, 4),
            "18": if navigation { "navigation" } else { self.pick(&["script", "link", "fetch", "img", "xmlhttprequest"]) },
            "19": self.pick(&["h2", "h3", "http/1.1", ""]),
            "21": self.pick(&[200, 200, 200, 304, 404]),
            "22": self.int(0, 300_000),
        }));
        if navigation {
            let interactive = response_end + self.int(500, 9_000);
            let complete = interactive + self.int(100, 20_000);
            extend(
                &mut props,
                json!({
                    "29": ms(complete),
                    "30": ms(interactive + 32),
                    "31": ms(interactive),
                    "32": ms(complete + 15),
                    "33": ms(complete + 4),
                    "35": self.pick(&["navigate", "reload", "back_forward"]),
                }),
            );
        }
        extend(
            &mut props,
            json!({
                "39": ms(response_end - start),
                "40": ts,
                "token": team(visit.user.team_id).token,
                "$session_id": visit.session_id,
                "$window_id": visit.window_id,
                "$current_url": page.url,
                "$lib": "web",
                "$lib_version": visit.client.lib_version,
            }),
        );
        self.event("$performance_event", visit.user.who(), ts, props)
    }
}

fn snapshots(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    let mut events = Vec::with_capacity(n + 16);
    while events.len() < n {
        let origin = g.start_time();
        let mut ts = origin + g.int(5, 200);
        let visit = g.visit(origin);
        let page = g.page(visit.user.team_id);
        events.push(g.snapshot(&visit, &page, ts, 4));
        events.push(g.snapshot(&visit, &page, ts + 1, 2));
        for _ in 0..g.int(1, 2) {
            ts += g.int(50, 1_500);
            events.push(g.performance_event(&visit, &page, ts, origin));
        }
        for _ in 0..g.int(2, 8) {
            ts += g.int(16, 5_000);
            let kind = if g.chance(0.1) { 5 } else { 3 };
            events.push(g.snapshot(&visit, &page, ts, kind));
        }
    }
    events.truncate(n);
    events
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// `xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx`, lower-case hex.
    fn is_uuid4(s: &str) -> bool {
        s.len() == 36
            && s.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                14 => c == '4',
                19 => c == '8',
                _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
            })
    }

    /// `2024-MM-DDTHH:MM:SS.mmmZ`, a real instant of 2024.
    fn is_generated_timestamp(s: &str) -> bool {
        let b = s.as_bytes();
        let digits =
            |range: std::ops::Range<usize>| s.get(range).and_then(|d| d.parse::<u32>().ok());
        b.len() == 24
            && s.starts_with("2024-")
            && (b[7], b[10], b[13], b[16], b[19], b[23]) == (b'-', b'T', b':', b':', b'.', b'Z')
            && s.bytes()
                .enumerate()
                .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16 | 19 | 23) || c.is_ascii_digit())
            && digits(5..7).is_some_and(|m| (1..=12).contains(&m))
            && digits(8..10).is_some_and(|d| (1..=31).contains(&d))
            && digits(11..13).is_some_and(|h| h < 24)
            && digits(14..16).is_some_and(|m| m < 60)
            && digits(17..19).is_some_and(|s| s < 60)
    }

    /// RFC 3339 `date-time`: `YYYY-MM-DD`, `T`, `HH:MM:SS`, optional fraction, `Z` or `±HH:MM`.
    fn is_rfc3339(s: &str) -> bool {
        let b = s.as_bytes();
        let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        let at = |i: usize, c: u8| b.get(i) == Some(&c);
        let date_time = (0..4).all(digit)
            && at(4, b'-')
            && digit(5)
            && digit(6)
            && at(7, b'-')
            && digit(8)
            && digit(9)
            && (at(10, b'T') || at(10, b't'))
            && digit(11)
            && digit(12)
            && at(13, b':')
            && digit(14)
            && digit(15)
            && at(16, b':')
            && digit(17)
            && digit(18);
        if !date_time {
            return false;
        }
        let mut i = 19;
        if at(i, b'.') {
            i += 1;
            let start = i;
            while digit(i) {
                i += 1;
            }
            if i == start {
                return false;
            }
        }
        match b.get(i) {
            Some(b'Z' | b'z') => i + 1 == b.len(),
            Some(b'+' | b'-') => {
                i + 6 == b.len()
                    && digit(i + 1)
                    && digit(i + 2)
                    && at(i + 3, b':')
                    && digit(i + 4)
                    && digit(i + 5)
            }
            _ => false,
        }
    }

    const KEY_ORDER: &[&str] = &[
        "event",
        "distinct_id",
        "uuid",
        "team_id",
        "timestamp",
        "ip",
        "site_url",
        "now",
        "sent_at",
        "properties",
        "$set",
        "$set_once",
    ];

    fn contents(files: &[GeneratedFile]) -> Vec<(&str, &str)> {
        files
            .iter()
            .map(|f| (f.name, f.contents.as_str()))
            .collect()
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(rfc3339(YEAR_START_MS), "2024-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_709_648_551_123), "2024-03-05T14:22:31.123Z");
        assert_eq!(rfc3339(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(YEAR_END_MS - 1), "2024-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert!(is_rfc3339("2024-03-05T14:22:31+05:30") && !is_rfc3339("2024-03-05 14:22:31"));
    }

    #[test]
    fn ids_have_the_documented_shapes() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let id = uuid4(&mut rng);
            assert!(is_uuid4(&id), "{id}");
        }
        let v7 = uuid7(&mut rng, 1_709_648_551_123);
        assert!(v7.starts_with("018e0efe-9cd3-7"), "{v7}");
        assert!(matches!(&v7[19..20], "8" | "9" | "a" | "b"), "{v7}");
    }

    #[test]
    fn the_same_seed_gives_identical_files() {
        assert_eq!(contents(&generate(2026)), contents(&generate(2026)));
        assert_eq!(contents(&generate(5)), contents(&generate(5)));
    }

    #[test]
    fn a_different_seed_gives_different_files() {
        let (a, b) = (generate(2026), generate(2027));
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(a.name, b.name);
            assert_ne!(a.contents, b.contents, "{}", a.name);
        }
    }

    #[test]
    fn every_generated_line_is_a_well_formed_event() {
        let files = generate(2026);
        let mut uuids = BTreeSet::new();
        let mut distinct_ids = BTreeMap::<String, usize>::new();
        let mut total = 0;
        for file in &files {
            assert_ne!(file.name, EDGE_CASES);
            assert!(file.contents.ends_with('\n'), "{}", file.name);
            let lines: Vec<&str> = file.contents.lines().collect();
            assert_eq!(lines.len(), file.events, "{}", file.name);
            let spec = FILES
                .iter()
                .find(|s| s.name == file.name)
                .expect("a listed file");
            assert_eq!(lines.len(), spec.events, "{}", file.name);
            total += lines.len();
            for (i, line) in lines.iter().enumerate() {
                let at = format!("{}:{}", file.name, i + 1);
                let Ok(Value::Object(event)) = serde_json::from_str::<Value>(line) else {
                    panic!("{at}: not a JSON object");
                };
                assert_eq!(
                    serde_json::to_string(&event).unwrap(),
                    *line,
                    "{at}: not compact"
                );
                assert!(
                    event["event"].as_str().is_some_and(|e| !e.is_empty()),
                    "{at}: event"
                );
                let distinct_id = event["distinct_id"]
                    .as_str()
                    .expect("distinct_id is a string");
                assert!(!distinct_id.is_empty(), "{at}: distinct_id");
                *distinct_ids.entry(distinct_id.to_owned()).or_default() += 1;
                let uuid = event["uuid"].as_str().unwrap_or_default();
                assert!(is_uuid4(uuid), "{at}: uuid {uuid}");
                assert!(uuids.insert(uuid.to_owned()), "{at}: duplicate uuid {uuid}");
                assert!(
                    matches!(event["team_id"].as_u64(), Some(1 | 2 | 13)),
                    "{at}: team_id"
                );
                let timestamp = event["timestamp"].as_str().unwrap_or_default();
                assert!(
                    is_generated_timestamp(timestamp),
                    "{at}: timestamp {timestamp}"
                );
                for key in ["now", "sent_at"] {
                    if let Some(value) = event.get(key) {
                        let value = value.as_str().unwrap_or_default();
                        assert!(is_generated_timestamp(value), "{at}: {key} {value}");
                        assert!(value >= timestamp, "{at}: {key} before timestamp");
                    }
                }
                if let (Some(sent_at), Some(now)) = (event.get("sent_at"), event.get("now")) {
                    assert!(sent_at.as_str() <= now.as_str(), "{at}: sent_at after now");
                }
                if let Some(ip) = event.get("ip") {
                    assert!(ip.is_string() || ip.is_null(), "{at}: ip");
                }
                assert!(event["properties"].is_object(), "{at}: properties");
                let positions: Vec<usize> = event
                    .keys()
                    .map(|k| {
                        KEY_ORDER
                            .iter()
                            .position(|o| o == k)
                            .unwrap_or_else(|| panic!("{at}: key {k}"))
                    })
                    .collect();
                assert!(
                    positions.is_sorted(),
                    "{at}: key order {:?}",
                    event.keys().collect::<Vec<_>>()
                );
            }
        }
        assert!(total >= 1000, "{total} events");
        assert!(distinct_ids.values().any(|&n| n >= 30), "some users recur");
    }

    #[test]
    fn each_file_holds_what_it_is_named_for() {
        let files = generate(2026);
        let events = |name: &str| -> Vec<Value> {
            let file = files.iter().find(|f| f.name == name).expect("generated");
            file.contents
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let names = |name: &str| -> BTreeSet<String> {
            events(name)
                .iter()
                .map(|e| e["event"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            names("web-pageviews.jsonl"),
            ["$pageleave", "$pageview"].map(String::from).into()
        );
        assert_eq!(
            names("web-autocapture.jsonl"),
            ["$autocapture"].map(String::from).into()
        );
        assert_eq!(
            names("identify-and-alias.jsonl"),
            ["$create_alias", "$identify"].map(String::from).into()
        );
        assert!(names("groups.jsonl").contains("$groupidentify"));
        assert!(names("feature-flags.jsonl").contains("$feature_flag_called"));
        assert!(
            names("mobile.jsonl").is_superset(
                &["$screen", "Application Opened", "Application Backgrounded"]
                    .map(String::from)
                    .into()
            )
        );
        assert!(
            names("snapshots.jsonl")
                .is_superset(&["$snapshot", "$performance_event"].map(String::from).into())
        );
        let server = names("server-side.jsonl");
        for name in [
            "user signed up",
            "UserSignedUp",
            "order_completed",
            "checkout-started",
            "Invoice Paid",
        ] {
            assert!(server.contains(name), "{name}");
        }
        let autocapture = events("web-autocapture.jsonl");
        assert!(
            autocapture
                .iter()
                .any(|e| e["properties"]["$elements_chain"].is_string())
        );
        assert!(
            autocapture
                .iter()
                .any(|e| e["properties"]["$elements"].is_array())
        );
        let identify = events("identify-and-alias.jsonl");
        assert!(
            identify
                .iter()
                .any(|e| e["$set"]["email"].is_string() && e["$set_once"].is_object())
        );
        let browsers: BTreeSet<String> = events("web-pageviews.jsonl")
            .iter()
            .map(|e| e["properties"]["$browser"].as_str().unwrap().to_owned())
            .collect();
        assert!(browsers.len() >= 5, "{browsers:?}");
        let big_snapshot = events("snapshots.jsonl")
            .iter()
            .map(|e| {
                serde_json::to_string(&e["properties"]["$snapshot_data"])
                    .unwrap()
                    .len()
            })
            .max()
            .unwrap();
        assert!(
            big_snapshot > 2_000,
            "largest snapshot {big_snapshot} bytes"
        );
    }

    #[test]
    fn the_hand_written_edge_cases_are_valid_events() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../corpus")
            .join(EDGE_CASES);
        let text = std::fs::read_to_string(&path).expect("corpus/edge-cases.jsonl");
        let mut count = 0;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let at = format!("{EDGE_CASES}:{}", i + 1);
            let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(event["event"].is_string(), "{at}: event");
            assert!(
                event["distinct_id"].as_str().is_some_and(|d| !d.is_empty()),
                "{at}: distinct_id"
            );
            assert!(event["uuid"].is_string(), "{at}: uuid");
            assert!(
                event["team_id"].is_i64() || event["team_id"].is_u64(),
                "{at}: team_id"
            );
            assert!(
                event["timestamp"].as_str().is_some_and(is_rfc3339),
                "{at}: timestamp"
            );
            assert!(event["properties"].is_object(), "{at}: properties");
            count += 1;
        }
        assert!(count >= 30, "{count} edge cases");
    }
}
