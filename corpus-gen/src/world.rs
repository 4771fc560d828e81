//! The world all files share: teams, companies, the pool of users and their feature flags.

use std::collections::BTreeSet;

use rand::RngExt;
use rand::seq::IndexedRandom;
use serde_json::Value;

use crate::ids::{hex, uuid4, uuid7};
use crate::random::stream;
use crate::time::{DAY_MS, YEAR_END_MS, YEAR_START_MS};

pub(crate) struct Team {
    pub(crate) id: u32,
    pub(crate) token: &'static str,
    pub(crate) site_url: &'static str,
    pub(crate) hosts: &'static [&'static str],
    pub(crate) app_name: &'static str,
    pub(crate) app_namespace: &'static str,
}

pub(crate) const TEAMS: &[Team] = &[
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

pub(crate) fn team(id: u32) -> &'static Team {
    TEAMS.iter().find(|t| t.id == id).expect("a known team")
}

pub(crate) struct CompanySeed {
    pub(crate) name: &'static str,
    pub(crate) key: &'static str,
    pub(crate) domain: &'static str,
    pub(crate) industry: &'static str,
}

pub(crate) const COMPANIES: &[CompanySeed] = &[
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

pub(crate) const PEOPLE: &[(&str, &str)] = &[
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

pub(crate) const PLANS: &[&str] = &[
    "free",
    "starter",
    "pro",
    "enterprise",
    "Pro",
    "pay-as-you-go",
];

pub(crate) struct City {
    pub(crate) name: &'static str,
    pub(crate) country_code: &'static str,
    pub(crate) country: &'static str,
    pub(crate) latitude: f64,
    pub(crate) longitude: f64,
    pub(crate) time_zone: &'static str,
    pub(crate) zip: &'static str,
    pub(crate) locale: &'static str,
}

pub(crate) const CITIES: &[City] = &[
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
pub(crate) struct Flag {
    pub(crate) key: &'static str,
    pub(crate) variants: &'static [&'static str],
}

pub(crate) const FLAGS: &[Flag] = &[
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

pub(crate) struct Company {
    pub(crate) seed: &'static CompanySeed,
    pub(crate) team_id: u32,
    pub(crate) employees: u32,
    pub(crate) plan: &'static str,
    pub(crate) created_ms: i64,
    pub(crate) projects: Vec<(String, &'static str)>,
}

pub(crate) struct User {
    pub(crate) distinct_id: String,
    pub(crate) anon_id: String,
    pub(crate) identified: bool,
    pub(crate) email: String,
    pub(crate) name: &'static str,
    pub(crate) company: usize,
    pub(crate) team_id: u32,
    pub(crate) plan: &'static str,
    pub(crate) ip: String,
    pub(crate) city: &'static City,
    /// The value of each of [`FLAGS`] for this user: `false`, `true` or a variant.
    pub(crate) flags: Vec<Value>,
}

/// What all files share: the companies and the pool of users.
pub(crate) struct World {
    pub(crate) companies: Vec<Company>,
    pub(crate) users: Vec<User>,
}

pub(crate) const USERS: usize = 60;

pub(crate) const PROJECT_NAMES: &[&str] = &[
    "Marketing site",
    "Web app",
    "iOS app",
    "Data warehouse",
    "Staging",
    "Internal tools",
];

impl World {
    pub(crate) fn new(seed: u64) -> World {
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

    pub(crate) fn company(&self, user: &User) -> &Company {
        &self.companies[user.company]
    }
}

pub(crate) fn capitalise_email(email: &str) -> String {
    let mut out = String::with_capacity(email.len());
    let mut start = true;
    for c in email.chars() {
        out.push(if start { c.to_ascii_uppercase() } else { c });
        start = matches!(c, '.' | '@');
    }
    out
}

pub(crate) fn active_flags(user: &User) -> Value {
    FLAGS
        .iter()
        .zip(&user.flags)
        .filter(|(_, value)| **value != Value::Bool(false))
        .map(|(flag, _)| Value::from(flag.key))
        .collect()
}
