//! Where the price of the sandbox goes, for url-normalizer (a plugin whose imports are all
//! WASI): its component called through wasmtime alone (no harness around the call) over the
//! corpus sample, on an engine with fuel metering and epoch interruption (`metered`, as the
//! harness's engine) or without, built at `opt-level = "s"` or at the harness's 3.
//!
//! Read with `instance-reused/url-normalizer` (the harness: opt-level 3, metered, its call
//! path) and `native/url-normalizer` (the same logic compiled natively).

use std::hint::black_box;

use benches::{RawInstance, Sample, build_at_opt_level};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

const PLUGIN: &str = "url-normalizer";

fn sandbox(c: &mut Criterion) {
    let sample = Sample::load();
    let mut group = c.benchmark_group("sandbox");
    group
        .throughput(Throughput::Elements(sample.len()))
        .sampling_mode(SamplingMode::Flat);
    for opt_level in ["s", "3"] {
        let wasm = build_at_opt_level(PLUGIN, opt_level);
        for metered in [false, true] {
            let mut raw = RawInstance::new(&wasm, metered);
            assert_eq!(
                raw.pass(&sample.json),
                sample.json.len(),
                "every event comes back"
            );
            let id = format!(
                "{PLUGIN}-opt-{opt_level}-{}",
                if metered { "metered" } else { "unmetered" }
            );
            group.bench_function(id, |b| {
                b.iter(|| black_box(raw.pass(black_box(&sample.json))))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = benches::config();
    targets = sandbox
}
criterion_main!(benches);
