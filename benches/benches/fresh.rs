//! The cost of a fresh instance, for each example plugin: `instantiate/*` makes an instance
//! from the plugin's `InstancePre` and retires it (no call); `fresh-instance/*` is the model
//! of an instance per event: instantiate, `setup`, one event (cycling through the corpus
//! sample), retire. Storage and cache are carried from one instance to the next, as when the
//! pipeline replaces a trapped instance. The JavaScript examples (`js-*`) are measured beside
//! the Rust ones: their instances start from ComponentizeJS's pre-initialised engine.
//!
//! The harness's engine uses wasmtime's pooling allocator; run with
//! `HARNESS_INSTANCE_ALLOCATOR=on-demand` to measure the on-demand allocator instead (the ids
//! then end in `-on-demand`).

use std::hint::black_box;

use benches::{Sample, all_examples, pooling};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harness::host::Services;
use harness::instance::PluginInstance;

fn fresh(c: &mut Criterion) {
    let sample = Sample::load();
    let plugins = all_examples();
    let suffix = if pooling() { "" } else { "-on-demand" };

    let mut group = c.benchmark_group(format!("instantiate{suffix}"));
    group.throughput(Throughput::Elements(1));
    for (name, plugin) in &plugins {
        let mut services = Some(Services::default());
        group.bench_function(name.as_str(), |b| {
            b.iter(|| {
                let instance = PluginInstance::new(plugin, services.take().unwrap_or_default())
                    .expect("the plugin instantiates");
                services = Some(instance.into_services());
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group(format!("fresh-instance{suffix}"));
    group.throughput(Throughput::Elements(1));
    for (name, plugin) in &plugins {
        let mut services = Some(Services::default());
        let mut events = sample.json.iter().cycle();
        group.bench_function(name.as_str(), |b| {
            b.iter(|| {
                let event = events.next().expect("the sample is not empty");
                let mut instance = PluginInstance::new(plugin, services.take().unwrap_or_default())
                    .expect("the plugin instantiates");
                instance
                    .setup(&plugin.config)
                    .result
                    .expect("the plugin sets up");
                black_box(instance.process_event(black_box(event)).result.ok());
                services = Some(instance.into_services());
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = benches::config();
    targets = fresh
}
criterion_main!(benches);
