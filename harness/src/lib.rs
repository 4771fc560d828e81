//! The harness that decides whether a PostHog event-processing plugin may be installed.
//!
//! A plugin is a WebAssembly component implementing `wit/plugin.wit`. The layers, bottom to
//! top (ARCHITECTURE.md has the map):
//!
//! - [`model`]: findings, the one rule table, stages, verdicts, limits, JSON helpers; no
//!   dependency on anything else in the crate.
//! - the runtime: [`host`], [`instance`], [`plugin`] (loading), [`pipeline`] (the reference
//!   pipeline with PostHog's plugin-server semantics), with [`manifest`], [`corpus`],
//!   [`schema`], [`fixtures`], [`geoip`], [`sources`], [`cargo_build`], [`lock`].
//! - the verbs as library functions returning data: [`verify::verify_library`] (and
//!   [`verify::verify_plugin`] with its [`stages`]), [`run::run_events`],
//!   [`diff::diff_plugins`], [`order::analyse`].
//! - [`report`]: the only place results become text.
//! - [`cli`]: clap and exit codes, used by the `harness` binary and `cargo xtask` only.

pub mod build_record;
pub mod cargo_build;
pub mod cli;
pub mod conformance;
pub mod contract;
pub mod corpus;
pub mod corpus_import;
pub mod corpus_record;
pub mod diff;
pub mod error;
pub mod fixtures;
pub mod gate;
pub mod generators;
pub mod geoip;
pub mod host;
pub mod instance;
pub mod js_build;
pub mod js_deps;
pub mod js_preinit;
pub mod lock;
pub mod manifest;
pub mod model;
pub mod npm;
pub mod order;
pub mod pipeline;
pub mod plugin;
pub mod report;
pub mod run;
pub mod runtime;
pub mod schema;
pub mod sources;
pub mod stages;
pub mod static_analysis;
pub mod verify;

pub use error::HarnessError;
pub use model::{Finding, Rule, Severity, Stage, Verdict};
pub use run::{RunConfig, run_events};
pub use verify::{LibraryConfig, LibraryOutcome, verify_library, verify_plugin};
