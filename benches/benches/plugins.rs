//! Each example plugin over the corpus sample, with one instance reused for every event
//! (`instance-reused/*`, events/s; `instance-reused-bytes/*`, bytes/s), and the same plugin's
//! logic compiled natively doing the same work (`native/*`: parse the event from JSON,
//! `process_event`, serialise it back), which shows the price of the sandbox. The JavaScript
//! examples (`js-*`) are in `instance-reused*` only.

use std::hint::black_box;

use benches::{EXAMPLES, Sample, all_examples, instance, load_example, native};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serde_json::Value;

fn plugins(c: &mut Criterion) {
    let sample = Sample::load();
    let plugins: Vec<_> = EXAMPLES.iter().map(|name| load_example(name)).collect();

    // The component and the native build do the same work: same output for every event.
    for (name, plugin) in EXAMPLES.iter().zip(&plugins) {
        let mut component = instance(plugin);
        let mut native = native(name, &plugin.config);
        for json in &sample.json {
            let parse = |out: Option<String>| out.map(|text| serde_json::from_str::<Value>(&text));
            let wasm = component.process_event(json).result.map_err(|f| f.message);
            let wasm = wasm.map(parse).map(|v| v.map(Result::ok));
            let natively = native(json).map(parse).map(|v| v.map(Result::ok));
            assert_eq!(wasm.ok(), natively.ok(), "{name} on {json}");
        }
    }

    let all = all_examples();
    for (group_name, throughput) in [
        ("instance-reused", Throughput::Elements(sample.len())),
        ("instance-reused-bytes", Throughput::Bytes(sample.bytes())),
    ] {
        let mut group = c.benchmark_group(group_name);
        group
            .throughput(throughput)
            .sampling_mode(SamplingMode::Flat);
        for (name, plugin) in &all {
            let mut instance = instance(plugin);
            group.bench_function(name.as_str(), |b| {
                b.iter(|| {
                    for json in &sample.json {
                        black_box(instance.process_event(black_box(json)).result.ok());
                    }
                })
            });
            assert!(!instance.is_poisoned(), "{name} trapped on the sample");
        }
        group.finish();
    }

    let mut group = c.benchmark_group("native");
    group
        .throughput(Throughput::Elements(sample.len()))
        .sampling_mode(SamplingMode::Flat);
    for (name, plugin) in EXAMPLES.iter().zip(&plugins) {
        let mut native = native(name, &plugin.config);
        group.bench_function(*name, |b| {
            b.iter(|| {
                for json in &sample.json {
                    black_box(native(black_box(json)).ok());
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = benches::config();
    targets = plugins
}
criterion_main!(benches);
