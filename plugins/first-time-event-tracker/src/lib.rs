//! first-time-event-tracker: was this the first time it happened?
//!
//! Follows PostHog's first time event tracker plugin (PostHog/first-time-event-tracker, which
//! has no tests of its own; the conformance cases restate its `index.js`): for each event whose
//! name is listed in
//! `events` (comma-separated), the plugin sets two boolean properties, `is_first_event_ever`
//! (no event of that name was seen before, from anyone) and `is_first_event_for_user` (this
//! `distinct_id` never sent it before), and remembers both in storage. Other events pass
//! unchanged. A tracked event without properties gets them. Names match exactly (`Signed Up` is
//! not `signed up`). A blank `events` (upstream's default is `""`) tracks nothing; only an absent
//! key takes the default list below.
//!
//! Upstream's README calls the properties `is_event_first_ever` and `is_event_first_for_user`;
//! its code, followed here, writes `is_first_event_ever` and `is_first_event_for_user`.
//! Deliberately unlike upstream: the list's items are trimmed (upstream's `a, b` tracks ` b`),
//! and the storage keys below keep event names and users apart (upstream's `<event>` and
//! `<event>_<distinct_id>` let the event `a_b` and user `b`'s event `a` share a key).
//!
//! Storage keys are `first:<event>` and `first:<event>:<distinct_id>`. In the event name, `%` and
//! `:` are written `%25` and `%3A`, so that an event named `a:b` and user `b`'s event `a` cannot
//! share a key.

use posthog_plugin_sdk::{Config, Error, Event, Plugin, Transform, Value, storage};

pub const DEFAULT_EVENTS: &str = "$pageview,$identify,signed up";

/// The event name as it appears in storage keys: without `:`, so keys split unambiguously.
fn escape(event: &str) -> String {
    event.replace('%', "%25").replace(':', "%3A")
}

/// The key that records that `event` was seen from anyone.
pub fn event_key(event: &str) -> String {
    format!("first:{}", escape(event))
}

/// The key that records that `event` was seen from `distinct_id`.
pub fn user_key(event: &str, distinct_id: &str) -> String {
    format!("first:{}:{distinct_id}", escape(event))
}

/// Whether `key` was never recorded; records it. The value stored is `true`.
fn first_time(key: &str) -> Result<bool, Error> {
    let seen = storage::get::<Value>(key)?.is_some();
    if !seen {
        storage::set(key, &true)?;
    }
    Ok(!seen)
}

pub struct FirstTimeEventTracker {
    events: Vec<String>,
}

impl FirstTimeEventTracker {
    pub fn tracks(&self, event: &str) -> bool {
        self.events.iter().any(|tracked| tracked == event)
    }
}

impl Plugin for FirstTimeEventTracker {
    fn setup(config: &Config) -> Result<Self, Error> {
        let events = config
            .get_or("events", DEFAULT_EVENTS)
            .split(',')
            .map(str::trim)
            .filter(|event| !event.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(FirstTimeEventTracker { events })
    }
}

impl Transform for FirstTimeEventTracker {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        if self.tracks(&event.event) {
            let ever = first_time(&event_key(&event.event))?;
            let for_user = first_time(&user_key(&event.event, &event.distinct_id))?;
            event.set_property("is_first_event_ever", ever);
            event.set_property("is_first_event_for_user", for_user);
        }
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(FirstTimeEventTracker);

#[cfg(test)]
mod tests {
    use super::*;
    use posthog_plugin_sdk::testing;

    fn plugin(events: Option<&str>) -> FirstTimeEventTracker {
        testing::reset();
        let config: Config = events
            .map(|events| ("events", events))
            .into_iter()
            .collect();
        FirstTimeEventTracker::setup(&config).unwrap()
    }

    /// Runs one event through and returns (is_first_event_ever, is_first_event_for_user).
    #[track_caller]
    fn check(plugin: &mut FirstTimeEventTracker, event: &str, user: &str, expected: (bool, bool)) {
        let out = plugin
            .process_event(Event::new(event, user))
            .unwrap()
            .unwrap();
        let flag = |key| out.property(key).and_then(Value::as_bool);
        assert_eq!(
            (flag("is_first_event_ever"), flag("is_first_event_for_user")),
            (Some(expected.0), Some(expected.1)),
            "{event:?} from {user:?}"
        );
    }

    #[test]
    fn marks_first_events_ever_and_per_user() {
        let mut plugin = plugin(None);
        check(&mut plugin, "$pageview", "alice", (true, true));
        check(&mut plugin, "$pageview", "alice", (false, false));
        check(&mut plugin, "$pageview", "bob", (false, true));
        check(&mut plugin, "signed up", "bob", (true, true));
        check(&mut plugin, "$identify", "ünïcødé 🦀", (true, true));
        check(&mut plugin, "$identify", "ünïcødé 🦀", (false, false));
        assert_eq!(
            testing::storage_keys(),
            [
                "first:$identify",
                "first:$identify:ünïcødé 🦀",
                "first:$pageview",
                "first:$pageview:alice",
                "first:$pageview:bob",
                "first:signed up",
                "first:signed up:bob",
            ]
        );
    }

    #[test]
    fn other_events_pass_unchanged_and_store_nothing() {
        let mut plugin = plugin(None);
        for event in [
            Event::new("$autocapture", "alice"),
            Event::new("Signed Up", "alice"),
        ] {
            assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
        }
        assert!(testing::storage_keys().is_empty());
    }

    #[test]
    fn uses_the_configured_events_and_keeps_other_properties() {
        let mut plugin = plugin(Some(" purchase , refund,"));
        assert!(plugin.tracks("purchase") && plugin.tracks("refund"));
        assert!(!plugin.tracks("$pageview") && !plugin.tracks(""));

        let mut event = Event::new("purchase", "u1");
        event.set_property("amount", 3);
        event.set_property("is_first_event_ever", "stale");
        let out = plugin.process_event(event).unwrap().unwrap();
        assert_eq!(out.property("amount"), Some(&Value::from(3)));
        assert_eq!(
            out.property("is_first_event_ever"),
            Some(&Value::Bool(true))
        );
    }

    #[test]
    fn a_blank_list_tracks_nothing() {
        let mut plugin = plugin(Some(""));
        let event = Event::new("$pageview", "alice");
        assert_eq!(plugin.process_event(event.clone()).unwrap(), Some(event));
        assert!(testing::storage_keys().is_empty());
    }

    #[test]
    fn event_names_with_colons_do_not_collide_with_users() {
        let mut plugin = plugin(Some("a,a:b"));
        check(&mut plugin, "a", "b", (true, true));
        check(&mut plugin, "a:b", "c", (true, true));
        assert_eq!(event_key("a:b"), "first:a%3Ab");
        assert_eq!(user_key("100%:x", "u:1"), "first:100%25%3Ax:u:1");
    }

    #[test]
    fn storage_persists_across_instances() {
        let mut first = plugin(None);
        check(&mut first, "$pageview", "alice", (true, true));
        let mut second = FirstTimeEventTracker::setup(&Config::default()).unwrap();
        check(&mut second, "$pageview", "alice", (false, false));
    }
}
