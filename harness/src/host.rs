//! The wasmtime host: one `Engine` per process, one `Linker` built once, and the state that each
//! plugin instance's `Store` carries (WASI context, limits, and the capabilities' backends).
//!
//! Capabilities are served here. While verifying nothing leaves the process: `storage` and
//! `cache` are in memory, `http` answers from recorded fixtures, `capture` queues events for
//! the pipeline, clocks and random numbers are deterministic.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use crate::fixtures::HttpFixtures;
use crate::manifest::Capabilities;
use crate::model::limits::EffectiveLimits;

/// Host bindings generated from `wit/plugin.wit` (the `host` world: every capability).
pub(crate) mod wit {
    wasmtime::component::bindgen!({
        world: "host",
        path: "../wit",
        imports: { default: trappable },
    });
}

use wit::posthog::plugin::{attachments, cache, capture, geoip, http, log, storage};

/// How often the epoch advances; a call's wall-clock deadline is counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The logical clock starts here (2024-01-01T00:00:00Z) so that runs repeat exactly.
pub use posthog_plugin_limits::CLOCK_START_SECONDS;

/// The process's one engine: fuel metering and epoch interruption on, component model on.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(true);
        config.epoch_interruption(true);
        // `HARNESS_PROFILE=perfmap`: plugins' compiled functions named in /tmp/perf-PID.map, so
        // that `perf report` shows guest functions rather than `[JIT]` addresses (README,
        // "Where the time goes"). Compiled code is the same either way.
        if std::env::var_os("HARNESS_PROFILE").is_some_and(|value| value == "perfmap") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        // Instances come from a pool of slots reserved once, so that a fresh instance (the
        // price of replacing a trapped one) costs microseconds, not fresh mappings. The pool
        // holds 1,000 live component instances, far more than a run keeps (one per plugin per
        // pipeline). A memory slot reserves address space (4 GiB and a guard each) and commits
        // nothing until used. Where the kernel can report which pages an instance dirtied
        // (`PAGEMAP_SCAN`, Linux 6.7), up to 1 MiB of them are reset in place and stay
        // resident for the next instance instead of being unmapped and faulted in again.
        // Where the pool cannot be reserved (a ulimit on virtual memory), or
        // `HARNESS_INSTANCE_ALLOCATOR=on-demand` asks for it, instances are allocated on
        // demand: slower to make, same behaviour (but for components beyond the pool's
        // per-module limits below, which the pool refuses when they are compiled).
        let ceiling = crate::model::limits::CEILING;
        let on_demand_only = std::env::var_os("HARNESS_INSTANCE_ALLOCATOR")
            .is_some_and(|value| value == "on-demand");
        let pooled = (!on_demand_only)
            .then(|| {
                let mut pool = wasmtime::PoolingAllocationConfig::new();
                // A Rust component holds several core instances (the program, adapters,
                // shims) and tables; core instances are only counted, not reserved.
                pool.total_component_instances(1_000)
                    .total_core_instances(4_000)
                    .total_memories(1_000)
                    .total_tables(2_000)
                    // Per module and per component: generous, so that a plugin loads with the
                    // pool whenever it loads without one (these only validate).
                    .max_memories_per_module(4)
                    .max_tables_per_module(8)
                    .max_core_instances_per_component(64)
                    // `VMContext` metadata: a few KiB for a Rust component.
                    .max_core_instance_size(1 << 20)
                    .max_component_instance_size(4 << 20)
                    // A memory may reach 4 GiB in its slot, which reserves that much anyway:
                    // the `Limiter`, not the pool, holds it to the plugin's limit (at most
                    // `CEILING.memory_bytes`), so that a component asking for more fails as
                    // it does without the pool (`run/instantiate`, naming the limit) rather
                    // than when it is compiled.
                    .max_memory_size(usize::try_from(1u64 << 32).unwrap_or(usize::MAX))
                    .table_elements(usize::try_from(ceiling.table_elements).unwrap_or(usize::MAX));
                if wasmtime::PoolingAllocationConfig::is_pagemap_scan_available() {
                    pool.pagemap_scan(wasmtime::Enabled::Yes)
                        .linear_memory_keep_resident(1 << 20)
                        .table_keep_resident(1 << 20);
                }
                let mut pooled = config.clone();
                pooled.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
                Engine::new(&pooled).ok()
            })
            .flatten();
        // The configuration is fixed by this code, so failing here is a bug, not bad input.
        let engine = pooled.unwrap_or_else(|| {
            Engine::new(&config).expect("the harness's engine configuration is valid")
        });
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .expect("spawning the epoch ticker thread");
        engine
    })
}

/// The process's one linker: WASI (without files, network, environment or arguments reachable)
/// and the plugin contract's capabilities.
pub fn linker() -> &'static Linker<HostState> {
    static LINKER: OnceLock<Linker<HostState>> = OnceLock::new();
    LINKER.get_or_init(|| {
        let mut linker = Linker::new(engine());
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI links once");
        wit::Host_::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .expect("the plugin contract links once");
        linker
    })
}

/// What a plugin's instances need to know about it: fixed at load time, shared by instances.
#[derive(Debug)]
pub struct PluginContext {
    pub name: String,
    pub capabilities: Capabilities,
    pub limits: EffectiveLimits,
    pub fixtures: HttpFixtures,
    pub random_seed: u64,
    /// The clock the plugin sees.
    pub clock: ClockSetting,
    /// Values of `secret` config fields: never shown in a log line or failure message.
    pub secrets: Vec<String>,
    /// The files config fields of type `attachment` name, read at load, by field key.
    pub attachments: BTreeMap<String, Attachment>,
    /// The database `geoip` answers from: `run`'s `--geoip-database`, or the one built from
    /// the plugin's `fixtures/geoip.json` while verifying; `None` answers nothing.
    pub geoip: Option<Arc<crate::geoip::GeoIpDatabase>>,
    /// `run`'s real network and persistent storage; `None` (verification): fixtures and
    /// memory.
    pub runtime: Option<Arc<crate::runtime::Runtime>>,
}

impl PluginContext {
    /// `text` with every secret config value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "***");
            }
        }
        text
    }
}

/// A plugin's persistent state, kept across instances (a trapped instance is replaced, its
/// storage is not): storage, cache, the logical clock, captured events waiting for the pipeline.
#[derive(Debug, Default)]
pub struct Services {
    pub storage: BTreeMap<String, String>,
    pub cache: BTreeMap<String, CacheEntry>,
    pub captured: Vec<CapturedEvent>,
    pub clock: LogicalClock,
}

/// A file a config field of type `attachment` names (PostHog's `meta.attachments[key]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub contents: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CacheEntry {
    pub value: String,
    pub expires_at_seconds: Option<u64>,
}

/// An event a plugin emitted with `capture`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CapturedEvent {
    /// The plugin that captured it.
    pub plugin: String,
    pub event: String,
    pub properties: serde_json::Value,
}

/// The clock a plugin sees: where it starts, and how it moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockSetting {
    /// Unix seconds at the clock's start.
    pub start_seconds: u64,
    /// Moves at real speed (the machine's monotonic time) instead of 1 ms per reading.
    pub real_speed: bool,
}

impl Default for ClockSetting {
    fn default() -> Self {
        ClockSetting {
            start_seconds: CLOCK_START_SECONDS,
            real_speed: false,
        }
    }
}

#[derive(Debug)]
struct ClockInner {
    start_seconds: AtomicU64,
    real_speed: std::sync::atomic::AtomicBool,
    /// Nanoseconds since the start (logical clock).
    elapsed: AtomicU64,
    origin: std::sync::OnceLock<std::time::Instant>,
    configured: std::sync::atomic::AtomicBool,
}

/// A clock that starts at [`CLOCK_START_SECONDS`] (or its [`ClockSetting`]) and moves one
/// millisecond per reading, or at real speed. It lives in the plugin's `Services`, so a
/// replaced instance goes on from where the last one left.
#[derive(Clone, Debug)]
pub struct LogicalClock(Arc<ClockInner>);

impl Default for LogicalClock {
    fn default() -> Self {
        LogicalClock(Arc::new(ClockInner {
            start_seconds: AtomicU64::new(CLOCK_START_SECONDS),
            real_speed: false.into(),
            elapsed: AtomicU64::new(0),
            origin: std::sync::OnceLock::new(),
            configured: false.into(),
        }))
    }
}

impl LogicalClock {
    /// Applies `setting` to a clock that has not been set up yet (the first instance's).
    pub fn configure(&self, setting: ClockSetting) {
        if !self.0.configured.swap(true, Ordering::Relaxed) {
            self.0
                .start_seconds
                .store(setting.start_seconds, Ordering::Relaxed);
            self.0
                .real_speed
                .store(setting.real_speed, Ordering::Relaxed);
        }
    }

    fn real_speed(&self) -> bool {
        self.0.real_speed.load(Ordering::Relaxed)
    }

    /// Nanoseconds since the clock started; each logical reading advances it.
    fn tick(&self) -> u64 {
        if self.real_speed() {
            let origin = self.0.origin.get_or_init(std::time::Instant::now);
            return origin.elapsed().as_nanos() as u64;
        }
        self.0
            .elapsed
            .fetch_add(posthog_plugin_limits::CLOCK_TICK_NANOS, Ordering::Relaxed)
    }

    fn start(&self) -> u64 {
        self.0.start_seconds.load(Ordering::Relaxed)
    }

    /// Moves a logical clock forward to `unix_seconds` (never back): the simulated day of the
    /// scheduled tasks. A real-speed clock is not moved.
    pub fn advance_to(&self, unix_seconds: u64) {
        let target = unix_seconds.saturating_sub(self.start()) * 1_000_000_000;
        self.0.elapsed.fetch_max(target, Ordering::Relaxed);
    }

    pub fn unix_seconds(&self) -> u64 {
        let elapsed = if self.real_speed() {
            // Real time runs from the first look at the clock, the host's or the plugin's.
            let origin = self.0.origin.get_or_init(std::time::Instant::now);
            origin.elapsed().as_nanos() as u64
        } else {
            self.0.elapsed.load(Ordering::Relaxed)
        };
        self.start() + elapsed / 1_000_000_000
    }
}

impl HostWallClock for LogicalClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(self.start()) + Duration::from_nanos(self.tick())
    }
}

impl HostMonotonicClock for LogicalClock {
    fn resolution(&self) -> u64 {
        posthog_plugin_limits::CLOCK_TICK_NANOS
    }
    fn now(&self) -> u64 {
        self.tick()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    /// Written to stdout or stderr rather than through `log`.
    Stdio,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

/// A limit a plugin hit during a call; the call is stopped and counted as failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitHit {
    Fuel,
    Timeout,
    Memory,
    Table,
    OutputSize,
    LogVolume,
    HostCalls,
    /// A capability the manifest does not declare.
    UndeclaredCapability,
}

/// The data of one instance's `Store`.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) context: Arc<PluginContext>,
    pub(crate) services: Services,
    pub(crate) limiter: Limiter,
    /// What stopped the current call, when the host stopped it.
    pub(crate) limit_hit: Option<(LimitHit, String)>,
    host_calls: u64,
    log_bytes: u64,
    /// When the current call began: a host call that blocks (a request) counts against the
    /// call's deadline.
    call_started: std::time::Instant,
    pub(crate) logs: Vec<LogLine>,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    stdio_seen: [usize; 2],
}

/// Caps linear memory and tables; records which limit was hit so that the failure names it.
pub(crate) struct Limiter {
    memory_bytes: usize,
    table_elements: usize,
    pub(crate) hit: Option<(LimitHit, String)>,
    pub(crate) peak_memory_bytes: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            let message = format!(
                "linear memory would grow to {} MiB, over the limit of {} MiB",
                desired >> 20,
                self.memory_bytes >> 20
            );
            self.hit = Some((LimitHit::Memory, message.clone()));
            return Err(wasmtime::format_err!(message));
        }
        self.peak_memory_bytes = self.peak_memory_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            let message = format!(
                "a table would grow to {desired} elements, over the limit of {}",
                self.table_elements
            );
            self.hit = Some((LimitHit::Table, message.clone()));
            return Err(wasmtime::format_err!(message));
        }
        Ok(true)
    }
}

/// Stdout and stderr together may hold this much over an instance's life; writing more traps.
const STDIO_CAPACITY: usize = 1 << 20;

impl HostState {
    pub fn new(context: Arc<PluginContext>, services: Services) -> Self {
        let stdout = MemoryOutputPipe::new(STDIO_CAPACITY);
        let stderr = MemoryOutputPipe::new(STDIO_CAPACITY);
        let seed = context.random_seed;
        services.clock.configure(context.clock);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(services.clock.clone())
            .monotonic_clock(services.clock.clone())
            .secure_random(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(
                seed,
            ))
            .insecure_random(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(
                seed.wrapping_add(1),
            ))
            .insecure_random_seed(u128::from(seed))
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        let limiter = Limiter {
            memory_bytes: usize::try_from(context.limits.memory_bytes).unwrap_or(usize::MAX),
            table_elements: usize::try_from(context.limits.table_elements).unwrap_or(usize::MAX),
            hit: None,
            peak_memory_bytes: 0,
        };
        HostState {
            wasi,
            table: ResourceTable::new(),
            context,
            services,
            limiter,
            limit_hit: None,
            host_calls: 0,
            log_bytes: 0,
            call_started: std::time::Instant::now(),
            logs: Vec::new(),
            stdout,
            stderr,
            stdio_seen: [0, 0],
        }
    }

    /// Resets the per-call budgets (host calls, log volume) before a call.
    pub(crate) fn begin_call(&mut self) {
        self.host_calls = 0;
        self.log_bytes = 0;
        self.call_started = std::time::Instant::now();
        self.limit_hit = None;
        self.limiter.hit = None;
        self.logs.clear();
    }

    /// Moves what the plugin wrote to stdout and stderr during the call into its log.
    pub(crate) fn end_call(&mut self) {
        for (index, pipe) in [&self.stdout, &self.stderr].into_iter().enumerate() {
            let contents = pipe.contents();
            let seen = self.stdio_seen[index];
            if contents.len() > seen {
                let text = String::from_utf8_lossy(&contents[seen..]);
                for line in text.lines().filter(|line| !line.is_empty()) {
                    self.logs.push(LogLine {
                        level: LogLevel::Stdio,
                        message: line.to_owned(),
                    });
                }
                self.stdio_seen[index] = contents.len();
            }
        }
    }

    /// Takes the limit that stopped the call, from the host or the resource limiter.
    pub(crate) fn take_limit_hit(&mut self) -> Option<(LimitHit, String)> {
        self.limit_hit.take().or_else(|| self.limiter.hit.take())
    }

    pub(crate) fn into_services(self) -> Services {
        self.services
    }

    /// Stops the plugin: the call traps and the failure names `limit`.
    fn stop(&mut self, limit: LimitHit, message: String) -> wasmtime::Error {
        let error = wasmtime::format_err!("{message}");
        self.limit_hit = Some((limit, message));
        error
    }

    /// Counts one host call against the per-call budget.
    fn charge(&mut self) -> wasmtime::Result<()> {
        self.host_calls += 1;
        let limit = self.context.limits.host_calls_per_event;
        if self.host_calls > limit {
            return Err(self.stop(
                LimitHit::HostCalls,
                format!("more than {limit} host calls in one call"),
            ));
        }
        Ok(())
    }

    /// Refuses a capability the manifest does not declare (the static stage rejects such a
    /// plugin first; this is the second wall).
    fn require(&mut self, capability: &str, declared: bool) -> wasmtime::Result<()> {
        self.charge()?;
        if !declared {
            return Err(self.stop(
                LimitHit::UndeclaredCapability,
                format!("called `{capability}`, which plugin.json does not declare"),
            ));
        }
        Ok(())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Largest key and value `storage` and `cache` accept.
use posthog_plugin_limits::{MAX_KEY_BYTES, MAX_VALUE_BYTES};

fn check_entry(key: &str, value: &str) -> Result<(), String> {
    if key.len() > MAX_KEY_BYTES {
        return Err(format!("key is {} bytes, over {MAX_KEY_BYTES}", key.len()));
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(format!(
            "value is {} bytes, over {MAX_VALUE_BYTES}",
            value.len()
        ));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(value)
        .map_err(|e| format!("value is not JSON: {e}"))?;
    Ok(())
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.charge()?;
        self.log_bytes += message.len() as u64;
        let limit = self.context.limits.log_bytes_per_event;
        if self.log_bytes > limit {
            return Err(self.stop(
                LimitHit::LogVolume,
                format!("logged more than {limit} bytes in one call"),
            ));
        }
        let level = match level {
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        self.logs.push(LogLine { level, message });
        Ok(())
    }
}

impl HostState {
    /// The persistent storage file, in `run`.
    fn storage_file(&self) -> Option<&crate::runtime::StorageFile> {
        self.context.runtime.as_ref()?.storage.as_ref()
    }
}

/// A failure of the harness's own storage file: the call stops, named as the harness's.
fn storage_failed(message: String) -> wasmtime::Error {
    wasmtime::format_err!("the harness's storage failed: {message}")
}

impl attachments::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<attachments::Attachment>> {
        self.charge()?;
        Ok(self
            .context
            .attachments
            .get(&key)
            .map(|a| attachments::Attachment {
                file_name: a.file_name.clone(),
                content_type: a.content_type.clone(),
                contents: a.contents.clone(),
            }))
    }
}

impl storage::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.require("storage", self.context.capabilities.storage)?;
        if let Some(file) = self.storage_file() {
            let name = &self.context.name;
            return file.get(name, &key).map_err(storage_failed);
        }
        Ok(self.services.storage.get(&key).cloned())
    }

    fn set(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), String>> {
        self.require("storage", self.context.capabilities.storage)?;
        if let Err(e) = check_entry(&key, &value) {
            return Ok(Err(e));
        }
        if let Some(file) = self.storage_file() {
            let name = &self.context.name;
            return file
                .put(name, &key, Some(&value))
                .map(Ok)
                .map_err(storage_failed);
        }
        self.services.storage.insert(key, value);
        Ok(Ok(()))
    }

    fn del(&mut self, key: String) -> wasmtime::Result<()> {
        self.require("storage", self.context.capabilities.storage)?;
        if let Some(file) = self.storage_file() {
            let name = &self.context.name;
            return file.put(name, &key, None).map_err(storage_failed);
        }
        self.services.storage.remove(&key);
        Ok(())
    }
}

impl HostState {
    fn cache_get_live(&self, key: &str) -> Option<&CacheEntry> {
        let now = self.services.clock.unix_seconds();
        self.services
            .cache
            .get(key)
            .filter(|entry| entry.expires_at_seconds.is_none_or(|at| at > now))
    }
}

impl cache::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.require("cache", self.context.capabilities.cache)?;
        Ok(self.cache_get_live(&key).map(|entry| entry.value.clone()))
    }

    fn set(
        &mut self,
        key: String,
        value: String,
        ttl_seconds: Option<u32>,
    ) -> wasmtime::Result<Result<(), String>> {
        self.require("cache", self.context.capabilities.cache)?;
        if let Err(e) = check_entry(&key, &value) {
            return Ok(Err(e));
        }
        let expires_at_seconds =
            ttl_seconds.map(|ttl| self.services.clock.unix_seconds() + u64::from(ttl));
        self.services.cache.insert(
            key,
            CacheEntry {
                value,
                expires_at_seconds,
            },
        );
        Ok(Ok(()))
    }

    fn incr(&mut self, key: String, by: i64) -> wasmtime::Result<Result<i64, String>> {
        self.require("cache", self.context.capabilities.cache)?;
        let current = match self.cache_get_live(&key) {
            None => 0,
            Some(entry) => match entry.value.trim().parse::<i64>() {
                Ok(n) => n,
                Err(_) => return Ok(Err(format!("the value under `{key}` is not an integer"))),
            },
        };
        let Some(next) = current.checked_add(by) else {
            return Ok(Err(format!("the value under `{key}` would overflow")));
        };
        let expires_at_seconds = self.cache_get_live(&key).and_then(|e| e.expires_at_seconds);
        self.services.cache.insert(
            key,
            CacheEntry {
                value: next.to_string(),
                expires_at_seconds,
            },
        );
        Ok(Ok(next))
    }
}

/// Events one instance may capture per call.
use posthog_plugin_limits::MAX_CAPTURES_PER_CALL;

impl capture::Host for HostState {
    fn capture(
        &mut self,
        event: String,
        properties: String,
    ) -> wasmtime::Result<Result<(), String>> {
        self.require("capture", self.context.capabilities.capture)?;
        if self.services.captured.len() >= MAX_CAPTURES_PER_CALL {
            return Ok(Err(format!(
                "more than {MAX_CAPTURES_PER_CALL} events captured in one call"
            )));
        }
        let properties: serde_json::Value = match serde_json::from_str(&properties) {
            Ok(value @ serde_json::Value::Object(_)) => value,
            Ok(_) => return Ok(Err("properties must be a JSON object".into())),
            Err(e) => return Ok(Err(format!("properties are not JSON: {e}"))),
        };
        if event.is_empty() {
            return Ok(Err("the event name is empty".into()));
        }
        self.services.captured.push(CapturedEvent {
            plugin: self.context.name.clone(),
            event,
            properties,
        });
        Ok(Ok(()))
    }
}

impl geoip::Host for HostState {
    fn locate(&mut self, ip: String) -> wasmtime::Result<Option<String>> {
        self.require("geoip", self.context.capabilities.geoip)?;
        Ok(self
            .context
            .geoip
            .as_ref()
            .and_then(|database| database.locate(&ip)))
    }
}

impl http::Host for HostState {
    fn fetch(
        &mut self,
        request: http::Request,
    ) -> wasmtime::Result<Result<http::Response, String>> {
        self.require("http", self.context.capabilities.http.is_some())?;
        let Some(host) = crate::fixtures::url_host(&request.url) else {
            return Ok(Err(format!(
                "`{}` is not an absolute http(s) URL",
                request.url
            )));
        };
        if !self.context.capabilities.allows_host(&host) {
            return Ok(Err(format!(
                "host `{host}` is not in plugin.json's capabilities.http.hosts"
            )));
        }
        let runtime = self.context.runtime.as_ref();
        if let Some((runtime, network)) =
            runtime.and_then(|runtime| Some((runtime, runtime.network.as_ref()?)))
        {
            if let Err(message) =
                runtime.check_approved(&self.context.name, &request.method, &request.url)
            {
                return Ok(Err(message));
            }
            let deadline = Duration::from_millis(self.context.limits.timeout_ms);
            let time_left = deadline.saturating_sub(self.call_started.elapsed());
            let sent = crate::runtime::Request {
                method: &request.method,
                url: &request.url,
                headers: &request.headers,
                body: request.body.as_deref(),
            };
            return Ok(network
                .fetch(&sent, time_left)
                .map(|response| http::Response {
                    status: response.status,
                    headers: response.headers,
                    body: response.body,
                })
                .map_err(|message| self.context.redact(&message)));
        }
        Ok(
            match self.context.fixtures.answer(&request.method, &request.url) {
                Some(response) if response.body.len() > crate::runtime::MAX_RESPONSE_BYTES => {
                    Err(format!(
                        "{} {}: the response is larger than {} bytes",
                        request.method,
                        crate::fixtures::redact_url(&request.url),
                        crate::runtime::MAX_RESPONSE_BYTES
                    ))
                }
                Some(response) => Ok(http::Response {
                    status: response.status,
                    headers: response.headers.clone(),
                    body: response.body.clone(),
                }),
                None => Err(format!(
                    "no recorded response for {} {} (while verifying, http answers only from fixtures/http.json)",
                    request.method,
                    crate::fixtures::redact_url(&request.url)
                )),
            },
        )
    }
}
