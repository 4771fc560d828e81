//! The SDK for PostHog event plugins written in Rust.
//!
//! A plugin is a type that implements [`Plugin`] (how it is set up from its config) and
//! [`Transform`] (change, enrich or drop events), [`Export`] (see every final event), or both;
//! or [`BatchExport`] (buffered batches of final events, retried on [`ExportError::Retry`]);
//! and, beside any of them, [`Scheduled`] tasks (PostHog's `runEveryMinute`, `runEveryHour`,
//! `runEveryDay`) exported with [`scheduled!`].
//! One macro turns it into a WebAssembly component that the harness can verify:
//!
//! ```
//! use posthog_plugin_sdk::{Config, Error, Event, Plugin, Transform};
//!
//! pub struct AddGreeting {
//!     greeting: String,
//! }
//!
//! impl Plugin for AddGreeting {
//!     fn setup(config: &Config) -> Result<Self, Error> {
//!         Ok(AddGreeting { greeting: config.get_or("greeting", "hello").to_owned() })
//!     }
//! }
//!
//! impl Transform for AddGreeting {
//!     fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
//!         event.set_property("greeting", self.greeting.clone());
//!         Ok(Some(event))
//!     }
//! }
//!
//! posthog_plugin_sdk::transform!(AddGreeting);
//!
//! // The same logic runs natively, which is how unit tests and benchmarks call it.
//! let mut plugin = AddGreeting::setup(&Config::default()).unwrap();
//! let event = Event::new("$pageview", "user-1");
//! let out = plugin.process_event(event).unwrap().unwrap();
//! assert_eq!(out.property("greeting"), Some(&"hello".into()));
//! ```
//!
//! Build the component with `cargo build --target wasm32-wasip2 --profile plugin`, or let
//! `cargo xtask verify plugins/<name>` build and verify it in one go.
//!
//! # Host capabilities
//! Each module below is one capability: [`log`] and [`attachments`] (always allowed),
//! [`storage`], [`cache`], [`capture`], [`http`] and [`geoip`]. A component imports only the capabilities its code calls, and the
//! harness rejects a plugin whose imports are not declared in `plugin.json`. Compiled natively
//! (for unit tests), the capabilities are served by an in-memory host that tests can inspect and
//! feed through [`testing`], and that holds the plugin to the harness's rules: the capabilities
//! its `plugin.json` declares, and the [`limits`] every host call is checked against.

mod config;
mod event;
pub mod host;
mod properties;
#[doc(hidden)]
pub mod rt;

pub use config::Config;
pub use event::{Error, Event};
pub use host::{attachments, cache, capture, geoip, http, log, storage, testing};
/// The contract's fixed limits (key and value sizes, captures, host calls and log bytes per
/// event, the clock's start), the same numbers the harness enforces.
pub use posthog_plugin_limits as limits;
pub use properties::Properties;
pub use serde_json::{Map, Value, json};
/// Re-exported so plugins can derive `Serialize`/`Deserialize` without their own dependency
/// (`#[serde(crate = "posthog_plugin_sdk::serde")]`).
pub use {serde, serde_json};

/// How a plugin is made from its config values. Called once per instance, before any event.
pub trait Plugin: Sized + 'static {
    fn setup(config: &Config) -> Result<Self, Error>;

    /// Called when the instance is retired (reload or shutdown).
    fn teardown(&mut self) {}
}

/// A plugin that changes events: return the event (changed or not), `None` to drop it, or an
/// error (the event then continues as it was and the plugin counts as failed).
pub trait Transform: Plugin {
    fn process_event(&mut self, event: Event) -> Result<Option<Event>, Error>;
}

/// A plugin that sees every final event after the chain (to send it somewhere); it cannot
/// change the event, and its errors are recorded without effect on the event.
pub trait Export: Plugin {
    fn on_event(&mut self, event: &Event) -> Result<(), Error>;
}

/// A plugin that exports buffered batches of final events (PostHog's `exportEvents`): the
/// harness buffers the events it would give `on_event`, flushes them as one batch by size
/// (`exportEventsBufferBytes`, default 1 MiB) or time (`exportEventsBufferSeconds`, default
/// 10 s), and retries a batch that returns [`ExportError::Retry`] with backoff, up to a bound.
pub trait BatchExport: Plugin {
    fn export_events(&mut self, events: &[Event]) -> Result<(), ExportError>;
}

/// A plugin with scheduled tasks (PostHog's `runEveryMinute`, `runEveryHour`, `runEveryDay`):
/// implement the ones it has and name them in [`scheduled!`], which exports exactly those, next
/// to the plugin's [`transform!`] (or other) export. The harness runs each at the start of its
/// minute, hour or day (UTC), with the limits of one event; `verify` runs a simulated day.
///
/// ```
/// use posthog_plugin_sdk::{Config, Error, Plugin, Scheduled};
///
/// pub struct Heartbeat;
/// impl Plugin for Heartbeat {
///     fn setup(_: &Config) -> Result<Self, Error> { Ok(Heartbeat) }
/// }
/// impl Scheduled for Heartbeat {
///     fn run_every_hour(&mut self) -> Result<(), Error> {
///         posthog_plugin_sdk::log::info("still here");
///         Ok(())
///     }
/// }
/// posthog_plugin_sdk::scheduled!(Heartbeat, run_every_hour);
/// ```
pub trait Scheduled: Plugin {
    fn run_every_minute(&mut self) -> Result<(), Error> {
        Ok(())
    }
    fn run_every_hour(&mut self) -> Result<(), Error> {
        Ok(())
    }
    fn run_every_day(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// Why a batch was not exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportError {
    /// Try this batch again later (PostHog's `RetryError`): a rate limit, a server down for now.
    Retry(String),
    /// Give this batch up: it will never be accepted.
    Failed(String),
}

impl ExportError {
    pub fn retry(message: impl std::fmt::Display) -> Self {
        ExportError::Retry(message.to_string())
    }

    pub fn failed(message: impl std::fmt::Display) -> Self {
        ExportError::Failed(message.to_string())
    }
}

/// Any other error gives the batch up, as a plain error did in PostHog.
impl From<Error> for ExportError {
    fn from(error: Error) -> Self {
        ExportError::Failed(error.to_string())
    }
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Retry(message) => write!(f, "retry: {message}"),
            ExportError::Failed(message) => write!(f, "failed: {message}"),
        }
    }
}

/// Generated bindings, one module per world of `wit/plugin.wit`. Not part of the API.
#[doc(hidden)]
#[allow(clippy::all, missing_docs, unsafe_op_in_unsafe_fn)]
pub mod __bindings {
    pub mod host {
        wit_bindgen::generate!({
            world: "host",
            path: "../wit",
            generate_all,
        });
    }
    /// The bindings of one world that includes `host`, its imports taken from `host`'s.
    macro_rules! world {
        ($module:ident, $world:literal, $export:literal, $path:literal) => {
            pub mod $module {
                wit_bindgen::generate!({
                    world: $world,
                    path: "../wit",
                    with: {
                        "posthog:plugin/log@0.1.0": crate::__bindings::host::posthog::plugin::log,
                        "posthog:plugin/storage@0.1.0": crate::__bindings::host::posthog::plugin::storage,
                        "posthog:plugin/cache@0.1.0": crate::__bindings::host::posthog::plugin::cache,
                        "posthog:plugin/capture@0.1.0": crate::__bindings::host::posthog::plugin::capture,
                        "posthog:plugin/http@0.1.0": crate::__bindings::host::posthog::plugin::http,
                        "posthog:plugin/attachments@0.1.0": crate::__bindings::host::posthog::plugin::attachments,
                        "posthog:plugin/geoip@0.1.0": crate::__bindings::host::posthog::plugin::geoip,
                    },
                    pub_export_macro: true,
                    export_macro_name: $export,
                    default_bindings_module: $path,
                });
            }
        };
    }
    world!(
        transform,
        "transform",
        "export_transform",
        "::posthog_plugin_sdk::__bindings::transform"
    );
    world!(
        exporter,
        "exporter",
        "export_exporter",
        "::posthog_plugin_sdk::__bindings::exporter"
    );
    world!(
        transform_and_export,
        "transform-and-export",
        "export_transform_and_export",
        "::posthog_plugin_sdk::__bindings::transform_and_export"
    );
    world!(
        every_minute,
        "every-minute",
        "export_every_minute",
        "::posthog_plugin_sdk::__bindings::every_minute"
    );
    world!(
        every_hour,
        "every-hour",
        "export_every_hour",
        "::posthog_plugin_sdk::__bindings::every_hour"
    );
    world!(
        every_day,
        "every-day",
        "export_every_day",
        "::posthog_plugin_sdk::__bindings::every_day"
    );
    #[cfg(feature = "batch-export")]
    world!(
        batch_exporter,
        "batch-exporter",
        "export_batch_exporter",
        "::posthog_plugin_sdk::__bindings::batch_exporter"
    );
}

/// Exports a [`BatchExport`] plugin as a component (the `batch-exporter` world). Needs the
/// SDK's `batch-export` feature (`posthog-plugin-sdk = { workspace = true, features =
/// ["batch-export"] }`).
#[cfg(not(feature = "batch-export"))]
#[macro_export]
macro_rules! batch_export {
    ($plugin:ty) => {
        compile_error!(
            "batch_export! needs the SDK's `batch-export` feature: posthog-plugin-sdk = { workspace = true, features = [\"batch-export\"] }"
        );
    };
}

/// Exports a [`BatchExport`] plugin as a component (the `batch-exporter` world).
#[cfg(feature = "batch-export")]
#[macro_export]
macro_rules! batch_export {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        mod __posthog_plugin_component {
            use super::*;
            use $crate::__bindings::batch_exporter::ExportError as WitExportError;
            struct Component;
            impl $crate::__bindings::batch_exporter::Guest for Component {
                fn setup(config: Vec<(String, String)>) -> Result<(), String> {
                    $crate::rt::setup::<$plugin>(config)
                }
                fn export_events(events: String) -> Result<(), WitExportError> {
                    $crate::rt::export_events::<$plugin>(events).map_err(|e| match e {
                        $crate::ExportError::Retry(m) => WitExportError::Retry(m),
                        $crate::ExportError::Failed(m) => WitExportError::Failed(m),
                    })
                }
                fn teardown() {
                    $crate::rt::teardown::<$plugin>()
                }
            }
            $crate::__bindings::batch_exporter::export_batch_exporter!(Component);
        }
    };
}

/// Exports a [`Scheduled`] plugin's tasks, the ones named (`run_every_minute`,
/// `run_every_hour`, `run_every_day`), each as its world of `wit/plugin.wit`. Use it beside the
/// plugin's other export macro; a plugin with tasks only may use it alone.
#[macro_export]
macro_rules! scheduled {
    ($plugin:ty $(, $task:ident)+ $(,)?) => {
        $( $crate::__scheduled_task!($plugin, $task); )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __scheduled_task {
    ($plugin:ty, run_every_minute) => {
        $crate::__scheduled_task!(@ $plugin, every_minute, run_every_minute, export_every_minute);
    };
    ($plugin:ty, run_every_hour) => {
        $crate::__scheduled_task!(@ $plugin, every_hour, run_every_hour, export_every_hour);
    };
    ($plugin:ty, run_every_day) => {
        $crate::__scheduled_task!(@ $plugin, every_day, run_every_day, export_every_day);
    };
    (@ $plugin:ty, $world:ident, $task:ident, $export:ident) => {
        #[cfg(target_arch = "wasm32")]
        mod $world {
            use super::*;
            struct Component;
            impl $crate::__bindings::$world::Guest for Component {
                fn $task() -> Result<(), String> {
                    $crate::rt::run_task::<$plugin>(<$plugin as $crate::Scheduled>::$task)
                }
            }
            $crate::__bindings::$world::$export!(Component);
        }
    };
    ($plugin:ty, $other:ident) => {
        compile_error!(concat!(
            "unknown scheduled task `",
            stringify!($other),
            "`: name run_every_minute, run_every_hour or run_every_day"
        ));
    };
}

/// Exports a [`Transform`] plugin as a component (the `transform` world). Expands to nothing
/// outside WebAssembly, so the same crate builds natively for tests.
#[macro_export]
macro_rules! transform {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        mod __posthog_plugin_component {
            use super::*;
            struct Component;
            impl $crate::__bindings::transform::Guest for Component {
                fn setup(config: Vec<(String, String)>) -> Result<(), String> {
                    $crate::rt::setup::<$plugin>(config)
                }
                fn process_event(event: String) -> Result<Option<String>, String> {
                    $crate::rt::process_event::<$plugin>(event)
                }
                fn teardown() {
                    $crate::rt::teardown::<$plugin>()
                }
            }
            $crate::__bindings::transform::export_transform!(Component);
        }
    };
}

/// Exports an [`Export`] plugin as a component (the `exporter` world).
#[macro_export]
macro_rules! export {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        mod __posthog_plugin_component {
            use super::*;
            struct Component;
            impl $crate::__bindings::exporter::Guest for Component {
                fn setup(config: Vec<(String, String)>) -> Result<(), String> {
                    $crate::rt::setup::<$plugin>(config)
                }
                fn on_event(event: String) -> Result<(), String> {
                    $crate::rt::on_event::<$plugin>(event)
                }
                fn teardown() {
                    $crate::rt::teardown::<$plugin>()
                }
            }
            $crate::__bindings::exporter::export_exporter!(Component);
        }
    };
}

/// Exports a plugin that is both a [`Transform`] and an [`Export`].
#[macro_export]
macro_rules! transform_and_export {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        mod __posthog_plugin_component {
            use super::*;
            struct Component;
            impl $crate::__bindings::transform_and_export::Guest for Component {
                fn setup(config: Vec<(String, String)>) -> Result<(), String> {
                    $crate::rt::setup::<$plugin>(config)
                }
                fn process_event(event: String) -> Result<Option<String>, String> {
                    $crate::rt::process_event::<$plugin>(event)
                }
                fn on_event(event: String) -> Result<(), String> {
                    $crate::rt::on_event::<$plugin>(event)
                }
                fn teardown() {
                    $crate::rt::teardown::<$plugin>()
                }
            }
            $crate::__bindings::transform_and_export::export_transform_and_export!(Component);
        }
    };
}
