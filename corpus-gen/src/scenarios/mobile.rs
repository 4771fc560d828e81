//! `mobile.jsonl`: iOS, Android, React Native and Flutter app sessions.

use serde_json::{Map, Value, json};

use crate::random::{Gen, extend, object};
use crate::world::{User, team};

pub(crate) struct Device {
    pub(crate) os: &'static str,
    pub(crate) manufacturer: &'static str,
    pub(crate) model: &'static str,
    pub(crate) name: &'static str,
    pub(crate) device_type: &'static str,
    pub(crate) screen: (u32, u32),
}

pub(crate) const DEVICES: &[Device] = &[
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

pub(crate) const SCREENS: &[&str] = &[
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
pub(crate) struct AppSession<'w> {
    pub(crate) user: &'w User,
    pub(crate) device: &'static Device,
    pub(crate) lib: &'static str,
    pub(crate) lib_version: &'static str,
    pub(crate) app_version: String,
    pub(crate) app_build: Value,
    pub(crate) os_version: &'static str,
    pub(crate) session_id: String,
    pub(crate) wifi: bool,
    pub(crate) emulator: bool,
}

impl<'w> Gen<'w> {
    pub(crate) fn app_session(&mut self, start: i64) -> AppSession<'w> {
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

    pub(crate) fn mobile_props(&mut self, s: &AppSession<'_>) -> Map<String, Value> {
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

pub(crate) fn generate(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
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

pub(crate) fn app_scheme(team_id: u32) -> &'static str {
    match team_id {
        1 => "hogflix",
        2 => "acmeshop",
        _ => "nordlys",
    }
}
