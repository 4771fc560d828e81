//! The example library's ordered pipeline (`plugins/pipeline.toml`) against the sum of its
//! plugins alone, over the corpus sample.
//!
//! - `pipeline/library`: `Pipeline::process` (every rule of the reference pipeline, the host's
//!   JSON handling between steps, the `$plugins_*` bookkeeping);
//! - `pipeline/sum-of-plugins`: each plugin alone, one plugin after the other, with its own
//!   reused instance, called with exactly the events it is given inside the pipeline
//!   (downsampling drops about half, so the plugins after it see fewer): the plugins' own work
//!   and nothing of the pipeline around it. README reports `library / sum-of-plugins`.
//!
//! Two more split the difference:
//! - `pipeline/interleaved-calls`: the same calls in the pipeline's order (event by event,
//!   plugin after plugin), still without the pipeline: what the switching between seven
//!   instances costs;
//! - `pipeline/host-json`: the host's JSON work for the same steps alone: serialise each
//!   step's input from a `Value`, parse its output back into one.

use std::hint::black_box;

use benches::{Sample, chain_calls, instance, workspace_root};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use harness::pipeline::Pipeline;
use harness::pipeline::file::{PipelineFile, load_pipeline};
use serde_json::Value;

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

    let calls = chain_calls(&plugins, &sample.events);
    let mut inputs = vec![Vec::new(); plugins.len()];
    for (index, json) in &calls {
        inputs[*index].push(json.as_str());
    }
    eprintln!(
        "pipeline: {} calls per pass ({})",
        calls.len(),
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
                    black_box(instance.process_event(black_box(*json)).result.ok());
                }
            }
        })
    });
    group.bench_function("interleaved-calls", |b| {
        b.iter(|| {
            for (index, json) in &calls {
                black_box(instances[*index].process_event(black_box(json)).result.ok());
            }
        })
    });
    let values: Vec<Value> = calls
        .iter()
        .map(|(_, json)| serde_json::from_str(json).expect("chain inputs are JSON"))
        .collect();
    group.bench_function("host-json", |b| {
        b.iter(|| {
            for value in &values {
                let text = black_box(value).to_string();
                black_box(serde_json::from_str::<Value>(&text).expect("JSON"));
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
