//! The host alone: a passthrough component (`process-event` returns its argument, no JSON in
//! the guest) called with a 1 KiB event.
//!
//! - `host-overhead/passthrough-1KiB`: `PluginInstance::process_event` on a reused instance:
//!   what the harness and wasmtime add to every call (fuel and deadline, copying the event in
//!   and out, the call's bookkeeping);
//! - `host-overhead/pipeline-passthrough-1KiB`: `Pipeline::process` with that plugin alone,
//!   which adds the host's JSON handling (serialise the event, parse the output, the
//!   `$plugins_*` bookkeeping);
//! - `host-overhead/wasmtime-call-1KiB`: the same component called through wasmtime alone
//!   (a plain `Store`, no fuel, no harness), the floor under the first.

use std::hint::black_box;

use benches::{event_of_size, passthrough_plugin, passthrough_wat};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use harness::host::Services;
use harness::instance::PluginInstance;
use harness::pipeline::{Disposition, Pipeline};
use serde_json::Value;
use wasmtime::component::{Component, Linker, TypedFunc};
use wasmtime::{Engine, Store};

type ProcessEvent = TypedFunc<(&'static str,), (Result<Option<String>, String>,)>;

fn host(c: &mut Criterion) {
    let plugin = passthrough_plugin();
    let event = event_of_size(1024);
    let value: Value = serde_json::from_str(&event).expect("the event is JSON");

    let mut group = c.benchmark_group("host-overhead");
    group.throughput(Throughput::Elements(1));

    let mut instance = PluginInstance::new(&plugin, Services::default()).expect("instantiates");
    let check = instance.process_event(&event).result.expect("passthrough");
    assert_eq!(check.as_deref(), Some(event.as_str()));
    group.bench_function("passthrough-1KiB", |b| {
        b.iter(|| black_box(instance.process_event(black_box(&event)).result.ok()))
    });

    let mut pipeline = Pipeline::new(vec![plugin.clone()]);
    assert!(pipeline.start().is_empty());
    let check = pipeline.process(value.clone());
    assert!(matches!(check.disposition, Disposition::Emitted { .. }));
    group.bench_function("pipeline-passthrough-1KiB", |b| {
        b.iter_batched(
            || value.clone(),
            |value| pipeline.process(value),
            BatchSize::SmallInput,
        )
    });

    let engine = Engine::default();
    let component = Component::new(
        &engine,
        wat::parse_str(passthrough_wat()).expect("valid WAT"),
    )
    .expect("compiles");
    let mut store = Store::new(&engine, ());
    let linked = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .expect("instantiates");
    let func: ProcessEvent = linked
        .get_typed_func(&mut store, "process-event")
        .expect("the export has the contract's type");
    let event: &'static str = Box::leak(event.into_boxed_str());
    group.bench_function("wasmtime-call-1KiB", |b| {
        b.iter(|| black_box(func.call(&mut store, (black_box(event),)).ok()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = benches::config();
    targets = host
}
criterion_main!(benches);
