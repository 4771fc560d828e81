//! Loading a plugin: find its manifest and component (building a crate when the plugin is one),
//! compile the component once (with an on-disk cache keyed by its hash), check its exports
//! against the contract, and prepare it for instantiation.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre};

use crate::contract::{self, ExportSpec};
use crate::error::HarnessError;
use crate::fixtures::HttpFixtures;
use crate::host::{self, HostState, PluginContext};
use crate::manifest::Manifest;
use crate::model::limits::EffectiveLimits;

pub const MANIFEST_FILE: &str = "plugin.json";

/// Where a plugin comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginSource {
    /// A directory with `plugin.json`, and either a `Cargo.toml` (built by the harness), a
    /// JavaScript or TypeScript entry (`index.js`, `index.ts`, or a script `main` names; built
    /// by `js_build`), or the component that the manifest's `main` names.
    Directory(PathBuf),
    /// A component file with its manifest.
    Component { wasm: PathBuf, manifest: PathBuf },
}

impl PluginSource {
    /// Resolves a command-line argument: a plugin directory, its `plugin.json`, or a `.wasm`
    /// with a `plugin.json` beside it. Anything else is a harness error.
    pub fn resolve(path: &Path) -> Result<PluginSource, HarnessError> {
        if path.is_dir() {
            if path.join(MANIFEST_FILE).is_file() {
                // A JavaScript plugin needs node and the toolchain: their absence is the
                // machine's fault, never the plugin's.
                if crate::js_build::is_js_plugin(path) {
                    crate::js_build::toolchain().map_err(|message| {
                        HarnessError::Other(format!("{}: {message}", path.display()))
                    })?;
                }
                return Ok(PluginSource::Directory(path.to_owned()));
            }
        } else if path.is_file() {
            if path.file_name().is_some_and(|n| n == MANIFEST_FILE) {
                let dir = path.parent().unwrap_or(Path::new("."));
                return Ok(PluginSource::Directory(dir.to_owned()));
            }
            if path.extension().is_some_and(|e| e == "wasm") {
                let manifest = path.with_file_name(MANIFEST_FILE);
                if manifest.is_file() {
                    return Ok(PluginSource::Component {
                        wasm: path.to_owned(),
                        manifest,
                    });
                }
            }
        }
        Err(HarnessError::NoSuchPlugin {
            path: path.to_owned(),
        })
    }

    /// The directory the plugin's files (manifest, fixtures) live in.
    pub fn dir(&self) -> &Path {
        match self {
            PluginSource::Directory(dir) => dir,
            PluginSource::Component { manifest, .. } => manifest.parent().unwrap_or(Path::new(".")),
        }
    }

    pub fn manifest_path(&self) -> PathBuf {
        match self {
            PluginSource::Directory(dir) => dir.join(MANIFEST_FILE),
            PluginSource::Component { manifest, .. } => manifest.clone(),
        }
    }

    /// A name to show before the manifest is read: the directory's name.
    pub fn display_name(&self) -> String {
        self.dir()
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| self.dir().display().to_string())
    }
}

/// Options for loading: how the plugin is configured for this use.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Config values over the manifest's defaults and `verifyConfig`.
    pub config: BTreeMap<String, String>,
    /// Seed of the plugin's random numbers.
    pub random_seed: u64,
    /// Verifying: calls may spend fuel up to the ceiling so that the real cost can be compared
    /// with the budget (`Limits::for_verification`). Off, the budget is the cap.
    pub measure_fuel: bool,
    /// Apply the manifest's `verifyConfig` over the defaults: while verifying (and in `diff`),
    /// never in `run`, where a plugin gets its defaults and the pipeline file's values.
    pub verify_config: bool,
    /// How a crate plugin is built.
    pub build: crate::cargo_build::BuildPolicy,
    /// The clock the plugin sees (deterministic by default).
    pub clock: crate::host::ClockSetting,
    /// `run`'s real network and storage; `None` while verifying.
    pub runtime: Option<Arc<crate::runtime::Runtime>>,
}

/// Why a plugin could not be loaded: a finding of the load stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoadError {
    pub rule: &'static str,
    pub message: String,
    pub file: Option<PathBuf>,
}

impl LoadError {
    fn new(rule: &'static str, file: &Path, message: impl Into<String>) -> Self {
        LoadError {
            rule,
            message: message.into(),
            file: Some(file.to_owned()),
        }
    }
}

/// The contract's exports that a component has, resolved once.
#[derive(Clone, Debug, Default)]
pub struct Exports {
    pub setup: Option<ComponentExportIndex>,
    pub process_event: Option<ComponentExportIndex>,
    pub on_event: Option<ComponentExportIndex>,
    pub export_events: Option<ComponentExportIndex>,
    pub teardown: Option<ComponentExportIndex>,
    /// The scheduled tasks, in [`Schedule::ALL`](contract::Schedule::ALL) order.
    pub tasks: [Option<ComponentExportIndex>; 3],
}

impl Exports {
    /// The names of the contract exports present, in contract order.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (contract::SETUP, self.setup.is_some()),
            (contract::PROCESS_EVENT, self.process_event.is_some()),
            (contract::ON_EVENT, self.on_event.is_some()),
            (contract::EXPORT_EVENTS, self.export_events.is_some()),
            (contract::TEARDOWN, self.teardown.is_some()),
            (contract::RUN_EVERY_MINUTE, self.tasks[0].is_some()),
            (contract::RUN_EVERY_HOUR, self.tasks[1].is_some()),
            (contract::RUN_EVERY_DAY, self.tasks[2].is_some()),
        ]
        .into_iter()
        .filter(|(_, present)| *present)
        .map(|(spec, _)| spec.name)
        .collect()
    }

    /// The scheduled tasks the component exports.
    pub fn schedules(&self) -> Vec<contract::Schedule> {
        contract::Schedule::ALL
            .into_iter()
            .zip(&self.tasks)
            .filter(|(_, index)| index.is_some())
            .map(|(schedule, _)| schedule)
            .collect()
    }
}

/// A plugin ready to run: compiled, linked, configured. Instances are made from `pre`.
pub struct LoadedPlugin {
    pub name: String,
    pub source: PluginSource,
    pub manifest: Manifest,
    pub component_path: PathBuf,
    pub component_bytes: usize,
    pub sha256: String,
    pub component: Component,
    pub pre: InstancePre<HostState>,
    pub exports: Exports,
    pub context: Arc<PluginContext>,
    pub config: Vec<(String, String)>,
    /// Time spent building the crate (zero when the plugin came as a component).
    pub build_time: Duration,
    /// Time spent compiling (or loading from the cache) the component.
    pub compile_time: Duration,
    pub compile_cache_hit: bool,
    /// A JavaScript plugin's component (`js_build`).
    pub javascript: bool,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("component_path", &self.component_path)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    pub fn limits(&self) -> &EffectiveLimits {
        &self.context.limits
    }
}

/// A component's bytes and where they came from.
#[derive(Clone, Debug)]
pub struct Artifact {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// The plugin's identity, which the lock pins and the compile cache is keyed by: sha256 of
    /// the component's bytes (a JavaScript plugin's too: `js_build` is reproducible).
    pub sha256: String,
    /// Time spent building the crate (zero when the plugin came as a component).
    pub build_time: Duration,
    /// Whether the harness built it from a crate or JavaScript.
    pub built: bool,
    /// Whether it is a JavaScript plugin's component (its fuel allowance per KiB is
    /// [`crate::model::limits::JS_FUEL_PER_KIB`]).
    pub javascript: bool,
}

/// Reads `plugin.json`: its text (for the static stage) and the parsed manifest (or why it
/// does not parse). Only an unreadable file is an error here.
pub fn read_manifest(
    source: &PluginSource,
) -> Result<(String, Result<Manifest, LoadError>), LoadError> {
    let manifest_path = source.manifest_path();
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        LoadError::new(
            "load/manifest",
            &manifest_path,
            format!("{}: {e}", manifest_path.display()),
        )
    })?;
    let text = match source {
        PluginSource::Directory(dir) => as_posthog_manifest(dir, text),
        PluginSource::Component { .. } => text,
    };
    let manifest = Manifest::parse(&manifest_path, &text)
        .map_err(|message| LoadError::new("load/manifest", &manifest_path, message));
    Ok((text, manifest))
}

/// The largest `package.json` read for its name and version.
const MAX_PACKAGE_JSON_BYTES: u64 = 1 << 20;

/// A JavaScript plugin's `plugin.json` as PostHog wrote it, read as the harness's manifest:
/// - without `version` (PostHog's manifests have none; the version is in `package.json`), it
///   gets `package.json`'s;
/// - a `name` that is a display name (`"GeoIP"`, `"Property Filter"`; the harness's names are
///   kebab identifiers) becomes `title`, and the plugin's `name` is `package.json`'s (its scope
///   left out) or else the display name in lower-case kebab.
///
/// What is added is written first in the object and the key renamed in place, so that every
/// line the static stage reports is still the file's. Anything else (a crate, a manifest that
/// needs neither, no usable `package.json`) is left as it is.
fn as_posthog_manifest(dir: &Path, text: String) -> String {
    if dir.join("Cargo.toml").exists() {
        return text;
    }
    let Ok(serde_json::Value::Object(manifest)) = serde_json::from_str::<serde_json::Value>(&text)
    else {
        return text;
    };
    let display = manifest
        .get("name")
        .and_then(|n| n.as_str())
        .filter(|name| !crate::manifest::is_plugin_name(name));
    let needs_version = !manifest.contains_key("version");
    if display.is_none() && !needs_version {
        return text;
    }
    let package = confined_file(dir, "package.json")
        .and_then(|path| read_capped(&path, MAX_PACKAGE_JSON_BYTES))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    let from_package = |key: &str| {
        package
            .as_ref()
            .and_then(|p| p.get(key)?.as_str().map(str::to_owned))
    };
    let mut added: Vec<(&str, String)> = Vec::new();
    let mut text = text;
    if let Some(display) = display
        && let Some(at) = top_level_key(&text, "name")
    {
        let is_name = |name: &String| crate::manifest::is_plugin_name(name);
        let package_name = from_package("name")
            .map(|name| name.rsplit('/').next().unwrap_or_default().to_owned())
            .filter(is_name);
        if let Some(id) = package_name.or_else(|| Some(kebab(display)).filter(is_name)) {
            text.replace_range(at..at + "\"name\"".len(), "\"title\"");
            added.push(("name", id));
        }
    }
    if needs_version && let Some(version) = from_package("version") {
        added.push(("version", version));
    }
    let Some(open) = text.find('{').filter(|_| !added.is_empty()) else {
        return text;
    };
    let rest = &text[open + 1..];
    let separator = if rest.trim_start().starts_with('}') {
        ""
    } else {
        ", "
    };
    let fields: Vec<String> = added
        .iter()
        .map(|(key, value)| format!("\"{key}\": {}", serde_json::Value::String(value.clone())))
        .collect();
    format!("{}{{{}{separator}{rest}", &text[..open], fields.join(", "))
}

/// A display name in lower-case kebab: `"Property Filter"` is `property-filter`.
fn kebab(display: &str) -> String {
    let mut out = String::new();
    for c in display.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// The byte offset of the key `"key"` of the top-level object in `text` (valid JSON).
fn top_level_key(text: &str, key: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut expect_key, mut i) = (0usize, false, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1 && bytes[i] == b'{';
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => expect_key = true,
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && expect_key {
                    if &text[start + 1..i.min(text.len())] == key {
                        return Some(start);
                    }
                    expect_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The crate manifest of a crate plugin.
pub fn cargo_toml(source: &PluginSource) -> Option<PathBuf> {
    match source {
        PluginSource::Directory(dir) => Some(dir.join("Cargo.toml")).filter(|p| p.is_file()),
        PluginSource::Component { .. } => None,
    }
}

/// Finds the plugin's component (building the crate when the plugin is one) and reads it.
/// `manifest` names the component through `main` when there is no crate.
pub fn locate_component(
    source: &PluginSource,
    manifest: Option<&Manifest>,
    policy: &crate::cargo_build::BuildPolicy,
) -> Result<Artifact, LoadError> {
    let manifest_path = source.manifest_path();
    let started = Instant::now();
    let mut javascript = false;
    let (path, built) = match (source, cargo_toml(source)) {
        (PluginSource::Component { wasm, .. }, _) => (wasm.clone(), false),
        (PluginSource::Directory(dir), None)
            if let Some(entry) = crate::js_build::entry(dir, manifest) =>
        {
            let built = crate::js_build::build_js_plugin(dir, &entry, policy)
                .map_err(|error| LoadError::new(error.rule, &dir.join(&entry), error.message))?;
            javascript = true;
            (built.component, true)
        }
        (PluginSource::Directory(_), Some(cargo_toml)) => {
            let path = crate::cargo_build::build_plugin_crate(&cargo_toml, policy)
                .map_err(|error| LoadError::new(error.rule, &cargo_toml, error.message))?;
            (path, true)
        }
        (PluginSource::Directory(dir), None) => match manifest.and_then(|m| m.main.as_ref()) {
            Some(main) => {
                if !Path::new(main).is_absolute()
                    && std::fs::symlink_metadata(dir.join(main)).is_err()
                {
                    return Err(LoadError::new(
                        "load/no-component",
                        &dir.join(main),
                        format!(
                            "{}: no such file (`main` in {})",
                            dir.join(main).display(),
                            manifest_path.display()
                        ),
                    ));
                }
                (
                    confined_file(dir, main).map_err(|message| {
                        LoadError::new(
                            crate::model::rules::id::MANIFEST_MAIN,
                            &manifest_path,
                            format!("{}: `main`: {message}", manifest_path.display()),
                        )
                    })?,
                    false,
                )
            }
            None => {
                return Err(LoadError::new(
                    "load/no-component",
                    &manifest_path,
                    format!(
                        "{}: no `main` names the component, and there is no Cargo.toml to build",
                        manifest_path.display()
                    ),
                ));
            }
        },
    };
    let build_time = started.elapsed();
    let bytes =
        read_capped(&path, crate::static_analysis::MAX_COMPONENT_BYTES).map_err(|message| {
            LoadError::new(
                "load/no-component",
                &path,
                format!("{}: {message}", path.display()),
            )
        })?;
    Ok(Artifact {
        sha256: hex::encode(Sha256::digest(&bytes)),
        path,
        bytes,
        javascript,
        build_time,
        built,
    })
}

/// A file a manifest names (`main`, fixtures, schemas), confined to the plugin directory:
/// relative, inside `dir` after symlinks are resolved, and a regular file (not a device, a
/// FIFO or a directory). Checked before anything is opened.
pub fn confined_file(dir: &Path, relative: &str) -> Result<PathBuf, String> {
    let named = Path::new(relative);
    if named.is_absolute() {
        return Err(format!(
            "`{relative}` is an absolute path; name a file inside the plugin directory"
        ));
    }
    if named
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!("`{relative}` leaves the plugin directory (`..`)"));
    }
    let root = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = root
        .join(named)
        .canonicalize()
        .map_err(|e| format!("`{relative}`: {e}"))?;
    if !path.starts_with(&root) {
        return Err(format!(
            "`{relative}` resolves to {}, outside the plugin directory (a symbolic link out)",
            path.display()
        ));
    }
    let metadata = std::fs::metadata(&path).map_err(|e| format!("`{relative}`: {e}"))?;
    if !metadata.is_file() {
        return Err(format!(
            "`{relative}` is not a regular file (a device, a FIFO or a directory)"
        ));
    }
    Ok(path)
}

/// Reads a regular file of at most `max` bytes, refusing a larger one from its metadata
/// before reading (and never reading past `max + 1` bytes, should it grow meanwhile).
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let metadata = file.metadata().map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    if metadata.len() > max {
        return Err(format!("{} bytes, over the limit of {max}", metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("over the limit of {max} bytes"));
    }
    Ok(bytes)
}

/// Loads the plugin at `source`. Every way a plugin can be broken is a [`LoadError`].
pub fn load(source: &PluginSource, options: &LoadOptions) -> Result<LoadedPlugin, LoadError> {
    let (_, manifest) = read_manifest(source)?;
    let manifest = manifest?;
    let artifact = locate_component(source, Some(&manifest), &options.build)?;
    load_artifact(source, manifest, &artifact, options)
}

/// Compiles and links a located component: the part of loading that needs the engine.
pub fn load_artifact(
    source: &PluginSource,
    manifest: Manifest,
    artifact: &Artifact,
    options: &LoadOptions,
) -> Result<LoadedPlugin, LoadError> {
    let component_path = &artifact.path;
    let in_file = |message: String| format!("{}: {message}", component_path.display());
    let started = Instant::now();
    let (component, compile_cache_hit) =
        compile(&artifact.bytes, &artifact.sha256).map_err(|message| {
            LoadError::new("load/not-a-component", component_path, in_file(message))
        })?;
    let compile_time = started.elapsed();

    let exports = resolve_exports(&component).map_err(|message| {
        LoadError::new("load/export-signature", component_path, in_file(message))
    })?;
    if exports.process_event.is_none()
        && exports.on_event.is_none()
        && exports.export_events.is_none()
        && exports.schedules().is_empty()
    {
        return Err(LoadError::new(
            "load/missing-export",
            component_path,
            in_file(format!(
                "exports none of `process-event`, `on-event`, `export-events` and the scheduled tasks (found: {})",
                describe_exports(&component)
            )),
        ));
    }

    let pre = host::linker().instantiate_pre(&component).map_err(|e| {
        LoadError::new(
            "load/unresolved-import",
            component_path,
            in_file(first_line(&format!("{e:#}")).to_owned()),
        )
    })?;

    let fixtures_path = source.dir().join(crate::fixtures::HTTP_FIXTURES);
    let fixtures = HttpFixtures::load(source.dir())
        .map_err(|message| LoadError::new("load/fixtures", &fixtures_path, message))?;

    let config = manifest.config_values(&options.config, options.verify_config);
    let attachments = load_attachments(source.dir(), &manifest, &config)?;
    let geoip = match &options.runtime {
        Some(runtime) => runtime.geoip.clone(),
        None => crate::geoip::GeoIpDatabase::from_fixtures(source.dir())
            .map_err(|message| {
                LoadError::new(
                    "load/fixtures",
                    &source.dir().join(crate::geoip::GEOIP_FIXTURES),
                    message,
                )
            })?
            .map(Arc::new),
    };
    // Short values would redact ordinary words; a secret is at least four characters.
    let secrets = manifest
        .config
        .iter()
        .filter(|field| field.secret)
        .filter_map(|field| config.iter().find(|(key, _)| *key == field.key))
        .map(|(_, value)| value.clone())
        .filter(|value| value.len() >= 4)
        .collect();
    let context = Arc::new(PluginContext {
        name: manifest.name.clone(),
        capabilities: manifest.capabilities.clone(),
        limits: {
            let mut limits = manifest.limits.effective();
            if artifact.javascript {
                limits = limits.for_javascript();
            }
            if options.measure_fuel {
                crate::model::limits::Limits::for_verification(limits)
            } else {
                limits
            }
        },
        fixtures,
        random_seed: options.random_seed,
        clock: options.clock,
        secrets,
        attachments,
        geoip,
        runtime: options.runtime.clone(),
    });
    Ok(LoadedPlugin {
        name: manifest.name.clone(),
        source: source.clone(),
        config,
        manifest,
        component_path: component_path.clone(),
        component_bytes: artifact.bytes.len(),
        sha256: artifact.sha256.clone(),
        component,
        pre,
        exports,
        context,
        build_time: artifact.build_time,
        compile_time,
        compile_cache_hit,
        javascript: artifact.javascript,
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Finds the contract's exports and checks each one's signature exactly.
/// The files the config's `attachment` fields name, each inside the plugin directory (after
/// symlinks), a regular file, at most [`posthog_plugin_limits::MAX_ATTACHMENT_BYTES`]; an empty
/// value gives no attachment.
fn load_attachments(
    dir: &Path,
    manifest: &Manifest,
    config: &[(String, String)],
) -> Result<BTreeMap<String, crate::host::Attachment>, LoadError> {
    let mut attachments = BTreeMap::new();
    let fields = manifest
        .config
        .iter()
        .filter(|field| field.field_type == crate::manifest::ConfigType::Attachment);
    for field in fields {
        let Some((_, named)) = config
            .iter()
            .find(|(key, value)| *key == field.key && !value.is_empty())
        else {
            continue;
        };
        let fail = |path: &Path, message: String| {
            LoadError::new(
                crate::model::rules::id::LOAD_ATTACHMENT,
                path,
                format!(
                    "{}: attachment `{}` ({named}): {message}",
                    path.display(),
                    field.key
                ),
            )
        };
        let path = confined_file(dir, named).map_err(|m| fail(&dir.join(named), m))?;
        let contents = read_capped(&path, posthog_plugin_limits::MAX_ATTACHMENT_BYTES)
            .map_err(|m| fail(&path, m))?;
        let file_name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let content_type = content_type_of(&file_name).to_owned();
        attachments.insert(
            field.key.clone(),
            crate::host::Attachment {
                file_name,
                content_type,
                contents,
            },
        );
    }
    Ok(attachments)
}

/// The content type of an attachment, from its extension (as a browser upload would say).
fn content_type_of(file_name: &str) -> &'static str {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "json" => "application/json",
        "txt" => "text/plain",
        "yaml" | "yml" => "application/yaml",
        "xml" => "application/xml",
        _ => "application/octet-stream",
    }
}

fn resolve_exports(component: &Component) -> Result<Exports, String> {
    let found = contract::exported_functions(component);
    let index = |spec: ExportSpec| -> Result<Option<ComponentExportIndex>, String> {
        let Some((_, signature)) = found.iter().find(|(name, _)| name == spec.name) else {
            return Ok(None);
        };
        if signature != spec.signature {
            return Err(format!(
                "export `{}` has the wrong signature: expected `{}`, found `{signature}`",
                spec.name, spec.signature
            ));
        }
        Ok(component.get_export_index(None, spec.name))
    };
    Ok(Exports {
        setup: index(contract::SETUP)?,
        process_event: index(contract::PROCESS_EVENT)?,
        on_event: index(contract::ON_EVENT)?,
        export_events: index(contract::EXPORT_EVENTS)?,
        teardown: index(contract::TEARDOWN)?,
        tasks: [
            index(contract::RUN_EVERY_MINUTE)?,
            index(contract::RUN_EVERY_HOUR)?,
            index(contract::RUN_EVERY_DAY)?,
        ],
    })
}

fn describe_exports(component: &Component) -> String {
    let found = contract::exported_functions(component);
    if found.is_empty() {
        return "nothing".into();
    }
    found
        .iter()
        .map(|(name, sig)| format!("`{name}: {sig}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where compiled components are cached: `$HARNESS_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/posthog-harness/components`, else `~/.cache/posthog-harness/components`.
/// Never a shared directory such as the system's temp dir: without a home, nothing is cached.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HARNESS_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_default();
    base.join("posthog-harness").join("components")
}

/// The cache directory, created private (0700) to this user; `None` when it cannot be made
/// or is not private (then nothing is cached or read from the cache).
pub(crate) fn private_cache_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let dir = cache_dir();
    if dir.as_os_str().is_empty() || !dir.is_absolute() {
        return None;
    }
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .ok()?;
    }
    let metadata = std::fs::symlink_metadata(&dir).ok()?;
    // Owned by us and a real directory, or not used at all.
    if !metadata.is_dir() || metadata.uid() != current_uid() {
        return None;
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        // Made by an older harness (or by hand) with access for others: what it holds may
        // have been written by someone else, so it is emptied before it is made private.
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
    }
    Some(dir)
}

/// This process's effective user id, read from `/proc/self` (no libc call).
fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

/// Compiles `bytes`, or loads the compiled artifact that an earlier run cached under the same
/// hash and engine. Returns the component and whether the cache answered. A cached artifact
/// is used only when its sha256 matches the digest recorded beside it when it was written;
/// anything else is recompiled (and rewritten).
#[allow(unsafe_code)]
fn compile(bytes: &[u8], sha256: &str) -> Result<(Component, bool), String> {
    use sha2::Digest as _;
    if !bytes.starts_with(b"\0asm") {
        return Err("not a WebAssembly file (no `\\0asm` header)".into());
    }
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err("a core WebAssembly module, not a component: build with `--target wasm32-wasip2` (or wrap it with `wasm-tools component new`)".into());
    }
    let engine = host::engine();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let dir = private_cache_dir();
    let cached = dir
        .as_ref()
        .map(|dir| dir.join(format!("{sha256}-{:016x}.cwasm", hasher.finish())));
    if let Some(cached) = &cached
        && let (Ok(serialized), Ok(recorded)) = (
            std::fs::read(cached),
            std::fs::read_to_string(cached.with_extension("cwasm.sha256")),
        )
        && hex::encode(Sha256::digest(&serialized)) == recorded.trim()
    {
        // SAFETY: these bytes are exactly what this function serialised (their digest was
        // recorded when they were written, in a directory private to this user), with an
        // engine of the same compatibility hash; `deserialize` checks the engine again.
        if let Ok(component) = unsafe { Component::deserialize(engine, &serialized) } {
            return Ok((component, true));
        }
    }
    let component =
        Component::new(engine, bytes).map_err(|e| first_line(&format!("{e:#}")).to_owned())?;
    if let Some(cached) = &cached
        && let Ok(serialized) = component.serialize()
    {
        // A cache that cannot be written only costs time; write whole files or nothing.
        let partial = cached.with_extension(format!("tmp{}", std::process::id()));
        let digest = hex::encode(Sha256::digest(&serialized));
        if std::fs::write(&partial, &serialized).is_ok()
            && std::fs::write(cached.with_extension("cwasm.sha256"), digest).is_ok()
        {
            let _ = std::fs::rename(&partial, cached);
        }
    }
    Ok((component, false))
}
