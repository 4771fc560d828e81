//! Builds a PostHog JavaScript or TypeScript plugin (`index.js`, `index.ts`, or the file
//! `main` names) into a component, with the pinned toolchain of `js/` (esbuild and
//! ComponentizeJS, `js/package-lock.json`) and the compatibility layer `js/compat.js` that
//! gives the plugin PostHog's API over the contract.
//!
//! Untrusted: the plugin's code. Nothing of it runs on the host. The toolchain runs inside the
//! same bubblewrap sandbox as crate builds (network unshared, environment cleared: no tokens,
//! only the toolchain, the plugin directory and the pre-initialiser readable, one work directory
//! writable), after the harness has unpacked the dependencies `package-lock.json` pins into the
//! work directory (`js_deps`), in two steps: `build.mjs bundle` (esbuild parses and bundles,
//! and the code is read for the capabilities and unsupported API it uses), then, unless the
//! cache has the component, `build.mjs componentize`, whose pre-initialisation (Wizer) runs the
//! bundle's top-level code inside the WebAssembly engine. The component is cached by a digest
//! of its inputs: the bundle, the world, the toolchain's lock, scripts and versions (node's
//! included).
//!
//! The pre-initialisation is the harness's own (`js_preinit`, ComponentizeJS's `wizerBin`):
//! a fixed clock, seeded random numbers and fixed directory names, so that the same inputs
//! give the same bytes and a JavaScript plugin's identity, the `sha256` the lock pins, is its
//! component's bytes like a Rust plugin's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::cargo_build::{BuildError, BuildPolicy};
use crate::manifest::Manifest;
use crate::model::rules::id;

/// Overrides where the toolchain lives (a directory like `js/`, with `node_modules`).
pub const TOOLCHAIN_ENV: &str = "HARNESS_JS_TOOLCHAIN";

/// The contract, written beside each build for `build.mjs` to generate the plugin's world from.
const CONTRACT_WIT: &str = include_str!("../../wit/plugin.wit");

/// Bumped when what a build does changes in a way the hashed files do not show.
const BUILD_FORMAT: &str = "posthog-js-build-2-deterministic";

/// Entry files tried, in order, when `main` names none.
const ENTRY_FILES: [&str; 2] = ["index.ts", "index.js"];
const ENTRY_EXTENSIONS: [&str; 6] = ["js", "mjs", "cjs", "ts", "mts", "cts"];

/// The toolchain directory: `$HARNESS_JS_TOOLCHAIN`, else this repository's `js/`.
pub fn toolchain_dir() -> PathBuf {
    std::env::var_os(TOOLCHAIN_ENV).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("js"),
        PathBuf::from,
    )
}

/// The JavaScript entry of a plugin directory without a crate: the file `main` names when it
/// is a script, else `index.ts` or `index.js`. `None` when the directory is not a JavaScript
/// plugin (a crate, or a `main` naming a component).
pub fn entry(dir: &Path, manifest: Option<&Manifest>) -> Option<String> {
    script_entry(dir, manifest.and_then(|m| m.main.as_deref()))
}

/// Whether a plugin directory is a JavaScript plugin, from its files alone (before the
/// manifest is judged): no crate, and an entry file or a `main` naming a script.
pub fn is_js_plugin(dir: &Path) -> bool {
    let main = std::fs::read_to_string(dir.join(crate::plugin::MANIFEST_FILE))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get("main").and_then(|m| m.as_str()).map(str::to_owned));
    script_entry(dir, main.as_deref()).is_some()
}

/// The entry given the manifest's `main`: it, when it names a script; else the first of
/// [`ENTRY_FILES`] present; `None` for a crate.
fn script_entry(dir: &Path, main: Option<&str>) -> Option<String> {
    if dir.join("Cargo.toml").is_file() {
        return None;
    }
    match main {
        Some(main) => Path::new(main)
            .extension()
            .and_then(|e| e.to_str())
            .filter(|e| ENTRY_EXTENSIONS.contains(e))
            .map(|_| main.to_owned()),
        None => ENTRY_FILES
            .iter()
            .find(|file| dir.join(file).is_file())
            .map(|file| (*file).to_owned()),
    }
}

/// The toolchain's versions, as `build.mjs versions` reports them.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Versions {
    pub node: String,
    pub esbuild: String,
    pub componentize_js: String,
}

/// A checked toolchain: where node and the scripts are, and their versions.
#[derive(Clone, Debug)]
pub struct Toolchain {
    pub dir: PathBuf,
    pub node: PathBuf,
    pub versions: Versions,
}

/// Finds node and the installed toolchain, once per process. The library never installs
/// either: README's set-up (`cargo xtask`, `.ci/run`) does, visibly. The message is one line.
pub fn toolchain() -> Result<Toolchain, String> {
    static CHECKED: OnceLock<Result<Toolchain, String>> = OnceLock::new();
    CHECKED.get_or_init(find_toolchain).clone()
}

fn find_toolchain() -> Result<Toolchain, String> {
    let node = which("node").ok_or_else(|| {
        "node is not installed: JavaScript plugins are built with node (apt-get install nodejs; README's set-up does)".to_owned()
    })?;
    let dir = toolchain_dir();
    let dir = dir.canonicalize().map_err(|e| {
        format!(
            "the JavaScript toolchain {}: {e} (set {TOOLCHAIN_ENV})",
            dir.display()
        )
    })?;
    if !dir
        .join("node_modules/@bytecodealliance/componentize-js")
        .is_dir()
        || !dir.join("node_modules/esbuild").is_dir()
    {
        return Err(format!(
            "the JavaScript toolchain is not installed in {}: run `npm ci --ignore-scripts --prefix {}` (cargo xtask does)",
            dir.display(),
            dir.display()
        ));
    }
    let output = Command::new(&node)
        .arg(dir.join("build.mjs"))
        .arg("versions")
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}", node.display()))?;
    let versions: Versions = serde_json::from_slice(&output.stdout).map_err(|_| {
        format!(
            "{}: the JavaScript toolchain does not run: {}",
            dir.display(),
            crate::report::one_line(&crate::cargo_build::tail(&output.stderr, 3))
        )
    })?;
    Ok(Toolchain {
        dir,
        node,
        versions,
    })
}

/// `program` on `PATH`, resolved through symlinks.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .and_then(|found| found.canonicalize().ok())
}

/// What `build.mjs` found in the plugin's code that the harness acts on (the rest of
/// `analysis.json`, its exports and capabilities, went into the world `build.mjs` wrote).
#[derive(Clone, Debug, Default, Deserialize)]
struct Analysis {
    /// The PostHog API it uses that the harness does not provide.
    #[serde(default)]
    unsupported: Vec<String>,
}

/// A built JavaScript plugin.
#[derive(Clone, Debug)]
pub struct JsBuild {
    pub component: PathBuf,
    pub cache_hit: bool,
}

fn js_error(message: String) -> BuildError {
    BuildError {
        rule: id::LOAD_JS_BUILD,
        message,
    }
}

/// Builds the JavaScript plugin in `dir` whose entry is `entry` (relative to `dir`).
pub fn build_js_plugin(
    dir: &Path,
    entry: &str,
    policy: &BuildPolicy,
) -> Result<JsBuild, BuildError> {
    let toolchain = toolchain().map_err(js_error)?;
    let sandboxed = crate::cargo_build::sandbox_available();
    if !sandboxed && !policy.trust_build {
        return Err(BuildError {
            rule: id::LOAD_UNSANDBOXED,
            message: format!(
                "{}: not built: bubblewrap (bwrap) is not available to sandbox the JavaScript build; install it (apt-get install bubblewrap) or pass --trust-build to run the build unsandboxed",
                dir.display()
            ),
        });
    }
    let dir = dir
        .canonicalize()
        .map_err(|e| js_error(format!("{}: {e}", dir.display())))?;
    let entry_path = crate::plugin::confined_file(&dir, entry).map_err(|message| {
        js_error(format!(
            "{}: the entry file: {message}",
            dir.join(entry).display()
        ))
    })?;
    // The entry relative to the plugin directory (after symlinks): the bundle names it so.
    let relative_entry = entry_path
        .strip_prefix(&dir)
        .map(Path::to_owned)
        .unwrap_or_else(|_| PathBuf::from(entry));
    let cache = crate::plugin::private_cache_dir().ok_or_else(|| {
        js_error(format!(
            "{}: no private cache directory to build JavaScript plugins in",
            crate::plugin::cache_dir().display()
        ))
    })?;
    let work = WorkDir::new(&cache).map_err(js_error)?;
    std::fs::write(work.0.join("contract.wit"), CONTRACT_WIT)
        .map_err(|e| js_error(format!("{}: {e}", work.0.display())))?;
    // 0. The dependencies its package-lock.json pins, into the work directory's node_modules
    //    (fetched and unpacked by the harness; nothing of them runs).
    crate::js_deps::install(&dir, &work.0, |name| std::env::var(name).ok())
        .map_err(|message| js_error(format!("{}: {message}", dir.display())))?;

    // 1. Bundle and read the code, running none of it; bare imports resolve only to PostHog's
    //    provided modules and the work directory's node_modules.
    run_step(
        &toolchain,
        sandboxed,
        &[&dir],
        &work.0,
        &[
            "bundle".as_ref(),
            dir.as_os_str(),
            relative_entry.as_os_str(),
            work.0.as_os_str(),
        ],
    )
    .map_err(|message| js_error(format!("{}: {message}", entry_path.display())))?;
    let analysis: Analysis = std::fs::read(work.0.join("analysis.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            js_error(format!(
                "{}: the bundler wrote no analysis",
                entry_path.display()
            ))
        })?;
    if !analysis.unsupported.is_empty() {
        return Err(BuildError {
            rule: id::SOURCE_JS_UNSUPPORTED,
            message: format!(
                "{}: uses PostHog plugin API the harness does not provide: {}",
                entry_path.display(),
                analysis.unsupported.join(", ")
            ),
        });
    }

    // 2. The component, from the cache when the same inputs were built before.
    let cache_key = inputs_digest(&toolchain, &work.0).map_err(js_error)?;
    let cached = cache.join(format!("js-{cache_key}.wasm"));
    if cached_matches(&cached) {
        return Ok(JsBuild {
            component: cached,
            cache_hit: true,
        });
    }
    let pre_initialiser = crate::js_preinit::executable().map_err(js_error)?;
    let script = write_pre_initialiser_script(&work.0, &pre_initialiser).map_err(js_error)?;
    run_step(
        &toolchain,
        sandboxed,
        &[&dir, &pre_initialiser],
        &work.0,
        &[
            "componentize".as_ref(),
            work.0.as_os_str(),
            script.as_os_str(),
        ],
    )
    .map_err(|message| {
        js_error(format!(
            "{}: ComponentizeJS failed: {message}",
            entry_path.display()
        ))
    })?;
    let bytes = std::fs::read(work.0.join("component.wasm")).map_err(|e| {
        js_error(format!(
            "{}: ComponentizeJS wrote no component: {e}",
            entry_path.display()
        ))
    })?;
    // Whole files or nothing, the digest of the bytes beside them.
    let partial = cached.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::write(&partial, &bytes).and_then(|()| {
        std::fs::write(
            cached.with_extension("wasm.sha256"),
            hex::encode(Sha256::digest(&bytes)),
        )?;
        std::fs::rename(&partial, &cached)
    });
    written.map_err(|e| js_error(format!("{}: {e}", cached.display())))?;
    Ok(JsBuild {
        component: cached,
        cache_hit: false,
    })
}

/// Whether a cached component is whole: its bytes match the digest written beside it.
fn cached_matches(cached: &Path) -> bool {
    match (
        std::fs::read(cached),
        std::fs::read_to_string(cached.with_extension("wasm.sha256")),
    ) {
        (Ok(bytes), Ok(recorded)) => hex::encode(Sha256::digest(&bytes)) == recorded.trim(),
        _ => false,
    }
}

/// sha256 of what the component is built from, the build cache's key: the bundle, the world,
/// the toolchain's lock and scripts, and the versions of esbuild, ComponentizeJS and node.
fn inputs_digest(toolchain: &Toolchain, work: &Path) -> Result<String, String> {
    let mut hasher = Sha256::new();
    let mut add = |label: &str, bytes: &[u8]| {
        hasher.update(label.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    add("format", BUILD_FORMAT.as_bytes());
    let v = &toolchain.versions;
    add(
        "versions",
        format!("{} {} {}", v.esbuild, v.componentize_js, v.node).as_bytes(),
    );
    for (label, path) in [
        ("lock", toolchain.dir.join("package-lock.json")),
        ("build", toolchain.dir.join("build.mjs")),
        ("compat", toolchain.dir.join("compat.js")),
        ("bundle", work.join("bundle.js")),
        ("world", work.join("world.wit")),
    ] {
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        add(label, &bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Writes `<work>/pre-initialise`, the `wizerBin` ComponentizeJS runs: `harness
/// pre-initialise-js` with ComponentizeJS's `wizer` arguments.
fn write_pre_initialiser_script(work: &Path, executable: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let quoted = format!("'{}'", executable.to_string_lossy().replace('\'', r"'\''"));
    let script = work.join("pre-initialise");
    let text = format!(
        "#!/bin/sh\nexec {quoted} {} \"$@\"\n",
        crate::js_preinit::SUBCOMMAND
    );
    std::fs::write(&script, text)
        .and_then(|()| std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("{}: {e}", script.display()))?;
    Ok(script)
}

/// Runs one step of `build.mjs` in the sandbox: the toolchain and `readable` (the plugin
/// directory, the pre-initialiser) readable, the work directory writable, nothing of the
/// harness's environment.
fn run_step(
    toolchain: &Toolchain,
    sandboxed: bool,
    readable: &[&Path],
    work: &Path,
    args: &[&std::ffi::OsStr],
) -> Result<(), String> {
    let envs: [(&str, &std::ffi::OsStr); 3] = [
        ("PATH", "/usr/bin:/bin".as_ref()),
        ("HOME", "/tmp".as_ref()),
        ("TMPDIR", "/tmp".as_ref()),
    ];
    // node's own installation (a prefix outside /usr, such as nvm's), read-only.
    let node_prefix = toolchain
        .node
        .parent()
        .and_then(Path::parent)
        .filter(|prefix| !prefix.starts_with("/usr"))
        .map(Path::to_owned);
    let mut read_only: Vec<&Path> = vec![&toolchain.dir];
    read_only.extend_from_slice(readable);
    if let Some(prefix) = &node_prefix {
        read_only.push(prefix);
    }
    let mut command = if sandboxed {
        crate::cargo_build::sandboxed_command(&toolchain.node, &read_only, work, &envs)
    } else {
        let mut plain = Command::new(&toolchain.node);
        plain.env_clear().envs(envs);
        plain
    };
    command.arg(toolchain.dir.join("build.mjs")).args(args);
    let output = command
        .current_dir(work)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run node: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(crate::cargo_build::tail(&output.stderr, 12))
    }
}

/// A work directory in the private cache, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(cache: &Path) -> Result<WorkDir, String> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = cache.join(format!(
            "js-work-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
