//! Test fixture: a plugin that breaks one rule of the pipeline on demand.
//!
//! `mode` chooses the misbehaviour, `trigger` the event name it applies to (empty: every
//! event). On other events the plugin passes the event on and marks it with `seen_by`. The
//! harness's tests configure one instance per rule they check.

use posthog_plugin_sdk::{
    Config, Error, Event, Export, Plugin, Transform, Value, capture, log, storage,
};

pub struct Misbehaving {
    api_key: String,
    mode: String,
    label: String,
    trigger: String,
    events_seen: u64,
    hoard: Vec<Vec<u8>>,
    flood_count: u32,
}

impl Plugin for Misbehaving {
    fn setup(config: &Config) -> Result<Self, Error> {
        if config.flag("failSetup", false) {
            return Err(Error::msg("setup refused: failSetup is true"));
        }
        Ok(Misbehaving {
            api_key: config.get_or("apiKey", "").to_owned(),
            mode: config.get_or("mode", "pass").to_owned(),
            label: config.get_or("label", "misbehaving").to_owned(),
            trigger: config.get_or("trigger", "").to_owned(),
            events_seen: 0,
            hoard: Vec::new(),
            flood_count: config.parse_or("floodCount", 50)?,
        })
    }
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 32]);
    recurse(frame[1] + 1) + frame[7]
}

impl Misbehaving {
    fn triggered(&self, event: &Event) -> bool {
        self.trigger.is_empty() || event.event == self.trigger
    }
}

/// What `process-event` returns, before the SDK serialises it. Modes that return raw text
/// cannot go through the typed API; they are handled in [`raw_output`].
impl Transform for Misbehaving {
    fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
        self.events_seen += 1;
        if self.mode == "count" {
            // Counts every event in storage; panics (after counting) on events named "boom".
            let count: u64 = storage::get("count")?.unwrap_or(0) + 1;
            storage::set("count", &count)?;
            if event.event == "boom" {
                panic!("boom after counting {count}");
            }
            event.set_property("count", count);
            return Ok(Some(event));
        }
        if !self.triggered(&event) {
            event.set_property("seen_by", "misbehaving");
            return Ok(Some(event));
        }
        match self.mode.as_str() {
            "pass" => {
                event.set_property("seen_by", "misbehaving");
                Ok(Some(event))
            }
            "drop" => Ok(None),
            "expensive" => {
                // About 10 million loop iterations: far over a 20M-fuel budget.
                let mut sum = 0u64;
                for i in 0..10_000_000u64 {
                    sum = std::hint::black_box(sum.wrapping_add(i));
                }
                event.set_property("sum", sum);
                Ok(Some(event))
            }
            "quadratic" => {
                // Compares every property key with every other: fuel grows with the square
                // of the event's size.
                let keys: Vec<String> = event
                    .properties
                    .as_ref()
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default();
                let mut similar = 0u64;
                for a in &keys {
                    for b in &keys {
                        if std::hint::black_box(a.len() == b.len()) {
                            similar += 1;
                        }
                    }
                }
                event.set_property("similar_keys", similar);
                Ok(Some(event))
            }
            "leak" => {
                // Keeps 16 KiB per event for the life of the instance.
                self.hoard.push(vec![7u8; 16 << 10]);
                Ok(Some(event))
            }
            "fast-leak" => {
                // Keeps 256 KiB per event: with 200 events and 64 MiB it reaches the memory
                // limit during the second (soak) pass over the corpus.
                self.hoard.push(vec![7u8; 256 << 10]);
                Ok(Some(event))
            }
            "leak-secret" => {
                log::warn(&format!("calling with key {}", self.api_key));
                Err(Error::msg(format!(
                    "request with key {} failed",
                    self.api_key
                )))
            }
            "append" => {
                let trail = event
                    .properties_mut()
                    .entry("trail")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = trail {
                    items.push(Value::from(self.label.clone()));
                }
                Ok(Some(event))
            }
            "error" => Err(Error::msg(format!("refusing event {}", event.event))),
            "panic" => panic!("planted panic on {}", event.event),
            "team-id" => {
                event.team_id = Some(event.team_id.unwrap_or(0) + 1000);
                event.set_property("changed_team", true);
                Ok(Some(event))
            }
            "drop-uuid" => {
                event.uuid = None;
                Ok(Some(event))
            }
            // Bugs that only some inputs show, for the property stage to find and shrink.
            "panic-on-char" => {
                if let Some(properties) = &event.properties
                    && properties.values().any(|value| contains_char(value, '§'))
                {
                    panic!("planted panic: a property value contains §");
                }
                Ok(Some(event))
            }
            "drop-uuid-when-many" => {
                if event.properties.as_ref().is_some_and(|p| p.len() > 8) {
                    event.uuid = None;
                }
                Ok(Some(event))
            }
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                    if n == u64::MAX {
                        break;
                    }
                }
                Ok(Some(event))
            }
            "grow-memory" => loop {
                let mut block = Vec::<u8>::with_capacity(16 << 20);
                block.push(1);
                self.hoard.push(block);
            },
            "recurse" => {
                let depth = recurse(std::hint::black_box(0));
                event.set_property("depth", depth);
                Ok(Some(event))
            }
            "huge-output" => {
                event.set_property("blob", "x".repeat(2 << 20));
                Ok(Some(event))
            }
            "log-flood" => {
                for i in 0..100_000 {
                    log::info(&format!("line {i} of a flood"));
                }
                Ok(Some(event))
            }
            "storage-flood" => {
                for i in 0..1_000_000 {
                    storage::set("key", &i)?;
                }
                Ok(Some(event))
            }
            "flood" => {
                // Turns one event into `floodCount` captured events (an event flood).
                if event.event != "misbehaving flood" {
                    for _ in 0..self.flood_count {
                        capture::capture(
                            "misbehaving flood",
                            Value::from(serde_json_object(&event)),
                        )?;
                    }
                }
                Ok(Some(event))
            }
            "capture" => {
                capture::capture(
                    "misbehaving captured",
                    Value::from(serde_json_object(&event)),
                )?;
                Ok(Some(event))
            }
            "busy-wait" => {
                // Waits "until 50 ms have passed": instant under a logical clock that moves 1 ms
                // per reading, 50 real milliseconds under a real one.
                let start = std::time::Instant::now();
                while start.elapsed() < std::time::Duration::from_millis(50) {
                    std::hint::spin_loop();
                }
                Ok(Some(event))
            }
            "expires" => {
                // Works until 2030, then fails on every event: a date-dependent plugin.
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                if now > 1_893_456_000 {
                    return Err(Error::msg("this plugin's licence expired"));
                }
                Ok(Some(event))
            }
            "clock" => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
                event.set_property("now_nanos", now);
                Ok(Some(event))
            }
            "attachment" => {
                // The file the `table` config field names: its size, type and first line.
                match posthog_plugin_sdk::attachments::get("table") {
                    Some(table) => {
                        let text = table.text();
                        event.set_property("attachment_name", table.file_name);
                        event.set_property("attachment_type", table.content_type);
                        event.set_property("attachment_len", table.contents.len());
                        event.set_property(
                            "attachment_first_line",
                            text.lines().next().unwrap_or_default().to_owned(),
                        );
                    }
                    None => event.set_property("attachment_name", Value::Null),
                }
                Ok(Some(event))
            }
            "stateful-counter" => {
                event.set_property("events_seen", self.events_seen);
                Ok(Some(event))
            }
            other => Err(Error::msg(format!("unknown mode {other}"))),
        }
    }
}

/// Whether a string anywhere in `value` contains `c`.
fn contains_char(value: &Value, c: char) -> bool {
    match value {
        Value::String(text) => text.contains(c),
        Value::Array(items) => items.iter().any(|item| contains_char(item, c)),
        Value::Object(map) => map.values().any(|item| contains_char(item, c)),
        _ => false,
    }
}

fn serde_json_object(event: &Event) -> posthog_plugin_sdk::Map<String, Value> {
    let mut properties = posthog_plugin_sdk::Map::new();
    properties.insert("source_event".into(), Value::from(event.event.clone()));
    properties
}

impl Export for Misbehaving {
    fn on_event(&mut self, event: &Event) -> Result<(), Error> {
        if self.mode == "on-event-error" && self.triggered(event) {
            return Err(Error::msg("export failed"));
        }
        log::debug(&format!("exported {}", event.event));
        Ok(())
    }
}

posthog_plugin_sdk::transform_and_export!(Misbehaving);
