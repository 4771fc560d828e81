//! The limits of the plugin contract that do not depend on a plugin's manifest: one set of
//! numbers for the harness's wasmtime host (`harness/src/host.rs`, `harness/src/limits.rs`)
//! and for the SDK's in-memory host that plugin unit tests run against, so that a unit test
//! fails where `verify` would.
//!
//! Plain constants, no dependencies, `no_std`. Each says how the host reports a violation; the
//! messages are the harness's, and the SDK's native host repeats them:
//!
//! | rule | constant | real host | native host |
//! |------|----------|-----------|-------------|
//! | storage/cache key size (on `set`) | [`MAX_KEY_BYTES`] | `Err("key is N bytes, over 1024")` to the plugin | the same `Err` |
//! | storage/cache value size (on `set`) | [`MAX_VALUE_BYTES`] | `Err("value is N bytes, over 1048576")` | the same `Err` |
//! | captures per call | [`MAX_CAPTURES_PER_CALL`] | `Err("more than 100 events captured in one call")` | the same `Err` |
//! | host calls per call | [`HOST_CALLS_PER_EVENT`] | trap: `more than 10000 host calls in one call` | panic, same message |
//! | log bytes per call | [`LOG_BYTES_PER_EVENT`] | trap: `logged more than 65536 bytes in one call` | panic, same message |
//! | undeclared capability | [`CAPABILITIES`] | trap: ``called `storage`, which plugin.json does not declare`` | panic, same message |
//! | the deterministic clock | [`CLOCK_START_SECONDS`], [`CLOCK_TICK_NANOS`] | WASI clocks | the cache's expiry clock starts there |
#![no_std]

/// Largest key, in bytes, that `storage::set` and `cache::set` accept. A longer key is an error
/// the plugin sees (`key is N bytes, over 1024`), not a trap. (`get`, `del` and `cache::incr`
/// do not check it.)
pub const MAX_KEY_BYTES: usize = 1 << 10;

/// Largest value (JSON text), in bytes, that `storage::set` and `cache::set` accept. A larger
/// value is an error the plugin sees (`value is N bytes, over 1048576`), not a trap.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// Largest attachment (a file a config field of type `attachment` names), in bytes. A larger
/// one fails loading the plugin (`load/attachment`).
pub const MAX_ATTACHMENT_BYTES: u64 = 16 << 20;

/// Events a plugin may `capture` while handling one event (the host drains what was captured
/// after each event). One more is an error the plugin sees
/// (`more than 100 events captured in one call`), not a trap.
pub const MAX_CAPTURES_PER_CALL: usize = 100;

/// Host calls (`log`, `storage`, `cache`, `capture`, `http`: every call, declared or not) one
/// `setup`, `process-event` or `on-event` call may make. The call after the last one traps:
/// `more than 10000 host calls in one call`. A manifest cannot change it (the harness's
/// `limits::DEFAULT` and `limits::CEILING` both hold this value).
pub const HOST_CALLS_PER_EVENT: u64 = 10_000;

/// Bytes of log messages (the `log` interface) one call may write. The message that goes over
/// traps: `logged more than 65536 bytes in one call`. A manifest cannot change it.
pub const LOG_BYTES_PER_EVENT: u64 = 64 << 10;

/// The capabilities a plugin must declare in `plugin.json`'s `capabilities` before it may call
/// them, by WIT interface name, in contract order (`log` is always allowed). Calling one that is
/// not declared traps: ``called `storage`, which plugin.json does not declare``.
pub const CAPABILITIES: [&str; 5] = ["storage", "cache", "capture", "http", "geoip"];

/// Where the deterministic clock starts: 2024-01-01T00:00:00Z, in seconds since the Unix epoch.
/// The WASI wall clock reads this plus the time elapsed on the logical clock; the cache's
/// expiry (`ttl-seconds`) is measured on the same clock.
pub const CLOCK_START_SECONDS: u64 = 1_704_067_200;

/// How far the deterministic clock moves per reading, in nanoseconds (1 ms): each read of the
/// WASI wall or monotonic clock advances it by this much, so that runs repeat exactly. Reading
/// it for the cache's expiry does not advance it.
pub const CLOCK_TICK_NANOS: u64 = 1_000_000;
