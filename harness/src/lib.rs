//! The harness that decides whether a PostHog event-processing plugin may be installed.
//!
//! A plugin is a WebAssembly component implementing `wit/plugin.wit`. [`verify`] runs it
//! through a fixed list of stages and returns one verdict per plugin; [`pipeline`] is the
//! ordered reference pipeline with PostHog's plugin-server semantics; [`cli`] is the command
//! line shared by the `harness` binary and `cargo xtask`. ARCHITECTURE.md has the map.

pub mod cargo_build;
pub mod cli;
pub mod contract;
pub mod corpus;
pub mod diff;
pub mod error;
pub mod fixtures;
pub mod gate;
pub mod generators;
pub mod host;
pub mod instance;
pub mod limits;
pub mod lock;
pub mod manifest;
pub mod order;
pub mod pipeline;
pub mod plugin;
pub mod report;
pub mod rules;
pub mod schema;
pub mod sources;
pub mod stages;
pub mod static_analysis;
pub mod verify;
