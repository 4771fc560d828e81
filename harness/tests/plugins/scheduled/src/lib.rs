//! Test fixture: a transform that passes events on, with all three scheduled tasks.
//!
//! In `taskMode` `pass` (the default) each task counts its runs in storage (`runs:<task>`),
//! caches the time of the last run (`last-run`) and, every hour, captures `task ran`. The other
//! modes make every task misbehave: `error`, `panic`, `loop`, and `time-bomb`, which passes
//! until the clock reads 2030 and from then on captures `armed` at each run.

use posthog_plugin_sdk::{
    Config, Error, Event, Plugin, Scheduled, Transform, cache, capture, json, storage,
};

pub struct ScheduledFixture {
    mode: String,
}

impl Plugin for ScheduledFixture {
    fn setup(config: &Config) -> Result<Self, Error> {
        Ok(ScheduledFixture {
            mode: config.get_or("taskMode", "pass").to_owned(),
        })
    }
}

impl Transform for ScheduledFixture {
    fn process_event(&mut self, event: Event) -> Result<Option<Event>, Error> {
        Ok(Some(event))
    }
}

impl ScheduledFixture {
    fn task(&mut self, name: &str) -> Result<(), Error> {
        match self.mode.as_str() {
            "error" => return Err(Error::msg(format!("{name} refused: taskMode is error"))),
            "panic" => panic!("{name} cannot go on"),
            "loop" => {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            _ => {}
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.mode == "time-bomb" && now >= 1_893_456_000 {
            capture::capture("armed", json!({"task": name}))?;
        }
        let key = format!("runs:{name}");
        let runs: u64 = storage::get(&key)?.unwrap_or(0) + 1;
        storage::set(&key, &runs)?;
        cache::set("last-run", &now, None)?;
        if name == "hour" {
            capture::capture("task ran", json!({"task": name, "runs": runs}))?;
        }
        Ok(())
    }
}

impl Scheduled for ScheduledFixture {
    fn run_every_minute(&mut self) -> Result<(), Error> {
        self.task("minute")
    }
    fn run_every_hour(&mut self) -> Result<(), Error> {
        self.task("hour")
    }
    fn run_every_day(&mut self) -> Result<(), Error> {
        self.task("day")
    }
}

posthog_plugin_sdk::transform!(ScheduledFixture);
posthog_plugin_sdk::scheduled!(
    ScheduledFixture,
    run_every_minute,
    run_every_hour,
    run_every_day
);
