//! The harness's integration tests, in one binary: wasmtime and cranelift are linked once
//! (a binary per file took minutes each on two cores). One module per area; `common` holds
//! the helpers they share.

mod cli;
mod common;
mod conformance;
mod diff_order;
mod examples;
mod export;
mod geoip;
mod hardening;
mod html_report;
mod js_deps;
mod js_plugins;
mod load;
mod loopback;
mod npm;
mod pipeline;
mod property_snapshot;
mod recorded;
mod rules;
mod runtime;
mod schemas;
mod sources;
mod static_analysis;
mod tasks;
mod trust_boundary;
mod verify_stages;
