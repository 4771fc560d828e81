//! The corpus stage: every corpus event through the plugin alone, in the reference pipeline.
//! Any failure rejects the plugin. Also measures fuel per event and peak memory, and runs the
//! corpus a second time through the same instance to catch linear memory that keeps growing.

use std::collections::BTreeMap;

use crate::corpus::SourcedEvent;
use crate::model::json::{human_count, quantile};
use crate::model::{FindingCollector, Location, Stage, StageReport};
use crate::pipeline::{Ingested, Pipeline, StepOutcome};
use crate::stages::{Subject, VerifyOptions};

pub fn run(subject: &mut Subject, options: &VerifyOptions) -> StageReport {
    let Some(plugin) = subject.plugin.clone() else {
        return StageReport::skipped(Stage::Corpus, "the plugin did not load");
    };
    let corpus = &options.corpus;
    let mut pipeline = Pipeline::new(vec![plugin.clone()]);
    let mut findings = FindingCollector::default();
    for (name, failure) in pipeline.start() {
        findings.add(
            "load/setup-failed",
            &format!("{name}: {}", failure.message),
            Location {
                file: Some(plugin.source.manifest_path()),
                ..Location::default()
            },
        );
    }
    let mut fuel = Vec::with_capacity(corpus.events.len());
    let mut results = Vec::with_capacity(corpus.events.len());
    let max_captures = plugin.manifest.max_captures() as usize;
    let mut captures: Vec<usize> = Vec::with_capacity(corpus.events.len());
    // Both passes (the soak pass runs the corpus again) count towards the progress shown.
    let steps = 2 * corpus.events.len() as u64;
    let step = |done: usize| {
        options.progress.emit(crate::stages::StageProgress::Step {
            stage: Stage::Corpus,
            done: done as u64,
            total: steps,
        })
    };
    for (index, sourced) in corpus.events.iter().enumerate() {
        step(index);
        let ingested = pipeline.ingest(sourced.event.clone());
        let captured = ingested.result.captured.len();
        captures.push(captured);
        if captured > max_captures {
            findings.add(
                "run/capture-flood",
                &format!(
                    "captured {captured} events for one input event, over maxCapturesPerEvent ({max_captures}): each runs through the whole pipeline again"
                ),
                Location {
                    file: Some(sourced.file.to_path_buf()),
                    line: Some(sourced.line),
                    uuid: sourced.uuid().map(str::to_owned),
                    ..Location::default()
                },
            );
        }
        for step in &ingested.result.steps {
            if !matches!(step.outcome, StepOutcome::Disabled) {
                fuel.push(step.fuel);
            }
        }
        add_failures(&mut findings, sourced, &ingested, "");
        results.push(ingested);
    }
    let summary = pipeline.summary();
    let peak_memory = memory_of(&pipeline);

    // Soak: the corpus again through the same instance. Linear memory never shrinks; a plugin
    // whose memory still grows on the second pass keeps something per event and would grow
    // until it dies. (Only when one instance served the whole first pass.)
    let replaced: u64 = summary
        .per_plugin
        .iter()
        .map(|(_, c)| c.instances_replaced)
        .sum();
    if replaced == 0 && !corpus.events.is_empty() {
        // A failure on the second pass (a leak that reaches the memory limit, say) is a
        // failure like any other.
        for (index, sourced) in corpus.events.iter().enumerate() {
            step(corpus.events.len() + index);
            let ingested = pipeline.ingest(sourced.event.clone());
            add_failures(&mut findings, sourced, &ingested, "on the second pass: ");
        }
        let after = memory_of(&pipeline);
        let tolerance = if plugin.javascript {
            JS_MEMORY_GROWTH_TOLERANCE
        } else {
            MEMORY_GROWTH_TOLERANCE
        };
        if after > peak_memory.saturating_add(tolerance) {
            findings.add(
                "run/memory-growth",
                &format!(
                    "linear memory kept growing on a second pass over the corpus: {} KiB after the first, {} KiB after the second (a leak grows until the memory limit stops the plugin)",
                    peak_memory / 1024,
                    after / 1024
                ),
                Location {
                    file: Some(plugin.component_path.clone()),
                    ..Location::default()
                },
            );
        }
    }
    // Finishing flushes a batch exporter's buffer and runs its waiting retries: a batch given
    // up (the plugin said `failed`, or retried until the retries ran out) is a finding.
    let finished = pipeline.finish();
    let export = finished
        .per_plugin
        .first()
        .and_then(|(_, counts)| counts.export.clone());
    if let Some(export) = &export {
        for given_up in &export.given_up_because {
            // `run/export-failed`, `run/export-retries-exhausted`, or the call's failure (a
            // trap or a limit in export-events, under its on-event rule).
            findings.add(
                given_up.rule,
                &given_up.message,
                Location {
                    file: Some(plugin.source.manifest_path()),
                    ..Location::default()
                },
            );
        }
    }
    subject.corpus_results = results;
    // The same events under other environments (issue #13): what production gives a plugin.
    let environments = match &subject.artifact {
        Some(artifact) => super::environments::check(
            &subject.source,
            &plugin.manifest,
            artifact,
            options,
            &subject.corpus_results,
            &mut findings,
        ),
        None => 0,
    };
    // The plugin's conformance suite, when it has one.
    let suite = subject.source.dir().join(crate::conformance::FILE);
    let mut conformance_cases = 0;
    if let (true, Some(artifact)) = (suite.is_file(), &subject.artifact) {
        match crate::conformance::run(
            &subject.source,
            &plugin.manifest,
            artifact,
            &suite,
            &options.load,
        ) {
            Ok((cases, mismatches)) => {
                conformance_cases = cases;
                for mismatch in mismatches {
                    findings.add(
                        "run/conformance",
                        &mismatch.message,
                        Location {
                            file: Some(mismatch.file),
                            line: Some(mismatch.line),
                            ..Location::default()
                        },
                    );
                }
            }
            Err(message) => findings.add(
                "run/conformance",
                &message,
                Location {
                    file: Some(suite.clone()),
                    ..Location::default()
                },
            ),
        }
    }
    fuel.sort_unstable();
    let counts = summary
        .per_plugin
        .first()
        .map(|(_, c)| c.clone())
        .unwrap_or_default();
    let mut metrics = BTreeMap::new();
    metrics.insert("events".into(), summary.events_in.into());
    metrics.insert("emitted".into(), summary.emitted.into());
    metrics.insert("dropped".into(), summary.dropped.into());
    metrics.insert("failed".into(), counts.failed.into());
    metrics.insert("onEventFailed".into(), counts.on_event_failed.into());
    metrics.insert("conformanceCases".into(), conformance_cases.into());
    metrics.insert("environmentsCompared".into(), environments.into());
    let captured_total: usize = captures.iter().sum();
    metrics.insert(
        "capturesPerEventMean".into(),
        (captured_total as f64 / captures.len().max(1) as f64).into(),
    );
    metrics.insert(
        "capturesPerEventMax".into(),
        captures.iter().copied().max().unwrap_or(0).into(),
    );
    metrics.insert("captured".into(), counts.captured.into());
    metrics.insert("fuelMedian".into(), quantile(&fuel, 0.5).into());
    metrics.insert("fuelP99".into(), quantile(&fuel, 0.99).into());
    metrics.insert("fuelMax".into(), fuel.last().copied().unwrap_or(0).into());
    metrics.insert("peakMemoryBytes".into(), peak_memory.into());
    if let Some(export) = &export {
        metrics.insert("exportBatches".into(), export.batches_exported.into());
        metrics.insert("exportEvents".into(), export.events_exported.into());
        metrics.insert("exportRetries".into(), export.retries.into());
        metrics.insert("exportGivenUp".into(), export.events_given_up.into());
    }
    let mut report = StageReport::new(
        Stage::Corpus,
        format!(
            "{} events: {} emitted, {} dropped, {} failed; fuel per event median {}, p99 {}, max {}; memory {} KiB",
            summary.events_in,
            summary.emitted,
            summary.dropped,
            counts.failed + counts.on_event_failed,
            human_count(quantile(&fuel, 0.5)),
            human_count(quantile(&fuel, 0.99)),
            human_count(fuel.last().copied().unwrap_or(0)),
            peak_memory / 1024,
        ) + &export.as_ref().map_or_else(String::new, |e| {
            format!(
                "; exported {} events in {} batches ({} retries, {} events given up)",
                e.events_exported, e.batches_exported, e.retries, e.events_given_up
            )
        }),
        findings.into_findings(corpus.events.len()),
    );
    report.metrics = metrics;
    report
}

/// Growth on the soak pass that is still tolerated (a few allocator pages).
const MEMORY_GROWTH_TOLERANCE: usize = 1 << 20;

/// The same for a JavaScript plugin, whose engine (SpiderMonkey) sizes its garbage-collected
/// heap from what it allocated before: a batch exporter's heap settles a few MiB above the
/// first pass's (3.1 MiB for js-webhook-exporter). A leak of a few KiB per event still shows
/// on the corpus's 1,042 events.
const JS_MEMORY_GROWTH_TOLERANCE: usize = 8 << 20;

/// The peak linear memory of the pipeline's one instance.
fn memory_of(pipeline: &Pipeline) -> usize {
    pipeline
        .peak_memory()
        .first()
        .map_or(0, |(_, bytes)| *bytes)
}

/// Every failure of an ingested corpus event (and of the events it captured), as findings at
/// the event's location.
fn add_failures(
    findings: &mut FindingCollector,
    sourced: &SourcedEvent,
    ingested: &Ingested,
    prefix: &str,
) {
    let location = || Location {
        file: Some(sourced.file.to_path_buf()),
        line: Some(sourced.line),
        uuid: sourced.uuid().map(str::to_owned),
        ..Location::default()
    };
    for result in ingested.results() {
        for step in &result.steps {
            if let StepOutcome::Failed { failure } = &step.outcome {
                findings.add(
                    failure.kind.rule(),
                    &format!("{prefix}{}", failure.message),
                    location(),
                );
            }
        }
        for (_, failure) in &result.on_event_failures {
            findings.add(
                failure.kind.on_event_rule(),
                &format!("{prefix}{}", failure.message),
                location(),
            );
        }
    }
}
