//! The web, shared by the scenarios posthog-js sends: browsers, pages, visits and the
//! properties posthog-js puts on every event.

use serde_json::{Map, Value, json};

use crate::random::{Gen, object};
use crate::time::{DAY_MS, YEAR_START_MS};
use crate::world::{User, team};

pub(crate) struct Browser {
    pub(crate) name: &'static str,
    pub(crate) os: &'static str,
    pub(crate) device_type: &'static str,
    pub(crate) weight: u32,
}

pub(crate) const BROWSERS: &[Browser] = &[
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

pub(crate) const WEB_LIB_VERSIONS: &[&str] = &[
    "1.96.1", "1.105.4", "1.116.6", "1.130.2", "1.139.3", "1.155.0",
];

/// One browser on one device, as posthog-js describes it.
pub(crate) struct WebClient {
    pub(crate) browser: &'static str,
    pub(crate) browser_version: Value,
    pub(crate) os: &'static str,
    pub(crate) os_version: &'static str,
    pub(crate) device_type: &'static str,
    pub(crate) screen: (u32, u32),
    pub(crate) viewport: (u32, u32),
    pub(crate) language: &'static str,
    pub(crate) lib_version: &'static str,
    pub(crate) device_id: String,
}

/// One visit: a session in one window of one client.
pub(crate) struct Visit<'w> {
    pub(crate) user: &'w User,
    pub(crate) client: WebClient,
    pub(crate) session_id: String,
    pub(crate) window_id: String,
}

/// A URL, with the parts posthog-js reports of it.
pub(crate) struct Page {
    pub(crate) url: String,
    pub(crate) host: &'static str,
    pub(crate) path: &'static str,
}

pub(crate) const PATHS: &[&str] = &[
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

pub(crate) const QUERIES: &[&str] = &[
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

pub(crate) const FRAGMENTS: &[&str] = &[
    "#pricing",
    "#/dashboard",
    "#section-2",
    "#",
    "#Top",
    "#:~:text=hedgehog",
];

pub(crate) const REFERRERS: &[&str] = &[
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://t.co/",
    "https://www.reddit.com/r/programming/",
    "https://L.Facebook.com/",
    "android-app://com.google.android.gm/",
];

pub(crate) fn referring_domain(referrer: &str) -> String {
    match referrer.split_once("://") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest).to_owned(),
        None => "$direct".to_owned(),
    }
}

impl<'w> Gen<'w> {
    pub(crate) fn web_client(&mut self) -> WebClient {
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

    pub(crate) fn visit(&mut self, start: i64) -> Visit<'w> {
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

    pub(crate) fn page(&mut self, team_id: u32) -> Page {
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
    pub(crate) fn web_props(
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

    pub(crate) fn first_referrer(&mut self) -> String {
        if self.chance(0.35) {
            "$direct".into()
        } else {
            self.pick(REFERRERS).into()
        }
    }
}
