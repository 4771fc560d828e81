//! The JavaScript examples (`js_build`): `js-instantiate/*` makes an instance from the
//! pre-initialised component and retires it; `js-fresh-instance/*` is instantiate, `setup`,
//! one event, retire; `js-instance-reused/*` is one set-up instance over the corpus sample.

use std::hint::black_box;

use benches::{JS_EXAMPLES, Sample, instance, load_js_example};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harness::host::Services;
use harness::instance::PluginInstance;

fn js(c: &mut Criterion) {
    let sample = Sample::load();
    let plugins: Vec<_> = JS_EXAMPLES
        .iter()
        .map(|name| load_js_example(name))
        .collect();

    let mut group = c.benchmark_group("js-instantiate");
    group.throughput(Throughput::Elements(1));
    for (name, plugin) in JS_EXAMPLES.iter().zip(&plugins) {
        let mut services = Some(Services::default());
        group.bench_function(*name, |b| {
            b.iter(|| {
                let instance = PluginInstance::new(plugin, services.take().unwrap_or_default())
                    .expect("the plugin instantiates");
                services = Some(instance.into_services());
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("js-fresh-instance");
    group.throughput(Throughput::Elements(1));
    for (name, plugin) in JS_EXAMPLES.iter().zip(&plugins) {
        let mut services = Some(Services::default());
        let mut events = sample.json.iter().cycle();
        group.bench_function(*name, |b| {
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

    let mut group = c.benchmark_group("js-instance-reused");
    group.throughput(Throughput::Elements(sample.len()));
    for (name, plugin) in JS_EXAMPLES.iter().zip(&plugins) {
        let mut instance = instance(plugin);
        group.bench_function(*name, |b| {
            b.iter(|| {
                for event in &sample.json {
                    black_box(instance.process_event(black_box(event)).result.ok());
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = benches::config();
    targets = js
}
criterion_main!(benches);
