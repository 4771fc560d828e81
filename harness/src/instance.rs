//! One running instance of a plugin: a `Store` with its own limits, the contract's functions,
//! and calls that report what they cost and how they failed.

use serde::Serialize;
use wasmtime::component::{ComponentNamedList, Func, Lift, Lower, TypedFunc};
use wasmtime::{Store, Trap};

use std::collections::BTreeMap;

use crate::contract::Schedule;
use crate::host::{EPOCH_TICK, HostState, LimitHit, LogLine, Services};
use crate::plugin::LoadedPlugin;

/// How a call failed. Each kind is a rule id in the reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The plugin returned an error result.
    ErrorResult,
    /// The plugin trapped: a panic, `unreachable`, an out-of-bounds access, a stack overflow.
    Trap,
    /// A limit stopped the plugin.
    Limit(LimitHit),
    /// The plugin returned something that is not a JSON object.
    InvalidOutput,
    /// The plugin changed `team_id` (restored by the pipeline).
    TeamIdChanged,
    /// A fresh instance could not be made (instantiation or `setup` failed).
    Instantiate,
}

impl FailureKind {
    /// Every kind, for the rule table's tests.
    pub const ALL: [FailureKind; 13] = [
        FailureKind::ErrorResult,
        FailureKind::Trap,
        FailureKind::Limit(LimitHit::Fuel),
        FailureKind::Limit(LimitHit::Timeout),
        FailureKind::Limit(LimitHit::Memory),
        FailureKind::Limit(LimitHit::Table),
        FailureKind::Limit(LimitHit::OutputSize),
        FailureKind::Limit(LimitHit::LogVolume),
        FailureKind::Limit(LimitHit::HostCalls),
        FailureKind::Limit(LimitHit::UndeclaredCapability),
        FailureKind::InvalidOutput,
        FailureKind::TeamIdChanged,
        FailureKind::Instantiate,
    ];

    /// The stable rule id of this failure (in `model::rules::run`).
    pub fn rule(self) -> &'static str {
        self.rules().0
    }

    /// The rule id of this failure in an `on-event` call (`run/trap-on-event`, ...).
    pub fn on_event_rule(self) -> &'static str {
        self.rules().1
    }

    fn rules(self) -> (&'static str, &'static str) {
        use crate::model::rules::run::*;
        match self {
            FailureKind::ErrorResult => (ERROR_RESULT, ERROR_RESULT_ON_EVENT),
            FailureKind::Trap => (TRAP, TRAP_ON_EVENT),
            FailureKind::Limit(LimitHit::Fuel) => (FUEL, FUEL_ON_EVENT),
            FailureKind::Limit(LimitHit::Timeout) => (TIMEOUT, TIMEOUT_ON_EVENT),
            FailureKind::Limit(LimitHit::Memory) => (MEMORY, MEMORY_ON_EVENT),
            FailureKind::Limit(LimitHit::Table) => (TABLE, TABLE_ON_EVENT),
            FailureKind::Limit(LimitHit::OutputSize) => (OUTPUT, OUTPUT_ON_EVENT),
            FailureKind::Limit(LimitHit::LogVolume) => (LOG, LOG_ON_EVENT),
            FailureKind::Limit(LimitHit::HostCalls) => (HOST_CALLS, HOST_CALLS_ON_EVENT),
            FailureKind::Limit(LimitHit::UndeclaredCapability) => (UNDECLARED, UNDECLARED_ON_EVENT),
            FailureKind::InvalidOutput => (INVALID_OUTPUT, INVALID_OUTPUT_ON_EVENT),
            FailureKind::TeamIdChanged => (TEAM_ID, TEAM_ID_ON_EVENT),
            FailureKind::Instantiate => (INSTANTIATE, INSTANTIATE_ON_EVENT),
        }
    }

    /// Whether the instance must be replaced after this failure (it trapped or was stopped).
    pub fn poisons_instance(self) -> bool {
        matches!(self, FailureKind::Trap | FailureKind::Limit(_))
    }
}

/// A failed call: its kind and a one-line message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

/// What a call returned, what it cost, and what it logged.
#[derive(Debug)]
pub struct Call<T> {
    pub result: Result<T, Failure>,
    pub fuel: u64,
    pub logs: Vec<LogLine>,
}

/// A live plugin instance. After a trap or a limit hit it is poisoned and must be replaced
/// ([`PluginInstance::into_services`] keeps the plugin's storage for the next one).
pub struct PluginInstance {
    store: Store<HostState>,
    setup: Option<TypedFunc<SetupParams, SetupResults>>,
    process_event: Option<TypedFunc<EventParams, ProcessResults>>,
    on_event: Option<TypedFunc<EventParams, OnEventResults>>,
    export_events: Option<TypedFunc<EventParams, ExportResults>>,
    teardown: Option<TypedFunc<(), ()>>,
    /// The scheduled tasks, in [`Schedule::ALL`] order.
    tasks: [Option<TypedFunc<(), OnEventResults>>; 3],
    poisoned: bool,
}

/// Why a batch exporter did not take a batch (the contract's `export-error`).
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    wasmtime::component::ComponentType,
    wasmtime::component::Lift,
)]
#[component(variant)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum ExportRefusal {
    /// Try the batch again later (PostHog's `RetryError`).
    #[component(name = "retry")]
    Retry(String),
    /// Give the batch up.
    #[component(name = "failed")]
    Failed(String),
}

// The contract's signatures, written once: `new` type-checks each export against these and
// keeps the typed functions. Parameters are owned so that the typed functions need no
// lifetime; a caller with a `String` moves it in.
type SetupParams = (Vec<(String, String)>,);
type SetupResults = (Result<(), String>,);
type EventParams = (String,);
type ProcessResults = (Result<Option<String>, String>,);
type OnEventResults = (Result<(), String>,);
type ExportResults = (Result<(), ExportRefusal>,);

impl PluginInstance {
    /// Instantiates `plugin` with `services` (its storage and cache). Does not call `setup`.
    pub fn new(plugin: &LoadedPlugin, services: Services) -> Result<PluginInstance, Failure> {
        let mut store = Store::new(
            crate::host::engine(),
            HostState::new(plugin.context.clone(), services),
        );
        store.limiter(|state| &mut state.limiter);
        let limits = plugin.context.limits;
        store
            .set_fuel(limits.fuel_per_setup)
            .map_err(|e| Failure::new(FailureKind::Instantiate, e.to_string()))?;
        store.set_epoch_deadline(deadline_ticks(limits.timeout_ms));
        store.epoch_deadline_trap();
        let instance = match plugin.pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(error) => {
                let failure = classify(&mut store, error, limits.fuel_per_setup);
                return Err(Failure::new(
                    FailureKind::Instantiate,
                    format!("instantiation failed: {}", failure.message),
                ));
            }
        };
        let mut func = |index: &Option<wasmtime::component::ComponentExportIndex>| {
            index
                .as_ref()
                .and_then(|i| instance.get_func(&mut store, i))
        };
        let setup = func(&plugin.exports.setup);
        let process_event = func(&plugin.exports.process_event);
        let on_event = func(&plugin.exports.on_event);
        let export_events = func(&plugin.exports.export_events);
        let teardown = func(&plugin.exports.teardown);
        let task_funcs = plugin.exports.tasks.each_ref().map(&mut func);
        fn typed<P, R>(
            store: &Store<HostState>,
            func: Option<Func>,
        ) -> Result<Option<TypedFunc<P, R>>, Failure>
        where
            P: ComponentNamedList + Lower,
            R: ComponentNamedList + Lift,
        {
            func.map(|f| f.typed::<P, R>(store))
                .transpose()
                .map_err(|e| Failure::new(FailureKind::Instantiate, format!("{e:#}")))
        }
        let setup = typed(&store, setup)?;
        let process_event = typed(&store, process_event)?;
        let on_event = typed(&store, on_event)?;
        let export_events = typed(&store, export_events)?;
        let teardown = typed(&store, teardown)?;
        let mut tasks = [None, None, None];
        for (slot, found) in tasks.iter_mut().zip(task_funcs) {
            *slot = typed(&store, found)?;
        }
        Ok(PluginInstance {
            store,
            setup,
            process_event,
            on_event,
            export_events,
            teardown,
            tasks,
            poisoned: false,
        })
    }

    /// Calls `setup` with the config values, if the plugin exports it.
    pub fn setup(&mut self, config: &[(String, String)]) -> Call<()> {
        let Some(func) = self.setup else {
            return Call {
                result: Ok(()),
                fuel: 0,
                logs: Vec::new(),
            };
        };
        let fuel = self.store.data().context.limits.fuel_per_setup;
        let call = self.call(func, (config.to_vec(),), fuel);
        flatten(call, &self.store.data().context.clone())
    }

    /// Calls `process-event` with one event (JSON text).
    pub fn process_event(&mut self, event: impl Into<String>) -> Call<Option<String>> {
        let event = event.into();
        let Some(func) = self.process_event else {
            return Call {
                result: Ok(Some(event)),
                fuel: 0,
                logs: Vec::new(),
            };
        };
        let limits = self.store.data().context.limits;
        let fuel = limits.cap_for(event.len());
        let call = self.call(func, (event,), fuel);
        let mut call = flatten(call, &self.store.data().context.clone());
        if let Ok(Some(output)) = &call.result
            && output.len() as u64 > limits.output_bytes
        {
            call.result = Err(Failure::new(
                FailureKind::Limit(LimitHit::OutputSize),
                format!(
                    "returned {} bytes, over the limit of {}",
                    output.len(),
                    limits.output_bytes
                ),
            ));
        }
        call
    }

    /// Calls `on-event` with the final event (JSON text).
    pub fn on_event(&mut self, event: impl Into<String>) -> Call<()> {
        let Some(func) = self.on_event else {
            return Call {
                result: Ok(()),
                fuel: 0,
                logs: Vec::new(),
            };
        };
        let event: String = event.into();
        let fuel = self.store.data().context.limits.cap_for(event.len());
        let call = self.call(func, (event,), fuel);
        flatten(call, &self.store.data().context.clone())
    }

    /// Calls `export-events` with a batch (a JSON array of events): `Ok(Ok(()))` exported,
    /// `Ok(Err(refusal))` the plugin asked for a retry or gave the batch up, `Err` a failure
    /// (a trap, a limit). The fuel allowance grows with the batch, as for one event.
    pub fn export_events(&mut self, batch: impl Into<String>) -> Call<Result<(), ExportRefusal>> {
        let Some(func) = self.export_events else {
            return Call {
                result: Ok(Ok(())),
                fuel: 0,
                logs: Vec::new(),
            };
        };
        let batch: String = batch.into();
        let fuel = self.store.data().context.limits.cap_for(batch.len());
        let call = self.call(func, (batch,), fuel);
        let context = self.store.data().context.clone();
        Call {
            result: call.result.map(|(result,)| {
                result.map_err(|refusal| match refusal {
                    ExportRefusal::Retry(m) => ExportRefusal::Retry(context.redact(&m)),
                    ExportRefusal::Failed(m) => ExportRefusal::Failed(context.redact(&m)),
                })
            }),
            fuel: call.fuel,
            logs: call.logs,
        }
    }

    /// Runs a scheduled task, with the limits of one event (the fuel of an empty one). A task
    /// the plugin does not export succeeds doing nothing.
    pub fn run_task(&mut self, schedule: Schedule) -> Call<()> {
        let index = Schedule::ALL
            .iter()
            .position(|s| *s == schedule)
            .expect("every schedule is in ALL");
        let Some(func) = self.tasks[index] else {
            return Call {
                result: Ok(()),
                fuel: 0,
                logs: Vec::new(),
            };
        };
        let fuel = self.store.data().context.limits.cap_for(0);
        let call = self.call(func, (), fuel);
        flatten(call, &self.store.data().context.clone())
    }

    /// Moves the plugin's logical clock forward to `unix_seconds` (a simulated schedule).
    pub fn advance_clock_to(&mut self, unix_seconds: u64) {
        self.store.data().services.clock.advance_to(unix_seconds);
    }

    /// The plugin's storage and cache, as they are now (what a task changed is the difference).
    pub fn state(
        &self,
    ) -> (
        &BTreeMap<String, String>,
        &BTreeMap<String, crate::host::CacheEntry>,
    ) {
        let services = &self.store.data().services;
        (&services.storage, &services.cache)
    }

    /// The plugin's clock, in Unix seconds (what its buffers' timers are measured on).
    pub fn clock_seconds(&self) -> u64 {
        self.store.data().services.clock.unix_seconds()
    }

    /// Calls `teardown`, if exported; failures are returned but change nothing.
    pub fn teardown(&mut self) -> Call<()> {
        let Some(func) = self.teardown.filter(|_| !self.poisoned) else {
            return Call {
                result: Ok(()),
                fuel: 0,
                logs: Vec::new(),
            };
        };
        let fuel = self.store.data().context.limits.fuel_per_setup;
        self.call(func, (), fuel)
    }

    pub fn exports_process_event(&self) -> bool {
        self.process_event.is_some()
    }

    pub fn exports_on_event(&self) -> bool {
        self.on_event.is_some()
    }

    /// Whether the instance trapped or hit a limit and must be replaced.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The largest linear memory the instance has grown to, in bytes.
    pub fn peak_memory_bytes(&self) -> usize {
        self.store.data().limiter.peak_memory_bytes
    }

    /// Events captured by the plugin since the last call to this.
    pub fn take_captured(&mut self) -> Vec<crate::host::CapturedEvent> {
        std::mem::take(&mut self.store.data_mut().services.captured)
    }

    /// Ends the instance, keeping the plugin's storage and cache for the next one.
    pub fn into_services(self) -> Services {
        self.store.into_data().into_services()
    }

    fn call<P, R>(&mut self, func: TypedFunc<P, R>, params: P, fuel: u64) -> Call<R>
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + Lift,
    {
        if self.poisoned {
            return Call {
                result: Err(Failure::new(
                    FailureKind::Trap,
                    "the instance trapped earlier and cannot be entered",
                )),
                fuel: 0,
                logs: Vec::new(),
            };
        }
        let timeout_ms = self.store.data().context.limits.timeout_ms;
        self.store.data_mut().begin_call();
        // Fuel is always enabled on the harness's engine, so these cannot fail.
        let _ = self.store.set_fuel(fuel);
        self.store.set_epoch_deadline(deadline_ticks(timeout_ms));
        let result = func.call(&mut self.store, params);
        let remaining = self.store.get_fuel().unwrap_or(0);
        self.store.data_mut().end_call();
        let context = self.store.data().context.clone();
        let logs: Vec<LogLine> = std::mem::take(&mut self.store.data_mut().logs)
            .into_iter()
            .map(|line| LogLine {
                message: context.redact(&line.message),
                ..line
            })
            .collect();
        let result = result.map_err(|error| {
            self.poisoned = true;
            let mut failure = classify(&mut self.store, error, fuel);
            if failure.kind == FailureKind::Trap {
                failure.message = with_panic_message(&failure.message, &logs);
            }
            Failure::new(failure.kind, context.redact(&failure.message))
        });
        Call {
            result,
            fuel: fuel.saturating_sub(remaining),
            logs,
        }
    }
}

/// Turns the WIT `result<T, string>` inside a call's results into a [`Failure`].
fn flatten<T>(call: Call<(Result<T, String>,)>, context: &crate::host::PluginContext) -> Call<T> {
    Call {
        result: match call.result {
            Ok((Ok(value),)) => Ok(value),
            Ok((Err(message),)) => Err(Failure::new(
                FailureKind::ErrorResult,
                context.redact(&message),
            )),
            Err(failure) => Err(failure),
        },
        fuel: call.fuel,
        logs: call.logs,
    }
}

/// Epoch ticks for a deadline of `timeout_ms` (at least one).
fn deadline_ticks(timeout_ms: u64) -> u64 {
    (timeout_ms / EPOCH_TICK.as_millis() as u64).max(1)
}

/// Names what stopped a call: a limit the host or the limiter recorded, fuel, the deadline, or
/// the plugin's own trap.
/// What stopped a call: a limit the host recorded, a wasmtime trap, or another error. `fuel`
/// is what this call was given (setup gets more than an event), so the message names it.
fn classify(store: &mut Store<HostState>, error: wasmtime::Error, fuel: u64) -> Failure {
    if let Some((limit, message)) = store.data_mut().take_limit_hit() {
        return Failure::new(FailureKind::Limit(limit), message);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::new(
            FailureKind::Limit(LimitHit::Fuel),
            format!("ran out of fuel (this call was given {fuel})"),
        ),
        Some(Trap::Interrupt) => Failure::new(
            FailureKind::Limit(LimitHit::Timeout),
            format!(
                "did not finish within {} ms",
                store.data().context.limits.timeout_ms
            ),
        ),
        // wasmtime's own text already starts "wasm trap: ".
        Some(trap) => {
            let text = trap.to_string();
            let mut text = if text.starts_with("wasm trap") {
                text
            } else {
                format!("wasm trap: {text}")
            };
            if let Some(backtrace) = error.downcast_ref::<wasmtime::WasmBacktrace>() {
                text.push_str(&backtrace_text(backtrace));
            }
            Failure::new(FailureKind::Trap, text)
        }
        None => {
            let text = format!("{error:#}");
            Failure::new(
                FailureKind::Trap,
                text.lines().next().unwrap_or("trapped").to_owned(),
            )
        }
    }
}

/// Lines of the plugin's stdout and stderr a trap's message quotes: the last ones it wrote in
/// the call (a Rust panic writes "thread '…' panicked at FILE:LINE:COL:" and its message).
pub const PANIC_LINES: usize = 4;
/// Characters kept of each quoted line.
const PANIC_LINE_CHARS: usize = 300;
/// Frames of the wasm backtrace a trap's message lists.
pub const BACKTRACE_FRAMES: usize = 12;

/// A trap's message with what the plugin last wrote to stdout or stderr during the call (its
/// panic message) on the first line, so that the verdict's reason and `run`'s summary carry
/// it: `wasm trap: …; the plugin wrote: thread '…' panicked at src/lib.rs:1:2: why`.
fn with_panic_message(message: &str, logs: &[LogLine]) -> String {
    let written: Vec<String> = logs
        .iter()
        .filter(|line| line.level == crate::host::LogLevel::Stdio)
        .map(|line| line.message.trim())
        .filter(|line| !line.is_empty() && !line.starts_with("note: run with `RUST_BACKTRACE"))
        .map(|line| {
            crate::model::json::shorten(&crate::model::json::one_line(line), PANIC_LINE_CHARS)
        })
        .collect();
    if written.is_empty() {
        return message.to_owned();
    }
    let last = &written[written.len().saturating_sub(PANIC_LINES)..];
    let (first, rest) = message.split_once('\n').unwrap_or((message, ""));
    let mut text = format!("{first}; the plugin wrote: {}", last.join(" "));
    if !rest.is_empty() {
        text.push('\n');
        text.push_str(rest);
    }
    text
}

/// The wasm backtrace of a trap, innermost frame first, as further lines of the message:
/// each frame's function name from the component's name section (`<wasm function N>`
/// without one), Rust names demangled, the panic machinery's frames left out.
fn backtrace_text(backtrace: &wasmtime::WasmBacktrace) -> String {
    let machinery = |name: &str| {
        [
            "core::",
            "std::",
            "alloc::",
            "__rust",
            "rust_panic",
            "panic_abort",
            "abort",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
    };
    let names: Vec<String> = backtrace
        .frames()
        .iter()
        .map(|frame| match frame.func_name() {
            Some(name) => format!("{:#}", rustc_demangle::demangle(name)),
            None => format!("<wasm function {}>", frame.func_index()),
        })
        .collect();
    if names.is_empty() {
        return String::new();
    }
    // Skip the innermost frames that only panic (when the plugin's own frames follow).
    let start = names.iter().position(|name| !machinery(name)).unwrap_or(0);
    let mut text = String::from(
        if backtrace.frames().iter().any(|f| f.func_name().is_some()) {
            "\nwasm backtrace:"
        } else {
            "\nwasm backtrace (the component has no name section):"
        },
    );
    for (index, name) in names.iter().enumerate().skip(start).take(BACKTRACE_FRAMES) {
        text.push_str(&format!(
            "\n  {index}: {}",
            crate::model::json::one_line(name)
        ));
    }
    if names.len() > start + BACKTRACE_FRAMES {
        text.push_str(&format!(
            "\n  … {} more frames",
            names.len() - start - BACKTRACE_FRAMES
        ));
    }
    text
}
