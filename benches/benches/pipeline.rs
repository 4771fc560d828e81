//! The example library's ordered pipeline (`plugins/pipeline.toml`) against the sum of its
//! plugins alone.
//!
//! - `pipeline/library`: `Pipeline::process` over the corpus sample (every rule of the
//!   reference pipeline, the host's JSON handling between steps, the bookkeeping);
//! - `pipeline/sum-of-plugins`: each plugin alone, with its own reused instance, called with
//!   exactly the events it is given inside the pipeline (downsampling drops about half, so the
//!   plugins after it see fewer): the plugins' own work, with nothing of the pipeline around it.
//!
//! README reports `pipeline/library` / `pipeline/sum-of-plugins`.

use std::hint::black_box;

use benches::{Sample, chain_inputs, instance, workspace_root};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use harness::cli::{PipelineFile, load_pipeline};
use harness::pipeline::Pipeline;

fn pipeline(c: &mut Criterion) {
    let sample = Sample::load();
    let file = workspace_root().join("plugins/pipeline.toml");
    let entries = PipelineFile::load(&file).expect("the pipeline file loads");
    let plugins = load_pipeline(&entries, 0).expect("the library's pipeline loads");

    let mut group = c.benchmark_group("pipeline");
    group
        .throughput(Throughput::Elements(sample.len()))
        .sampling_mode(SamplingMode::Flat);

    let mut library = Pipeline::new(plugins.clone());
    assert!(library.start().is_empty(), "every plugin sets up");
    group.bench_function("library", |b| {
        b.iter_batched(
            || sample.events.clone(),
            |events| {
                for event in events {
                    black_box(library.process(event));
                }
            },
            BatchSize::LargeInput,
        )
    });
    let summary = library.summary();
    assert!(summary.adds_up());
    for (name, counts) in &summary.per_plugin {
        if counts.failed > 0 {
            eprintln!(
                "pipeline/library: {name} failed {:?}",
                counts.failures_by_rule
            );
        }
    }

    let inputs = chain_inputs(&plugins, &sample.events);
    let calls: usize = inputs.iter().map(Vec::len).sum();
    eprintln!(
        "pipeline/sum-of-plugins: {calls} calls per pass ({})",
        plugins
            .iter()
            .zip(&inputs)
            .map(|(plugin, inputs)| format!("{} {}", plugin.name, inputs.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut instances: Vec<_> = plugins.iter().map(|plugin| instance(plugin)).collect();
    group.bench_function("sum-of-plugins", |b| {
        b.iter(|| {
            for (instance, inputs) in instances.iter_mut().zip(&inputs) {
                for json in inputs {
                    black_box(instance.process_event(black_box(json)).result.ok());
                }
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = benches::config();
    targets = pipeline
}
criterion_main!(benches);
