//! The budget stage: fuel is the measure of cost because it is deterministic for one engine
//! version (wall-clock time on shared machines is not). The corpus stage's fuel per event
//! (median, p99, max) is compared with the plugin's budget; then events of growing size show
//! whether the cost grows faster than the event (a quadratic plugin stalls ingestion on the
//! first large event).

use serde_json::{Map, Value, json};

use crate::model::json::{human_count, quantile};
use crate::model::{Finding, Location, Stage, StageReport};
use crate::pipeline::{Pipeline, StepOutcome};
use crate::stages::{Subject, VerifyOptions};

/// Sizes (bytes of properties, roughly) of the growth series.
const GROWTH_SIZES: [usize; 7] = [
    1 << 10,
    2 << 10,
    4 << 10,
    8 << 10,
    16 << 10,
    32 << 10,
    64 << 10,
];

/// Above this exponent (fuel ~ size^k over the larger half of the series) growth is
/// super-linear. Linear code measures about 1.0; quadratic about 2.
pub const MAX_GROWTH_EXPONENT: f64 = 1.4;

/// Below this much fuel at the largest size, growth is not worth judging.
const GROWTH_FLOOR: u64 = 1_000_000;

pub fn run(subject: &mut Subject, options: &VerifyOptions) -> StageReport {
    let Some(plugin) = subject.plugin.clone() else {
        return StageReport::skipped(Stage::Budget, "the plugin did not load");
    };
    if subject.corpus_results.len() != options.corpus.events.len() {
        return StageReport::skipped(Stage::Budget, "the corpus stage did not run");
    }
    if plugin.exports.process_event.is_none() {
        return StageReport::skipped(Stage::Budget, "the plugin has no process-event to measure");
    }
    let limits = *plugin.limits();
    // Fuel per event, and each event's fuel over its own budget (the base plus the per-KiB
    // allowance for its size): the cost model that `run` caps calls with.
    let mut fuel: Vec<u64> = Vec::new();
    let mut over: Vec<(u64, u64, &crate::corpus::SourcedEvent)> = Vec::new();
    for (sourced, ingested) in options.corpus.events.iter().zip(&subject.corpus_results) {
        let size = sourced.event.to_string().len();
        for step in &ingested.result.steps {
            if matches!(step.outcome, StepOutcome::Disabled) {
                continue;
            }
            fuel.push(step.fuel);
            let allowed = limits.budget_for(size);
            if step.fuel > allowed {
                over.push((step.fuel, allowed, sourced));
            }
        }
    }
    fuel.sort_unstable();
    let budget = limits.fuel_budget;
    let (median, p99, max) = (
        quantile(&fuel, 0.5),
        quantile(&fuel, 0.99),
        fuel.last().copied().unwrap_or(0),
    );
    let figures = format!(
        "fuel per event median {}, p99 {}, max {} against a budget of {} + {} per KiB (wasmtime {})",
        human_count(median),
        human_count(p99),
        human_count(max),
        human_count(budget),
        human_count(limits.fuel_per_kib),
        crate::model::WASMTIME_VERSION
    );
    let location = Location {
        file: Some(plugin.source.manifest_path()),
        pointer: Some("/limits/fuelPerEvent".into()),
        ..Location::default()
    };
    let mut findings = Vec::new();
    let first_over = over
        .iter()
        .max_by_key(|(fuel, allowed, _)| fuel - allowed)
        .map(|(fuel, allowed, sourced)| {
            format!(
                "; {} spent {} against its {}",
                sourced.location(),
                human_count(*fuel),
                human_count(*allowed)
            )
        });
    if over.len() * 100 > fuel.len().max(1) {
        findings.push(
            Finding::new(
                "budget/fuel-p99",
                format!(
                    "{} of {} events are over their budget (more than 1%): {figures}{}",
                    over.len(),
                    fuel.len(),
                    first_over.unwrap_or_default()
                ),
            )
            .at(location.clone()),
        );
    } else if !over.is_empty() {
        findings.push(
            Finding::new(
                "budget/fuel-max",
                format!(
                    "{} event(s) over their budget: {figures}{}",
                    over.len(),
                    first_over.unwrap_or_default()
                ),
            )
            .at(location.clone()),
        );
    }

    let growth = growth_series(&plugin);
    let exponent = growth
        .as_ref()
        .ok()
        .and_then(|series| growth_exponent(series));
    if let (Ok(series), Some(exponent)) = (&growth, exponent) {
        let largest = series.last().map_or(0, |(_, fuel)| *fuel);
        if exponent > MAX_GROWTH_EXPONENT && largest > GROWTH_FLOOR {
            let points: Vec<String> = series
                .iter()
                .map(|(size, fuel)| format!("{} KiB: {}", size >> 10, human_count(*fuel)))
                .collect();
            findings.push(
                Finding::new(
                    "budget/super-linear",
                    format!(
                        "fuel grows like size^{exponent:.1} with the event's size (at most ^{MAX_GROWTH_EXPONENT} allowed): {}",
                        points.join(", ")
                    ),
                )
                .at(location),
            );
        }
    }
    let growth_note = match (&growth, exponent) {
        (Ok(_), Some(exponent)) => format!("; growth ~size^{exponent:.2}"),
        (Err(why), _) => format!("; growth not measured ({why})"),
        (Ok(_), None) => String::new(),
    };
    let mut stage = StageReport::new(Stage::Budget, format!("{figures}{growth_note}"), findings);
    stage.metrics.insert("fuelMedian".into(), median.into());
    stage.metrics.insert("fuelP99".into(), p99.into());
    stage.metrics.insert("fuelMax".into(), max.into());
    stage.metrics.insert("fuelBudget".into(), budget.into());
    stage
        .metrics
        .insert("fuelHistogram".into(), fuel_histogram(&fuel));
    stage
        .metrics
        .insert("fuelPerKib".into(), limits.fuel_per_kib.into());
    stage
        .metrics
        .insert("eventsOverBudget".into(), over.len().into());
    stage.metrics.insert(
        "wasmtimeVersion".into(),
        crate::model::WASMTIME_VERSION.into(),
    );
    if let Some(exponent) = exponent {
        stage
            .metrics
            .insert("growthExponent".into(), exponent.into());
    }
    if let Ok(series) = &growth {
        stage.metrics.insert(
            "growthSeries".into(),
            series
                .iter()
                .map(|(size, fuel)| json!({"bytes": size, "fuel": fuel}))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    stage
}

/// Bins of the histogram of fuel per event.
pub const HISTOGRAM_BINS: usize = 24;

/// The histogram of fuel per event (`fuel` sorted): `edges` (bins + 1 figures, geometric from
/// the least to the most fuel, so that a long tail stays visible) and `counts` per bin; each
/// bin holds the events from its lower edge up to (not including) its upper edge, the last
/// bin also its upper edge. Empty when no event ran.
pub fn fuel_histogram(fuel: &[u64]) -> Value {
    let (Some(&min), Some(&max)) = (fuel.first(), fuel.last()) else {
        return json!({"edges": [], "counts": []});
    };
    let low = (min.max(1)) as f64;
    let high = (max.max(1)) as f64;
    let mut edges: Vec<u64> = (0..=HISTOGRAM_BINS)
        .map(|i| (low * (high / low).powf(i as f64 / HISTOGRAM_BINS as f64)).round() as u64)
        .collect();
    edges[0] = min;
    edges[HISTOGRAM_BINS] = max;
    edges.dedup();
    if edges.len() == 1 {
        edges.push(max);
    }
    let bins = edges.len() - 1;
    let mut counts = vec![0u64; bins];
    for &f in fuel {
        let bin = edges[1..].partition_point(|&edge| edge <= f).min(bins - 1);
        counts[bin] += 1;
    }
    json!({"edges": edges, "counts": counts})
}

/// A valid custom event whose properties take about `bytes` bytes: many short string
/// properties, the shape that makes per-property work visible.
pub fn event_of_size(bytes: usize) -> Value {
    let mut properties = Map::new();
    for i in 0..bytes / 64 {
        properties.insert(
            format!("property_{i:05}"),
            Value::String(format!("value {i:038}")),
        );
    }
    json!({
        "event": "growth probe",
        "distinct_id": "growth-probe",
        "uuid": "00000000-0000-4000-8000-00000000face",
        "team_id": 1,
        "timestamp": "2024-01-01T00:00:00.000Z",
        "properties": properties,
    })
}

/// Fuel for one event of each size, through one reused instance; an error when a call fails.
fn growth_series(
    plugin: &std::sync::Arc<crate::plugin::LoadedPlugin>,
) -> Result<Vec<(usize, u64)>, String> {
    let mut pipeline = Pipeline::new(vec![plugin.clone()]);
    let mut series = Vec::new();
    for size in GROWTH_SIZES {
        let result = pipeline.process(event_of_size(size));
        let Some(step) = result.steps.first() else {
            return Err("the plugin did not run".into());
        };
        if let StepOutcome::Failed { failure } = &step.outcome {
            return Err(format!("{} at {} KiB", failure.kind.rule(), size >> 10));
        }
        series.push((size, step.fuel));
    }
    let _ = pipeline.finish();
    Ok(series)
}

/// The least-squares slope of ln(fuel) over ln(size) across the larger half of the series,
/// where the fixed cost of a call no longer hides how the work grows.
pub fn growth_exponent(series: &[(usize, u64)]) -> Option<f64> {
    let points: Vec<(f64, f64)> = series[series.len() / 2..]
        .iter()
        .filter(|(_, fuel)| *fuel > 0)
        .map(|(size, fuel)| ((*size as f64).ln(), (*fuel as f64).ln()))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let covariance: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let variance: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    (variance > 0.0).then(|| covariance / variance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_quadratic_series_have_the_exponents_they_should() {
        let linear: Vec<(usize, u64)> = GROWTH_SIZES
            .iter()
            .map(|&s| (s, 30_000 + 100 * s as u64))
            .collect();
        let quadratic: Vec<(usize, u64)> = GROWTH_SIZES
            .iter()
            .map(|&s| (s, (s as u64).pow(2)))
            .collect();
        let linear = growth_exponent(&linear).unwrap();
        assert!((0.9..1.1).contains(&linear), "{linear}");
        assert!((growth_exponent(&quadratic).unwrap() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn the_fuel_histogram_counts_every_event_once_in_geometric_bins() {
        let fuel: Vec<u64> = vec![100, 100, 150, 1_000, 10_000, 99_000, 100_000];
        let histogram = fuel_histogram(&fuel);
        let edges: Vec<u64> = serde_json::from_value(histogram["edges"].clone()).unwrap();
        let counts: Vec<u64> = serde_json::from_value(histogram["counts"].clone()).unwrap();
        assert_eq!(edges.len(), HISTOGRAM_BINS + 1);
        assert_eq!((edges[0], edges[HISTOGRAM_BINS]), (100, 100_000));
        assert!(edges.windows(2).all(|w| w[0] < w[1]), "{edges:?}");
        assert_eq!(counts.iter().sum::<u64>(), fuel.len() as u64);
        assert_eq!(counts[0], 2, "{counts:?}");
        assert_eq!(counts[HISTOGRAM_BINS - 1], 2, "{counts:?}");

        let same = fuel_histogram(&[7, 7, 7]);
        assert_eq!(same["edges"], json!([7, 7]));
        assert_eq!(same["counts"], json!([3]));
        assert_eq!(fuel_histogram(&[])["counts"], json!([]));
    }

    #[test]
    fn probe_events_have_about_the_size_asked() {
        for size in GROWTH_SIZES {
            let bytes = event_of_size(size)["properties"].to_string().len();
            assert!(bytes >= size && bytes < size * 2, "{size}: {bytes}");
        }
    }
}
