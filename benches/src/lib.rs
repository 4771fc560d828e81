//! Set-up shared by the criterion benches (`benches/benches/*.rs`): the example plugins (as
//! components the harness loads, and as their logic compiled natively), a sample of the
//! corpus, a passthrough component written in WAT, the calls the library's pipeline makes, and
//! a component called through wasmtime alone. Everything here runs before the timed loops.
//!
//! `cargo bench -p benches` runs them all; README's `## Performance` has the figures.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use harness::corpus::Corpus;
use harness::host::Services;
use harness::instance::PluginInstance;
use harness::plugin::{LoadOptions, LoadedPlugin, PluginSource};
use posthog_plugin_sdk::{Config, Transform};
use serde_json::Value;

/// The example library, in the order of `plugins/pipeline.toml`.
pub const EXAMPLES: [&str; 8] = [
    "downsampling",
    "property-filter",
    "flatten-properties",
    "url-normalizer",
    "taxonomy",
    "semver-flattener",
    "currency-normalization",
    "first-time-event-tracker",
];

/// Every `SAMPLE_STRIDE`-th corpus event is benched: 209 of the 1,042 of the corpus's own
/// files (not `corpus/recorded/`, so that the figures in README stay comparable).
pub const SAMPLE_STRIDE: usize = 5;

/// Criterion settings that keep `cargo bench -p benches` to a few minutes on two cores.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args()
}

/// The workspace root (benches run with the `benches/` package as working directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ is inside the workspace")
        .to_owned()
}

/// The directory of an example plugin.
pub fn example_dir(name: &str) -> PathBuf {
    workspace_root().join("plugins").join(name)
}

/// Builds an example plugin's crate into a component (cargo, release, `wasm32-wasip2`) and
/// loads it as `cargo xtask verify` would: its manifest's defaults and `verifyConfig`.
pub fn load_example(name: &str) -> Arc<LoadedPlugin> {
    let dir = example_dir(name);
    let wasm =
        harness::cargo_build::build_plugin_crate(&dir.join("Cargo.toml"), &Default::default())
            .unwrap_or_else(|e| panic!("building {name}: {e}"));
    load_component(wasm, dir.join("plugin.json"))
}

/// The JavaScript examples that transform events (`js_build`; the exporter has no
/// `process-event` to time).
pub const JS_EXAMPLES: [&str; 3] = [
    "js-property-filter",
    "js-first-time-event",
    "js-currency-normalization",
];

/// Builds (or takes from the cache) a JavaScript example and loads it as verification does.
pub fn load_js_example(name: &str) -> Arc<LoadedPlugin> {
    load_source(PluginSource::Directory(example_dir(name)))
}

/// The Rust examples, then the JavaScript ones, each with its name, loaded.
pub fn all_examples() -> Vec<(String, Arc<LoadedPlugin>)> {
    EXAMPLES
        .iter()
        .map(|name| (name.to_string(), load_example(name)))
        .chain(
            JS_EXAMPLES
                .iter()
                .map(|name| (name.to_string(), load_js_example(name))),
        )
        .collect()
}

fn load_component(wasm: PathBuf, manifest: PathBuf) -> Arc<LoadedPlugin> {
    load_source(PluginSource::Component { wasm, manifest })
}

fn load_source(source: PluginSource) -> Arc<LoadedPlugin> {
    // With the manifest's `verifyConfig`, as verification loads it: a plugin with a required
    // config value (currency-normalization's API key) sets up.
    let options = LoadOptions {
        verify_config: true,
        ..LoadOptions::default()
    };
    let plugin = harness::plugin::load(&source, &options).unwrap_or_else(|e| {
        panic!(
            "loading {}: {} ({})",
            source.dir().display(),
            e.message,
            e.rule
        )
    });
    Arc::new(plugin)
}

/// Whether the harness's engine got the pooling allocator (it falls back to allocating on
/// demand when the pool cannot be reserved, or when `HARNESS_INSTANCE_ALLOCATOR=on-demand`).
pub fn pooling() -> bool {
    harness::host::engine()
        .pooling_allocator_metrics()
        .is_some()
}

/// The benched part of the corpus: every [`SAMPLE_STRIDE`]-th event, as values and as JSON.
pub struct Sample {
    pub events: Vec<Value>,
    pub json: Vec<String>,
}

impl Sample {
    pub fn load() -> Sample {
        let corpus = Corpus::load(&workspace_root().join("corpus")).expect("the corpus loads");
        let events: Vec<Value> = corpus
            .events
            .into_iter()
            .filter(|sourced| !harness::corpus::is_recorded(&sourced.file))
            .step_by(SAMPLE_STRIDE)
            .map(|sourced| sourced.event)
            .collect();
        let json = events.iter().map(Value::to_string).collect();
        Sample { events, json }
    }

    pub fn len(&self) -> u64 {
        self.json.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.json.is_empty()
    }

    /// Bytes of JSON handed to a plugin for one pass over the sample.
    pub fn bytes(&self) -> u64 {
        self.json.iter().map(|j| j.len() as u64).sum()
    }
}

/// A live, set-up instance of `plugin` with empty storage.
pub fn instance(plugin: &LoadedPlugin) -> PluginInstance {
    let mut instance =
        PluginInstance::new(plugin, Services::default()).expect("the plugin instantiates");
    instance
        .setup(&plugin.config)
        .result
        .expect("the plugin sets up");
    instance
}

/// One event through a plugin: what a call returns, reduced to what the benches check.
pub type Outcome = Result<Option<String>, String>;

/// A plugin's logic compiled natively: `setup` once, then per event the work the component's
/// glue does (parse the event from JSON, `process_event`, serialise it back).
pub type Native = Box<dyn FnMut(&str) -> Outcome>;

/// The native counterpart of an example plugin, set up with the same config values as the
/// component (`plugin.config`). Capabilities go to the SDK's in-memory host on this thread,
/// fed with the plugin's recorded HTTP fixtures.
pub fn native(name: &str, config: &[(String, String)]) -> Native {
    add_native_http_fixtures(&example_dir(name));
    let config: Config = config.iter().cloned().collect();
    match name {
        "downsampling" => native_of::<downsampling::Downsampling>(&config),
        "property-filter" => native_of::<property_filter::PropertyFilter>(&config),
        "flatten-properties" => native_of::<flatten_properties::FlattenProperties>(&config),
        "url-normalizer" => native_of::<url_normalizer::UrlNormalizer>(&config),
        "taxonomy" => native_of::<taxonomy::Taxonomy>(&config),
        "semver-flattener" => native_of::<semver_flattener::SemverFlattener>(&config),
        "currency-normalization" => {
            native_of::<currency_normalization::CurrencyNormalization>(&config)
        }
        "first-time-event-tracker" => {
            native_of::<first_time_event_tracker::FirstTimeEventTracker>(&config)
        }
        other => panic!("no native build of {other}"),
    }
}

fn native_of<P: Transform>(config: &Config) -> Native {
    let mut plugin = P::setup(config).unwrap_or_else(|e| panic!("native setup: {e}"));
    // Events read as the component's glue reads them (lazily, or whole once the plugin is seen
    // to read whole maps).
    let mut reader = posthog_plugin_sdk::rt::EventReader::default();
    Box::new(move |json: &str| reader.process_event(&mut plugin, json))
}

/// Registers the plugin's `fixtures/http.json` with the SDK's in-memory host.
fn add_native_http_fixtures(dir: &Path) {
    let Ok(text) = std::fs::read_to_string(dir.join(harness::fixtures::HTTP_FIXTURES)) else {
        return;
    };
    let fixtures: Vec<Value> = serde_json::from_str(&text).expect("fixtures are JSON");
    for fixture in fixtures {
        let method = fixture["request"]["method"].as_str().unwrap_or("GET");
        let url = fixture["request"]["url"]
            .as_str()
            .expect("a fixture has a url");
        let response = &fixture["response"];
        let status = response["status"].as_u64().unwrap_or(200) as u16;
        let body = match (&response["json"], &response["body"]) {
            (Value::Null, Value::String(body)) => body.clone(),
            (Value::Null, _) => String::new(),
            (json, _) => json.to_string(),
        };
        posthog_plugin_sdk::testing::add_http_fixture(method, url, status, &body);
    }
}

/// A plugin whose `process-event` returns its argument (its pointer and length, untouched): no
/// JSON in the guest, so a call costs what the host and wasmtime add.
///
/// The argument is copied in through `realloc`, which always hands out the same buffer at
/// 1 KiB (the host asks once per call); up to 1 MiB of argument fits. The result
/// `result<option<string>, string>` is written at 16: result tag, option tag at 20, pointer at
/// 24, length at 28.
pub fn passthrough_wat() -> &'static str {
    r#"(component
  (core module $m
    (memory (export "memory") 17)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      i32.const 1024)
    (func (export "process") (param $ptr i32) (param $len i32) (result i32)
      (i32.store8 (i32.const 16) (i32.const 0))
      (i32.store8 (i32.const 20) (i32.const 1))
      (i32.store (i32.const 24) (local.get $ptr))
      (i32.store (i32.const 28) (local.get $len))
      i32.const 16))
  (core instance $i (instantiate $m))
  (func (export "process-event") (param "event" string)
    (result (result (option string) (error string)))
    (canon lift (core func $i "process") (memory (core memory $i "memory"))
      (realloc (core func $i "realloc")))))"#
}

/// The passthrough plugin, loaded by the harness from a temporary plugin directory.
pub fn passthrough_plugin() -> Arc<LoadedPlugin> {
    let dir =
        std::env::temp_dir().join(format!("harness-bench-passthrough-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating a temporary plugin directory");
    let wasm = dir.join("plugin.wasm");
    let manifest = dir.join("plugin.json");
    std::fs::write(
        &wasm,
        wat::parse_str(passthrough_wat()).expect("the WAT is valid"),
    )
    .expect("writing plugin.wasm");
    std::fs::write(
        &manifest,
        r#"{"name": "passthrough", "version": "0.1.0", "main": "plugin.wasm"}"#,
    )
    .expect("writing plugin.json");
    let plugin = load_component(wasm, manifest);
    let _ = std::fs::remove_dir_all(&dir);
    plugin
}

/// A PostHog-shaped event whose JSON is exactly `size` bytes (padded in one property).
pub fn event_of_size(size: usize) -> String {
    let mut event = serde_json::json!({
        "event": "$pageview",
        "distinct_id": "user-0001",
        "uuid": "00000000-0000-4000-8000-000000000001",
        "team_id": 13,
        "timestamp": "2024-03-05T14:22:31.123Z",
        "properties": {
            "$current_url": "https://example.com/pricing",
            "$lib": "web",
            "$lib_version": "1.96.1",
            "$browser": "Chrome",
            "$os": "Mac OS X",
            "padding": ""
        }
    });
    let base = event.to_string().len();
    assert!(
        base <= size,
        "a {size}-byte event is too small for its fields"
    );
    event["properties"]["padding"] = Value::String("x".repeat(size - base));
    let json = event.to_string();
    assert_eq!(json.len(), size);
    json
}

/// The calls the pipeline makes when `events` run through `plugins` (in pipeline order), in
/// the order it makes them: `(plugin index, event JSON it is given)`. Each plugin gets the
/// previous one's output, the chain stops where a plugin drops the event, a failed plugin
/// passes the event on as it was, and `$snapshot` and `$performance_event` skip the chain (the
/// reference pipeline's rules; the `$plugins_*` bookkeeping is added after the chain, so no
/// plugin sees it).
pub fn chain_calls(plugins: &[Arc<LoadedPlugin>], events: &[Value]) -> Vec<(usize, String)> {
    let mut instances: Vec<PluginInstance> = plugins.iter().map(|p| instance(p)).collect();
    let mut calls = Vec::new();
    for event in events {
        let name = event.get("event").and_then(Value::as_str).unwrap_or("");
        if harness::pipeline::SKIPS_PROCESSING.contains(&name) {
            continue;
        }
        let mut current = event.to_string();
        for (index, instance) in instances.iter_mut().enumerate() {
            calls.push((index, current.clone()));
            match instance.process_event(&current).result {
                Ok(Some(output)) => {
                    if serde_json::from_str::<Value>(&output).is_ok_and(|v| v.is_object()) {
                        current = output;
                    }
                }
                Ok(None) => break,
                Err(_) => {}
            }
        }
    }
    calls
}

/// Builds an example plugin's crate as the harness does (`wasm32-wasip2`, release, LTO, one
/// codegen unit, `panic = "abort"`) but at `opt_level`, in a target directory of its own, and
/// returns the component. For comparing the harness's `opt-level = 3` with others.
pub fn build_at_opt_level(name: &str, opt_level: &str) -> PathBuf {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
        .join(format!("bench-opt-level-{opt_level}"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // TOML: `0`..`3` are integers, `"s"` and `"z"` strings.
    let level = match opt_level.parse::<u8>() {
        Ok(number) => number.to_string(),
        Err(_) => format!("{opt_level:?}"),
    };
    let status = std::process::Command::new(cargo)
        .arg("build")
        .arg("--manifest-path")
        .arg(example_dir(name).join("Cargo.toml"))
        .args(["--package", name, "--lib", "--release", "--quiet"])
        .args(["--target", harness::cargo_build::WASM_TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--config", &format!("profile.release.opt-level={level}")])
        .args(["--config", "profile.release.lto=true"])
        .args(["--config", "profile.release.codegen-units=1"])
        .args(["--config", "profile.release.panic=\"abort\""])
        .args(["--config", "profile.release.strip=true"])
        .status()
        .expect("running cargo");
    assert!(status.success(), "building {name} at opt-level {opt_level}");
    target_dir
        .join(harness::cargo_build::WASM_TARGET)
        .join("release")
        .join(format!("{}.wasm", name.replace('-', "_")))
}

/// A component called through wasmtime alone: WASI (nothing else) linked, no harness around
/// the call, fuel metering and epoch interruption on or off. Only for plugins whose imports
/// are all WASI.
pub struct RawInstance {
    store: wasmtime::Store<RawState>,
    func: wasmtime::component::Func,
}

struct RawState {
    wasi: wasmtime_wasi::WasiCtx,
    table: wasmtime::component::ResourceTable,
}

impl wasmtime_wasi::WasiView for RawState {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl RawInstance {
    pub fn new(wasm: &Path, metered: bool) -> RawInstance {
        let mut config = wasmtime::Config::new();
        config.consume_fuel(metered).epoch_interruption(metered);
        let engine = wasmtime::Engine::new(&config).expect("a valid engine configuration");
        let component = wasmtime::component::Component::from_file(&engine, wasm)
            .unwrap_or_else(|e| panic!("compiling {}: {e:#}", wasm.display()));
        let mut linker = wasmtime::component::Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI links");
        let state = RawState {
            wasi: wasmtime_wasi::WasiCtx::builder().build(),
            table: wasmtime::component::ResourceTable::new(),
        };
        let mut store = wasmtime::Store::new(&engine, state);
        if metered {
            store.set_fuel(u64::MAX).expect("fuel is on");
            store.set_epoch_deadline(u64::MAX / 2);
        }
        let instance = linker
            .instantiate(&mut store, &component)
            .unwrap_or_else(|e| panic!("instantiating {}: {e:#}", wasm.display()));
        let func = instance
            .get_func(&mut store, "process-event")
            .expect("the component exports process-event");
        let mut raw = RawInstance { store, func };
        raw.pass(&[]);
        raw
    }

    /// Calls `process-event` with each event; returns how many calls returned an event.
    pub fn pass(&mut self, events: &[String]) -> usize {
        let typed = self
            .func
            .typed::<(&str,), (Result<Option<String>, String>,)>(&self.store)
            .expect("the contract's signature");
        let mut emitted = 0;
        for json in events {
            let (result,) = typed
                .call(&mut self.store, (json,))
                .expect("the plugin does not trap");
            emitted += usize::from(matches!(result, Ok(Some(_))));
        }
        emitted
    }
}

#[cfg(test)]
mod tests {
    /// `EXAMPLES` is the library's order as `plugins/pipeline.toml` writes it.
    #[test]
    fn examples_follow_the_pipeline_file() {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/pipeline.toml");
        let entries = harness::pipeline::file::PipelineFile::load(&file).unwrap();
        let names: Vec<String> = entries
            .iter()
            .map(|e| harness::pipeline::file::plugin_name(&e.path))
            .collect();
        assert_eq!(names, super::EXAMPLES);
    }
}
