//! Environment invariance (issue #13): verification gives a plugin a deterministic world (the
//! clock at 2024-01-01 moving 1 ms per reading, seeded random numbers). Production does not.
//! So part of the corpus runs again under other environments (the clock in the past and the
//! future, a clock at real speed, another seed) and is compared with the deterministic run:
//!
//! - an output, drop or failure that differs is `run/environment-dependent`, unless the
//!   manifest declares the dependence (`usesClock`, `usesRandom`), when it is
//!   `run/environment-declared` (information);
//! - a plugin that takes far longer under a real-speed clock (busy-waiting "until 50 ms have
//!   passed", which a logical clock answers at once) is `run/real-time-cost`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::host::ClockSetting;
use crate::manifest::Manifest;
use crate::model::{FindingCollector, Location};
use crate::pipeline::{Disposition, Ingested, Pipeline};
use crate::plugin::{Artifact, LoadOptions, PluginSource};
use crate::stages::VerifyOptions;

/// Corpus events run again in each environment.
pub const SAMPLE: usize = 100;

/// 2000-01-01 and 2040-01-01: a clock well in the past and well in the future.
const PAST: u64 = 946_684_800;
const FUTURE: u64 = 2_208_988_800;

/// Under a real-speed clock a plugin may take this many times longer than under the logical
/// clock, and at least this much per event, before its real-time cost is a finding.
const REAL_TIME_FACTOR: u32 = 10;
const REAL_TIME_FLOOR_PER_EVENT: Duration = Duration::from_millis(5);
/// And at least this much in all: below it, a difference is a scheduler's hiccup on a shared
/// machine (10 ms for 2 events was seen), not a plugin waiting on the clock.
const REAL_TIME_FLOOR: Duration = Duration::from_millis(50);

/// Whether `events` events that took `logical` under the logical clock and `took` under a
/// clock at real speed wait on the clock.
fn real_time_cost(took: Duration, logical: Duration, events: u32) -> bool {
    took > logical * REAL_TIME_FACTOR
        && took > REAL_TIME_FLOOR_PER_EVENT * events
        && took > REAL_TIME_FLOOR
}

pub(crate) struct Environment {
    pub(crate) name: &'static str,
    pub(crate) clock: ClockSetting,
    seed_offset: u64,
    /// What the plugin declares when it depends on this part of the environment.
    declared_by: &'static str,
}

impl Environment {
    /// Verification's load options, in this environment.
    pub(crate) fn load_options(&self, base: &LoadOptions) -> LoadOptions {
        LoadOptions {
            clock: self.clock,
            random_seed: base.random_seed.wrapping_add(self.seed_offset),
            ..base.clone()
        }
    }

    /// The finding for a plugin that did something else in this environment: `difference`
    /// says what ("the plugin gave X where verification's environment gave Y").
    pub(crate) fn report(
        &self,
        findings: &mut FindingCollector,
        manifest: &Manifest,
        difference: &str,
        location: Location,
    ) {
        let declared = match self.declared_by {
            "usesClock" => manifest.uses_clock,
            _ => manifest.uses_random,
        };
        let rule = if declared {
            "run/environment-declared"
        } else {
            "run/environment-dependent"
        };
        let advice = if declared {
            format!(" (declared: {})", self.declared_by)
        } else {
            format!(
                "; if this is intended, declare `{}` in plugin.json",
                self.declared_by
            )
        };
        findings.add(
            rule,
            &format!("under {} {difference}{advice}", self.name),
            location,
        );
    }
}

pub(crate) const ENVIRONMENTS: [Environment; 4] = [
    Environment {
        name: "the clock starting in 2000",
        clock: ClockSetting {
            start_seconds: PAST,
            real_speed: false,
        },
        seed_offset: 0,
        declared_by: "usesClock",
    },
    Environment {
        name: "the clock starting in 2040",
        clock: ClockSetting {
            start_seconds: FUTURE,
            real_speed: false,
        },
        seed_offset: 0,
        declared_by: "usesClock",
    },
    Environment {
        name: "a clock at real speed",
        clock: ClockSetting {
            start_seconds: crate::host::CLOCK_START_SECONDS,
            real_speed: true,
        },
        seed_offset: 0,
        declared_by: "usesClock",
    },
    Environment {
        name: "another random seed",
        clock: ClockSetting {
            start_seconds: crate::host::CLOCK_START_SECONDS,
            real_speed: false,
        },
        seed_offset: 1,
        declared_by: "usesRandom",
    },
];

/// What one event came to, for comparison: output without the pipeline's bookkeeping (`None`:
/// dropped), and the failures' rules.
type Outcome = (Option<Value>, Vec<String>);

/// What one event came to.
fn outcome(ingested: &Ingested) -> Outcome {
    let output = match &ingested.result.disposition {
        Disposition::Emitted { event } => Some(crate::diff::normalized(event.clone())),
        Disposition::Dropped { .. } => None,
    };
    let mut failures: Vec<String> = crate::diff::failure_rules(&ingested.result).collect();
    failures.sort();
    (output, failures)
}

/// Runs the sample through a fresh pipeline of the plugin loaded with `load`; the outcomes and
/// the time taken.
fn run_sample(
    source: &PluginSource,
    manifest: &Manifest,
    artifact: &Artifact,
    load: &LoadOptions,
    options: &VerifyOptions,
) -> Option<(Vec<Outcome>, Duration)> {
    let plugin = crate::plugin::load_artifact(source, manifest.clone(), artifact, load).ok()?;
    let mut pipeline = Pipeline::new(vec![Arc::new(plugin)]);
    let started = Instant::now();
    let _ = pipeline.start();
    let outcomes = options
        .corpus
        .events
        .iter()
        .take(SAMPLE)
        .map(|sourced| outcome(&pipeline.ingest(sourced.event.clone())))
        .collect();
    let took = started.elapsed();
    let _ = pipeline.finish();
    Some((outcomes, took))
}

/// Compares the deterministic corpus results with each environment; returns how many
/// environments were compared.
pub fn check(
    source: &PluginSource,
    manifest: &Manifest,
    artifact: &Artifact,
    options: &VerifyOptions,
    baseline: &[Ingested],
    findings: &mut FindingCollector,
) -> usize {
    let expected: Vec<_> = baseline.iter().take(SAMPLE).map(outcome).collect();
    // The deterministic run timed the same way, for the real-time comparison.
    let Some((_, logical_time)) = run_sample(source, manifest, artifact, &options.load, options)
    else {
        return 0;
    };
    let mut compared = 0;
    for environment in &ENVIRONMENTS {
        let load = environment.load_options(&options.load);
        let Some((outcomes, took)) = run_sample(source, manifest, artifact, &load, options) else {
            continue;
        };
        compared += 1;
        let differing = expected
            .iter()
            .zip(&outcomes)
            .zip(&options.corpus.events)
            .find(|((a, b), _)| a != b);
        if let Some(((a, b), sourced)) = differing {
            let describe = |o: &Outcome| match o {
                (_, failures) if !failures.is_empty() => {
                    format!("failed ({})", failures.join(", "))
                }
                (Some(event), _) => crate::model::json::shorten(&event.to_string(), 200),
                (None, _) => "dropped".to_owned(),
            };
            environment.report(
                findings,
                manifest,
                &format!(
                    "the plugin gave {} where verification's environment gave {}",
                    describe(b),
                    describe(a)
                ),
                Location {
                    file: Some(sourced.file.to_path_buf()),
                    line: Some(sourced.line),
                    uuid: sourced.uuid().map(str::to_owned),
                    ..Location::default()
                },
            );
        }
        if environment.clock.real_speed {
            let events = expected.len().max(1) as u32;
            if real_time_cost(took, logical_time, events) {
                findings.add(
                    "run/real-time-cost",
                    &format!(
                        "{} events took {:.0} ms under a clock at real speed against {:.0} ms under the logical clock: the plugin waits on the clock, which production time makes real",
                        expected.len(),
                        took.as_secs_f64() * 1e3,
                        logical_time.as_secs_f64() * 1e3
                    ),
                    Location {
                        file: Some(artifact.path.clone()),
                        ..Location::default()
                    },
                );
            }
        }
    }
    compared
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_time_cost_needs_a_factor_a_per_event_floor_and_an_absolute_floor() {
        let ms = Duration::from_millis;
        // A hiccup on a loaded machine: 10 ms against 1 ms for 2 events.
        assert!(!real_time_cost(ms(10), ms(1), 2));
        // The busy-wait fixture: 50 ms per event.
        assert!(real_time_cost(ms(150), ms(3), 3));
        // Slow but not waiting: within the factor.
        assert!(!real_time_cost(ms(900), ms(100), 100));
        // Over the factor but under the per-event floor.
        assert!(!real_time_cost(ms(400), ms(10), 100));
        assert!(real_time_cost(ms(600), ms(10), 100));
    }
}
