//! The seeded generator of the event corpus under `corpus/`: what `cargo xtask corpus generate [--seed N]`
//! runs (the xtask is a thin wrapper around [`write()`]).
//!
//! The corpus is what `verify` runs every plugin over: realistic PostHog events as they reach
//! the plugin server (after capture), one compact JSON object per line. Most of it is
//! generated here, from a seed, so that it can be regrown at will and reviewed as a diff; one
//! file, `corpus/edge-cases.jsonl` ([`EDGE_CASES`]), is written by hand and is never touched by
//! the generator.
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
//! The table is [`FILES`], in generation order: 1,000 events in all (a test compares the two).
//! Each file is made by the module of [`scenarios`] named after it (`web-pageviews.jsonl` by
//! [`scenarios::web_pageviews`], and so on); what they share is in `time` (the year and RFC 3339
//! timestamps), `ids` (UUIDs, hex), `random` (each file's random stream and the event
//! envelope), `world` (teams, companies, users, feature flags), `web` (posthog-js clients, pages,
//! visits), `server_libs` (the server SDKs) and `writer` (JSONL rendering and writing).
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
//! The default seed is 2026 ([`DEFAULT_SEED`]). The user pool is drawn from the seed alone, and
//! each file from its own random stream, seeded by the seed mixed with the file's name: so a
//! file's events depend only on the seed, the pool and that file's generator, and growing or
//! adding one file leaves the others byte for byte as they were. Only ordered collections are
//! iterated and objects are built with their keys in a fixed order (serde_json's
//! `preserve_order`), so the same seed gives byte-identical files. (The bytes do depend on `rand`'s `StdRng` and `random_range`
//! algorithms, which `rand` only keeps stable within a major version: a `rand` upgrade may
//! regenerate a different, equally valid, corpus.)
//!
//! # Regenerating and growing
//!
//! `cargo xtask corpus generate` ([`write()`] into `corpus/`) rewrites the generated files (and only
//! those: other files there, like `edge-cases.jsonl`, stay as they are); `--seed N` draws a
//! different corpus. To grow the corpus, raise a file's count in [`FILES`] and in the table
//! above; to exercise something new, add a module to [`scenarios`] and a row to [`FILES`] and
//! the table, then rerun the command and commit the files. The tests check that the output is
//! reproducible, that every line is a well-formed event, that the hand-written edge cases still
//! parse, and (`tests/committed_corpus.rs`) that the default seed regenerates the committed
//! `corpus/` files byte for byte.

mod ids;
mod random;
pub mod scenarios;
mod server_libs;
mod time;
mod web;
mod world;
mod writer;

#[cfg(test)]
mod tests;

pub use writer::write;

use serde_json::{Map, Value};

use random::Gen;
use world::World;

/// The seed `cargo xtask corpus generate` uses unless given `--seed`: the committed corpus is this seed's.
pub const DEFAULT_SEED: u64 = 2026;

/// The hand-written file of edge cases in `corpus/`, which the generator never writes.
pub const EDGE_CASES: &str = "edge-cases.jsonl";

/// One generated file: its name, how many events it holds and the scenario that makes them.
pub struct FileSpec {
    /// The file's name in `corpus/`.
    pub name: &'static str,
    /// How many events (lines) it holds.
    pub events: usize,
    generate: fn(&mut Gen<'_>, usize) -> Vec<Map<String, Value>>,
}

/// The generated files, in the order they are generated and written.
pub const FILES: &[FileSpec] = &[
    file(
        "web-pageviews.jsonl",
        250,
        scenarios::web_pageviews::generate,
    ),
    file(
        "web-autocapture.jsonl",
        120,
        scenarios::web_autocapture::generate,
    ),
    file(
        "identify-and-alias.jsonl",
        100,
        scenarios::identify_and_alias::generate,
    ),
    file("groups.jsonl", 80, scenarios::groups::generate),
    file(
        "feature-flags.jsonl",
        100,
        scenarios::feature_flags::generate,
    ),
    file("mobile.jsonl", 120, scenarios::mobile::generate),
    file("server-side.jsonl", 150, scenarios::server_side::generate),
    file("snapshots.jsonl", 80, scenarios::snapshots::generate),
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

/// A generated file, rendered: JSONL, one compact event per line, each line ending in `\n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// The file's name in `corpus/` (one of [`FILES`]).
    pub name: &'static str,
    /// How many events (lines) it holds.
    pub events: usize,
    /// The file's bytes.
    pub contents: String,
}

/// Generates every file of [`FILES`] from `seed`, in memory, in [`FILES`] order.
pub fn generate(seed: u64) -> Vec<GeneratedFile> {
    let world = World::new(seed);
    FILES
        .iter()
        .map(|spec| {
            let mut generator = Gen::new(seed, spec.name, &world);
            let events = (spec.generate)(&mut generator, spec.events);
            debug_assert_eq!(events.len(), spec.events, "{}", spec.name);
            GeneratedFile {
                name: spec.name,
                events: events.len(),
                contents: writer::jsonl(&events),
            }
        })
        .collect()
}
