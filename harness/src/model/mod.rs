//! The bottom layer: what the harness reports, with no dependency on anything else in the
//! crate. Findings and the one rule table, stages and verdicts, limits, JSON helpers.

pub mod finding;
pub mod json;
pub mod limits;
pub mod rules;
pub mod stage;
pub mod verdict;

pub use finding::{EXAMPLES_PER_FINDING, Example, Finding, FindingCollector, Location, Severity};
pub use rules::Rule;
pub use stage::{Stage, StageReport, StageStatus};
pub use verdict::{ComponentInfo, Conditions, ENVIRONMENT_POLICY, Verdict};

/// The harness's version, as reports and lock files record it.
pub const HARNESS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The wasmtime version the harness is built with (a test checks it against Cargo.lock): fuel
/// figures are deterministic for one engine version, so reports and the lock record it.
pub const WASMTIME_VERSION: &str = "48.0.8";
