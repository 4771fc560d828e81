//! The bench stage (`verify --bench`): a short throughput measurement of the plugin over the
//! corpus with a reused instance, reported in events/s and MB/s. Wall-clock figures are noisy
//! on shared machines, so this is not a gate unless `--min-throughput` asks for one; the
//! criterion benches (`cargo bench -p benches`) are the careful measurement.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::model::{Finding, Stage, StageReport};
use crate::pipeline::Pipeline;
use crate::stages::{Subject, VerifyOptions};

/// How to measure, and what to require.
#[derive(Clone, Copy, Debug, Default)]
pub struct BenchOptions {
    pub enabled: bool,
    /// Events per second below which the plugin is rejected (`bench/throughput`).
    pub min_throughput: Option<f64>,
}

/// Timed passes over the corpus; the median is reported.
const PASSES: usize = 5;
/// Each pass runs the corpus at least this long (repeating it) so that timer noise is small.
const MIN_PASS: Duration = Duration::from_millis(200);

pub fn run(subject: &mut Subject, options: &VerifyOptions) -> StageReport {
    if !options.bench.enabled {
        return StageReport::skipped(Stage::Bench, "not asked for (--bench)");
    }
    let Some(plugin) = subject.plugin.clone() else {
        return StageReport::skipped(Stage::Bench, "the plugin did not load");
    };
    let events: Vec<Value> = options
        .corpus
        .events
        .iter()
        .map(|e| e.event.clone())
        .collect();
    if events.is_empty() {
        return StageReport::skipped(Stage::Bench, "the corpus is empty");
    }
    let bytes: usize = events.iter().map(|e| e.to_string().len()).sum();
    let mut pipeline = Pipeline::new(vec![plugin]);
    let _ = pipeline.start();
    // Warm up: one pass, so that the instance's memory has grown and caches are warm.
    for event in &events {
        pipeline.process(event.clone());
    }
    let mut rates = Vec::with_capacity(PASSES);
    for _ in 0..PASSES {
        let started = Instant::now();
        let mut processed = 0usize;
        while started.elapsed() < MIN_PASS {
            for event in &events {
                pipeline.process(event.clone());
            }
            processed += events.len();
        }
        rates.push(processed as f64 / started.elapsed().as_secs_f64());
    }
    let _ = pipeline.finish();
    rates.sort_by(f64::total_cmp);
    let events_per_second = rates[rates.len() / 2];
    let megabytes_per_second = events_per_second * (bytes as f64 / events.len() as f64) / 1e6;
    let summary = format!(
        "{events_per_second:.0} events/s, {megabytes_per_second:.1} MB/s (median of {PASSES} passes, instance reused, this machine)"
    );
    let mut findings = Vec::new();
    if let Some(minimum) = options.bench.min_throughput
        && events_per_second < minimum
    {
        findings.push(Finding::new(
            "bench/throughput",
            format!("{events_per_second:.0} events/s, under the required {minimum:.0}"),
        ));
    }
    let mut stage = StageReport::new(Stage::Bench, summary, findings);
    stage
        .metrics
        .insert("eventsPerSecond".into(), events_per_second.into());
    stage
        .metrics
        .insert("megabytesPerSecond".into(), megabytes_per_second.into());
    stage
}
