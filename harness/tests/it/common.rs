//! Helpers shared by the integration tests: fixture plugins built once per test binary, WAT
//! components written on the spot, and events.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use harness::pipeline::Pipeline;
use harness::plugin::{LoadOptions, LoadedPlugin, PluginSource, load};
use serde_json::{Value, json};
use std::process::{Command, Output};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The directory of a fixture plugin under `harness/tests/plugins/`.
pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/plugins")
        .join(name)
}

/// Builds a plugin crate (or a JavaScript plugin) once per test binary and returns its
/// component.
pub fn built_component(dir: &Path) -> PathBuf {
    if harness::js_build::is_js_plugin(dir) {
        let source = PluginSource::Directory(dir.to_owned());
        let (_, manifest) = harness::plugin::read_manifest(&source).unwrap();
        return harness::plugin::locate_component(
            &source,
            manifest.ok().as_ref(),
            &Default::default(),
        )
        .unwrap_or_else(|e| panic!("building {}: {e:?}", dir.display()))
        .path;
    }
    static BUILT: OnceLock<std::sync::Mutex<BTreeMap<PathBuf, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap();
    built
        .entry(dir.to_owned())
        .or_insert_with(|| {
            harness::cargo_build::build_plugin_crate(&dir.join("Cargo.toml"), &Default::default())
                .unwrap_or_else(|e| panic!("building {}: {e}", dir.display()))
        })
        .clone()
}

/// Loads a crate plugin (built once) with config values over its manifest's.
pub fn crate_plugin(dir: &Path, config: &[(&str, &str)]) -> Arc<LoadedPlugin> {
    let wasm = built_component(dir);
    let source = PluginSource::Component {
        wasm,
        manifest: dir.join("plugin.json"),
    };
    let options = load_options(config);
    Arc::new(load(&source, &options).unwrap_or_else(|e| panic!("loading {}: {e:?}", dir.display())))
}

/// The misbehaving fixture in `mode` (applied to events named `trigger`, or all when empty).
pub fn misbehaving(mode: &str, trigger: &str) -> Arc<LoadedPlugin> {
    crate_plugin(
        &fixture_dir("misbehaving"),
        &[("mode", mode), ("trigger", trigger)],
    )
}

/// An example plugin from `plugins/`.
pub fn example(name: &str, config: &[(&str, &str)]) -> Arc<LoadedPlugin> {
    crate_plugin(&workspace_root().join("plugins").join(name), config)
}

/// Writes a plugin directory holding `plugin.json` (from `manifest`) and `plugin.wasm` (the
/// bytes given) into a fresh temporary directory.
pub fn plugin_dir(manifest: &Value, wasm: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = manifest.clone();
    manifest["main"] = json!("plugin.wasm");
    std::fs::write(dir.path().join("plugin.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.path().join("plugin.wasm"), wasm).unwrap();
    dir
}

/// A component (from WAT) whose `process-event` ignores its input and returns `output` as the
/// event text: the way to test outputs the SDK cannot produce (not JSON, not an object).
pub fn raw_output_component(output: &str) -> Vec<u8> {
    let escaped: String = output.bytes().map(|b| format!("\\{b:02x}")).collect();
    let len = output.len();
    // result<option<string>, string> in memory: result tag at 0, option tag at 4, string
    // pointer at 8 and length at 12. The text sits at 64.
    let wat = format!(
        r#"(component
  (core module $m
    (memory (export "memory") {pages})
    (global $bump (mut i32) (i32.const {bump}))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      global.get $bump
      local.set $r
      global.get $bump
      local.get 3
      i32.add
      global.set $bump
      local.get $r)
    (data (i32.const 16) "\00\00\00\00\01\00\00\00\40\00\00\00{len_bytes}")
    (data (i32.const 64) "{escaped}")
    (func (export "process") (param i32 i32) (result i32)
      i32.const 16))
  (core instance $i (instantiate $m))
  (func (export "process-event") (param "event" string)
    (result (result (option string) (error string)))
    (canon lift (core func $i "process") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))"#,
        bump = (64 + len).next_multiple_of(8),
        pages = (64 + len + (4 << 20)) / 65536 + 1,
        len_bytes = (len as u32)
            .to_le_bytes()
            .iter()
            .map(|b| format!("\\{b:02x}"))
            .collect::<String>(),
    );
    wat::parse_str(wat).expect("the raw-output WAT is valid")
}

/// Loads a plugin directory made by [`plugin_dir`].
pub fn load_dir(dir: &Path) -> Result<Arc<LoadedPlugin>, harness::plugin::LoadError> {
    let source = PluginSource::resolve(dir).unwrap();
    load(&source, &LoadOptions::default()).map(Arc::new)
}

/// A schema-valid test event.
pub fn event(name: &str, n: u32) -> Value {
    json!({
        "event": name,
        "distinct_id": format!("user-{n}"),
        "uuid": format!("00000000-0000-4000-8000-{n:012}"),
        "team_id": 13,
        "timestamp": "2024-03-05T14:22:31.123Z",
        "properties": {"$current_url": "HTTPS://Example.COM/Path/", "$lib_version": "1.96.1", "n": n}
    })
}

/// Runs events through a pipeline of `plugins` and returns the pipeline for inspection.
pub fn pipeline(plugins: Vec<Arc<LoadedPlugin>>) -> Pipeline {
    Pipeline::new(plugins)
}

/// A plugin directory holding the misbehaving fixture's component and its manifest with the
/// top-level fields of `overrides` replaced (`limits`, `verifyConfig`, `name`...).
pub fn misbehaving_dir(overrides: Value) -> tempfile::TempDir {
    let fixture = fixture_dir("misbehaving");
    let wasm = std::fs::read(built_component(&fixture)).unwrap();
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("plugin.json")).unwrap())
            .unwrap();
    for (key, value) in overrides.as_object().expect("overrides are an object") {
        manifest[key] = value.clone();
    }
    plugin_dir(&manifest, &wasm)
}

/// Loads a plugin directory with config values.
pub fn load_dir_with(dir: &Path, config: &[(&str, &str)]) -> Arc<LoadedPlugin> {
    let source = PluginSource::resolve(dir).unwrap();
    let options = load_options(config);
    Arc::new(load(&source, &options).unwrap())
}

/// Load options with config values over the manifest's, as `run` loads plugins.
fn load_options(config: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        random_seed: 0,
        measure_fuel: false,
        verify_config: false,
        build: Default::default(),
        clock: Default::default(),
        runtime: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The `harness` binary in a workspace of its own.

pub fn harness(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(cwd)
        // Local behaviour even in CI: the temporary plugins' snapshots are recorded, not
        // missing (in CI a plugin without snapshots is rejected, `snapshot/new`).
        .env_remove("CI")
        .output()
        .expect("running the harness binary")
}

/// `harness run --allow-unapproved --input <event> PLUGIN`, with what `configure` adds (flags,
/// environment): the first event it wrote. The run must succeed.
pub fn run_event(plugin: &Path, event: &Value, configure: impl FnOnce(&mut Command)) -> Value {
    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), event.to_string() + "\n").unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_harness"));
    command
        .args(["run", "--allow-unapproved", "--input"])
        .arg(input.path())
        .arg(plugin)
        .env_remove("CI");
    configure(&mut command);
    let output = command.output().expect("running the harness binary");
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().next().expect("an event on stdout")).unwrap()
}

/// The verdict's report of `stage`.
pub fn stage(
    verdict: &harness::model::Verdict,
    stage: harness::model::Stage,
) -> &harness::model::StageReport {
    verdict
        .stages
        .iter()
        .find(|s| s.stage == stage)
        .unwrap_or_else(|| panic!("no {} stage in {verdict:#?}", stage.name()))
}

/// Writes `text` at `relative` below `dir`, making the directories on the way.
pub fn write_file(dir: &Path, relative: &str, text: &str) {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A workspace with a two-event corpus and the plugins asked for.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new(corpus: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("corpus")).unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        std::fs::write(dir.path().join("corpus/events.jsonl"), corpus).unwrap();
        Workspace { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds the misbehaving fixture as `plugins/<name>` with `verifyConfig` set to `config`.
    pub fn add_misbehaving(&self, name: &str, config: Value) {
        let fixture = fixture_dir("misbehaving");
        let wasm = built_component(&fixture);
        let mut manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture.join("plugin.json")).unwrap())
                .unwrap();
        manifest["name"] = json!(name);
        manifest["main"] = json!("plugin.wasm");
        manifest["verifyConfig"] = config;
        let dir = self.path().join("plugins").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(wasm, dir.join("plugin.wasm")).unwrap();
        std::fs::write(dir.join("plugin.json"), manifest.to_string()).unwrap();
    }
}

pub fn two_events() -> String {
    [event("first", 1), event("second", 2)]
        .iter()
        .map(|e| e.to_string() + "\n")
        .collect()
}
