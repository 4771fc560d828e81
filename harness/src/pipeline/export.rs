//! Batched export, as PostHog's plugin server did it for `exportEvents`
//! (`PostHog/posthog:plugin-server/src/worker/vm/upgrades/export-events.ts` and
//! `utils/export-events-buffer.ts`):
//!
//! - every final event a batch exporter sees (not `$snapshot`, `$performance_event`, nor an
//!   event named in the `exportEventsToIgnore` config, comma-separated) goes into its buffer,
//!   weighed by the length of its JSON text;
//! - the buffer is flushed as one batch when an event would take it over
//!   `exportEventsBufferBytes` (default 1 MiB, clamped to 1 byte..100 MiB; an event that alone
//!   goes over is a batch of its own), when `exportEventsBufferSeconds` (default 10, clamped to
//!   1..600) have passed since its first event, and when the pipeline finishes (PostHog's
//!   teardown flush);
//! - a batch the plugin answers with `retry` (PostHog's `RetryError`) is tried again after
//!   `2^(n+1) * 3` seconds (6, 12, 24), at most [`MAXIMUM_RETRIES`] times, then given up; one
//!   it answers with `failed`, or a call that traps or hits a limit, is given up at once.
//!   When the pipeline finishes, retries still waiting run at once, in order, so a run over a
//!   file accounts for every batch.
//!
//! Every event handed to an exporter ends exported exactly once or given up, and
//! [`ExportCounts::adds_up`] says so (a property test drives the queue through random sizes,
//! clocks and answers). A retried batch goes out after later ones: order across batches is not
//! kept, as in PostHog.

use serde::Serialize;

/// Retries of one batch before it is given up (current plugin-server; older versions had 15).
pub const MAXIMUM_RETRIES: u32 = 3;

/// How a batch exporter's buffer flushes, from its config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportSettings {
    pub buffer_bytes: u64,
    pub buffer_seconds: u64,
    pub ignore: Vec<String>,
}

const BUFFER_BYTES: (u64, u64, u64) = (1024 * 1024, 1, 100 * 1024 * 1024);
const BUFFER_SECONDS: (u64, u64, u64) = (10, 1, 600);

impl ExportSettings {
    /// The settings in a plugin's config values, as PostHog's `stringClamp` reads them.
    pub fn from_config(config: &[(String, String)]) -> ExportSettings {
        let value = |key: &str| {
            config
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        ExportSettings {
            buffer_bytes: string_clamp(value("exportEventsBufferBytes"), BUFFER_BYTES),
            buffer_seconds: string_clamp(value("exportEventsBufferSeconds"), BUFFER_SECONDS),
            ignore: value("exportEventsToIgnore")
                .map(|list| {
                    list.split(',')
                        .map(|name| name.trim().to_owned())
                        .filter(|name| !name.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// PostHog's `stringClamp`: `parseInt` of the text (its leading integer), the default when
/// there is none, clamped to `min..=max`.
fn string_clamp(text: Option<&str>, (default, min, max): (u64, u64, u64)) -> u64 {
    let Some(text) = text else {
        return default;
    };
    let text = text.trim_start();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return default;
    }
    if negative {
        return min;
    }
    digits[..end]
        .parse::<u64>()
        .unwrap_or(u64::MAX)
        .clamp(min, max)
}

/// A batch on its way to the plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub id: u64,
    /// The events' JSON texts, in the order they were handed over.
    pub events: Vec<String>,
    pub retries_so_far: u32,
}

impl Batch {
    /// The batch as the plugin receives it: a JSON array of the events.
    pub fn json(&self) -> String {
        let mut text =
            String::with_capacity(self.events.iter().map(|e| e.len() + 1).sum::<usize>() + 2);
        text.push('[');
        for (index, event) in self.events.iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            text.push_str(event);
        }
        text.push(']');
        text
    }
}

/// What the plugin did with a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Exported,
    /// `retry`: try again later.
    Retry,
    /// `failed`, a trap or a limit: give it up.
    GiveUp,
}

/// What became of a batch after an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    Exported,
    /// Waiting for retry number `retry`, due at `due` (plugin clock seconds).
    WillRetry {
        retry: u32,
        due: u64,
    },
    /// Given up; `exhausted` when it was after the last retry.
    GivenUp {
        exhausted: bool,
    },
}

/// A batch exporter's counts over a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExportCounts {
    /// Events handed to the exporter's buffer.
    pub handed: u64,
    /// Events not handed over because `exportEventsToIgnore` names them.
    pub ignored: u64,
    /// Calls of `export-events`, retries included.
    pub calls: u64,
    pub batches_exported: u64,
    pub events_exported: u64,
    pub retries: u64,
    pub batches_given_up: u64,
    pub events_given_up: u64,
    /// Why batches were given up: the first few, with their rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub given_up_because: Vec<GivenUp>,
}

/// A batch given up, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GivenUp {
    /// `run/export-failed` or `run/export-retries-exhausted`, or the failure's rule.
    pub rule: &'static str,
    pub message: String,
}

/// Messages kept per exporter.
const MESSAGES_KEPT: usize = 5;

impl ExportCounts {
    /// Every event handed over was exported or given up, none twice, with `in_flight` still
    /// buffered or waiting for a retry.
    pub fn adds_up(&self, in_flight: u64) -> bool {
        self.handed == self.events_exported + self.events_given_up + in_flight
    }

    pub fn note_given_up(&mut self, rule: &'static str, message: String) {
        if self.given_up_because.len() < MESSAGES_KEPT {
            self.given_up_because.push(GivenUp { rule, message });
        }
    }
}

/// One exporter's buffer and the batches waiting for a retry.
#[derive(Debug)]
pub struct ExportQueue {
    pub settings: ExportSettings,
    buffer: Vec<String>,
    points: u64,
    opened_at: Option<u64>,
    /// Batches waiting for a retry, with the time each is due.
    waiting: Vec<(u64, Batch)>,
    next_id: u64,
    pub counts: ExportCounts,
}

impl ExportQueue {
    pub fn new(settings: ExportSettings) -> ExportQueue {
        ExportQueue {
            settings,
            buffer: Vec::new(),
            points: 0,
            opened_at: None,
            waiting: Vec::new(),
            next_id: 1,
            counts: ExportCounts::default(),
        }
    }

    /// Events buffered or waiting for a retry.
    pub fn in_flight(&self) -> u64 {
        (self.buffer.len()
            + self
                .waiting
                .iter()
                .map(|(_, b)| b.events.len())
                .sum::<usize>()) as u64
    }

    /// Hands over a final event named `name` (its JSON text) at `now`; returns the batches to
    /// send now.
    pub fn add(&mut self, name: &str, text: String, now: u64) -> Vec<Batch> {
        if self.settings.ignore.iter().any(|ignored| ignored == name) {
            self.counts.ignored += 1;
            return Vec::new();
        }
        self.counts.handed += 1;
        // JavaScript's `JSON.stringify(event).length`: UTF-16 code units.
        let points = text.encode_utf16().count() as u64;
        let mut ready = Vec::new();
        if self.points > 0 && self.points + points > self.settings.buffer_bytes {
            ready.extend(self.flush());
        }
        self.points += points;
        self.buffer.push(text);
        if self.points > self.settings.buffer_bytes {
            ready.extend(self.flush());
        } else if self.opened_at.is_none() {
            self.opened_at = Some(now);
        }
        ready
    }

    /// The batches due at `now`: the buffer when its time is up, and retries whose time came.
    pub fn due(&mut self, now: u64) -> Vec<Batch> {
        let mut ready = Vec::new();
        if self
            .opened_at
            .is_some_and(|opened| now >= opened.saturating_add(self.settings.buffer_seconds))
        {
            ready.extend(self.flush());
        }
        let mut index = 0;
        while index < self.waiting.len() {
            if self.waiting[index].0 <= now {
                ready.push(self.waiting.remove(index).1);
            } else {
                index += 1;
            }
        }
        ready
    }

    /// At the end: the buffer, then each waiting retry, whatever its time; `None` when nothing
    /// is left.
    pub fn drain(&mut self) -> Option<Batch> {
        if let Some(batch) = self.flush() {
            return Some(batch);
        }
        (!self.waiting.is_empty()).then(|| self.waiting.remove(0).1)
    }

    /// Records the plugin's answer to `batch` at `now`.
    pub fn settle(&mut self, mut batch: Batch, answer: Answer, now: u64) -> Settled {
        self.counts.calls += 1;
        let events = batch.events.len() as u64;
        match answer {
            Answer::Exported => {
                self.counts.batches_exported += 1;
                self.counts.events_exported += events;
                Settled::Exported
            }
            Answer::Retry if batch.retries_so_far < MAXIMUM_RETRIES => {
                let due = now.saturating_add(3 << (batch.retries_so_far + 1));
                batch.retries_so_far += 1;
                self.counts.retries += 1;
                let retry = batch.retries_so_far;
                self.waiting.push((due, batch));
                Settled::WillRetry { retry, due }
            }
            Answer::Retry | Answer::GiveUp => {
                self.counts.batches_given_up += 1;
                self.counts.events_given_up += events;
                Settled::GivenUp {
                    exhausted: answer == Answer::Retry,
                }
            }
        }
    }

    fn flush(&mut self) -> Option<Batch> {
        self.opened_at = None;
        self.points = 0;
        if self.buffer.is_empty() {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        Some(Batch {
            id,
            events: std::mem::take(&mut self.buffer),
            retries_so_far: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn settings_are_read_as_posthogs_string_clamp_reads_them() {
        let config = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let defaults = ExportSettings::from_config(&[]);
        assert_eq!(
            (defaults.buffer_bytes, defaults.buffer_seconds),
            (1 << 20, 10)
        );
        let set = ExportSettings::from_config(&config(&[
            ("exportEventsBufferBytes", "2048kb"),
            ("exportEventsBufferSeconds", "9999"),
            ("exportEventsToIgnore", " $pageview, ,$autocapture "),
        ]));
        assert_eq!(set.buffer_bytes, 2048);
        assert_eq!(set.buffer_seconds, 600);
        assert_eq!(set.ignore, vec!["$pageview", "$autocapture"]);
        let odd = ExportSettings::from_config(&config(&[
            ("exportEventsBufferBytes", "abc"),
            ("exportEventsBufferSeconds", "-5"),
        ]));
        assert_eq!((odd.buffer_bytes, odd.buffer_seconds), (1 << 20, 1));
    }

    fn queue(bytes: u64, seconds: u64) -> ExportQueue {
        ExportQueue::new(ExportSettings {
            buffer_bytes: bytes,
            buffer_seconds: seconds,
            ignore: vec!["ignored".into()],
        })
    }

    #[test]
    fn the_buffer_flushes_by_size_by_time_and_at_the_end() {
        let mut q = queue(10, 10);
        assert!(q.add("e", "aaaa".into(), 0).is_empty());
        assert!(q.add("e", "bbbb".into(), 1).is_empty());
        // 8 + 4 > 10: the buffer goes first, the new event starts the next one.
        let ready = q.add("e", "cccc".into(), 2);
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].json(), "[aaaa,bbbb]");
        // Alone over the limit: a batch of its own, at once.
        let ready = q.add("e", "x".repeat(11), 3);
        assert_eq!(
            ready.iter().map(|b| b.events.len()).collect::<Vec<_>>(),
            vec![1, 1]
        );
        assert!(q.add("e", "dd".into(), 4).is_empty());
        assert!(q.due(13).is_empty());
        assert_eq!(q.due(14).len(), 1, "10 s after its first event");
        assert!(q.add("ignored", "zz".into(), 15).is_empty());
        assert_eq!(q.counts.ignored, 1);
        assert!(q.add("e", "ee".into(), 15).is_empty());
        assert_eq!(q.drain().unwrap().events, vec!["ee"]);
        assert_eq!(q.drain(), None);
    }

    #[test]
    fn retries_back_off_and_are_bounded() {
        let mut q = queue(1 << 20, 10);
        q.add("e", "a".into(), 0);
        let batch = q.drain().unwrap();
        assert_eq!(
            q.settle(batch, Answer::Retry, 100),
            Settled::WillRetry { retry: 1, due: 106 }
        );
        assert!(q.due(105).is_empty());
        let batch = q.due(106).pop().unwrap();
        assert_eq!(
            q.settle(batch, Answer::Retry, 106),
            Settled::WillRetry { retry: 2, due: 118 }
        );
        let batch = q.drain().unwrap();
        assert_eq!(
            q.settle(batch, Answer::Retry, 118),
            Settled::WillRetry { retry: 3, due: 142 }
        );
        let batch = q.drain().unwrap();
        assert_eq!(
            q.settle(batch, Answer::Retry, 142),
            Settled::GivenUp { exhausted: true }
        );
        assert_eq!(q.counts.retries, MAXIMUM_RETRIES as u64);
        assert_eq!(q.counts.calls, 4);
        assert!(q.counts.adds_up(q.in_flight()));
    }

    proptest! {
        /// No event is exported twice or lost: whatever the sizes, the clock and the answers,
        /// each event handed over ends in exactly one exported batch or is given up.
        #[test]
        fn every_event_is_exported_once_or_given_up(
            ops in proptest::collection::vec((1usize..40, 0u64..8, 0u8..3), 1..120),
            bytes in 1u64..200,
            seconds in 1u64..20,
        ) {
            let mut q = queue(bytes, seconds);
            let mut now = 0;
            let mut exported: Vec<u64> = Vec::new();
            let mut given_up: Vec<u64> = Vec::new();
            let answer = |code: u8| match code {
                0 => Answer::Exported,
                1 => Answer::Retry,
                _ => Answer::GiveUp,
            };
            let mut send = |q: &mut ExportQueue, batch: Batch, code: u8, now: u64| {
                let ids: Vec<u64> = batch
                    .events
                    .iter()
                    .map(|e| e.trim_start_matches('x').parse().unwrap())
                    .collect();
                match q.settle(batch, answer(code), now) {
                    Settled::Exported => exported.extend(ids),
                    Settled::GivenUp { .. } => given_up.extend(ids),
                    Settled::WillRetry { .. } => {}
                }
            };
            for (id, (size, advance, code)) in ops.iter().enumerate() {
                now += advance;
                let text = format!("{}{id}", "x".repeat(*size));
                for batch in q.add("e", text, now) {
                    send(&mut q, batch, *code, now);
                }
                for batch in q.due(now) {
                    send(&mut q, batch, *code, now);
                }
                prop_assert!(q.counts.adds_up(q.in_flight()));
            }
            let mut round = 0u8;
            while let Some(batch) = q.drain() {
                round = round.wrapping_add(1);
                send(&mut q, batch, round % 3, now);
            }
            let mut all: Vec<u64> = exported.iter().chain(&given_up).copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..ops.len() as u64).collect::<Vec<_>>());
            prop_assert!(q.counts.adds_up(0));
            prop_assert_eq!(q.counts.events_exported, exported.len() as u64);
        }
    }
}
