//! Builds a Rust plugin crate into a component: located with `cargo_metadata`, compiled for
//! `wasm32-wasip2` in release mode optimised for speed, sandboxed (see
//! [`build_plugin_crate`]). Cargo's output is shown only when the build fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::build_record::BuildRecord;

use cargo_metadata::{
    DependencyKind, Message, Metadata, MetadataCommand, Package, PackageId, TargetKind,
};

/// The target plugins are built for; the toolchain ships the component linker for it.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Profile settings for plugin builds (overriding the release profile for this target only):
/// fast components whose panics abort. `opt-level = 3` rather than `"s"`: the guest's JSON
/// work runs about 1.5x faster for a component about 17% larger (README, "Where the time goes").
/// Debug information is stripped but the name section is kept, so that a trap's wasm backtrace
/// names the plugin's functions.
const PROFILE_OVERRIDES: [&str; 5] = [
    "profile.release.opt-level=3",
    "profile.release.lto=true",
    "profile.release.codegen-units=1",
    "profile.release.panic=\"abort\"",
    "profile.release.strip=\"debuginfo\"",
];

/// The cargo to run: the one that started us when there is one.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// Environment variables that hold credentials and never reach a plugin's build.
pub(crate) const SECRET_VARIABLES: [&str; 4] = [
    "GITHUB_TOKEN",
    "GITLAB_TOKEN",
    "NPM_TOKEN",
    "CARGO_REGISTRY_TOKEN",
];

/// Checks that the standard library for [`WASM_TARGET`] is installed. The library never
/// installs it: README's set-up (`cargo xtask`, `.ci/run`) does, visibly.
pub fn check_wasm_target() -> Result<(), String> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let libdir = Command::new("rustc")
                .args(["--print", "target-libdir", "--target", WASM_TARGET])
                .output()
                .map_err(|e| format!("could not run rustc: {e}"))?;
            let libdir = PathBuf::from(String::from_utf8_lossy(&libdir.stdout).trim());
            if libdir.is_dir() {
                Ok(())
            } else {
                Err(format!(
                    "the {WASM_TARGET} target is not installed: run `rustup target add {WASM_TARGET}` (README's set-up does)"
                ))
            }
        })
        .clone()
}

/// The sysroot of the toolchain that builds plugins (its `bin/` has the real cargo and
/// rustc, not rustup's proxies).
fn sysroot() -> Result<PathBuf, String> {
    let output = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("could not run rustc: {e}"))?;
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

/// The cargo home (registry and git caches), read-only inside the sandbox.
fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"))
}

/// Where plugins are built: a directory of its own (never the harness's target directory,
/// whose binaries a build script must not be able to replace).
pub fn plugin_target_dir(workspace_target: &Path) -> PathBuf {
    workspace_target.join("plugin-builds")
}

/// Whether bubblewrap can run here.
pub fn sandbox_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("bwrap")
            .args(["--ro-bind", "/", "/", "--unshare-all", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// The crate's dependency graph as cargo resolves it for [`WASM_TARGET`], `--locked` (a lock
/// that does not match is an error) and without the credentials of [`SECRET_VARIABLES`].
/// `cargo metadata` reads manifests and the lock file; it runs none of the crates' code. The
/// static stage's source checks and the build both read it so.
pub fn locked_metadata(cargo_toml: &Path) -> Result<Metadata, cargo_metadata::Error> {
    let mut command = MetadataCommand::new();
    command
        .cargo_path(cargo())
        .manifest_path(cargo_toml)
        .other_options(vec![
            "--locked".to_owned(),
            "--filter-platform".to_owned(),
            WASM_TARGET.to_owned(),
        ]);
    for key in SECRET_VARIABLES {
        command.env_remove(key);
    }
    command.exec()
}

/// Why a crate could not be built: a rule id and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    pub rule: &'static str,
    pub message: String,
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.rule)
    }
}

impl BuildError {
    fn build(message: String) -> BuildError {
        BuildError {
            rule: crate::model::rules::id::LOAD_BUILD,
            message,
        }
    }
}

/// Builds the crate whose manifest is `cargo_toml` and returns the component's path.
///
/// Untrusted: the crate's build scripts and proc-macros are the plugin author's code. So the
/// dependency graph is read first (`cargo metadata --locked`, which runs nothing) and build
/// code outside the allow-list refuses the build; the dependencies are fetched (`cargo fetch
/// --locked`, which runs nothing) and the build runs `--offline --locked` with an environment
/// cleared of everything but what cargo and rustc need, inside bubblewrap with the network
/// unshared and only the sources (read-only), the cargo home (read-only), the toolchain
/// (read-only) and its own target directory visible. Without bubblewrap it refuses unless
/// the policy trusts the build.
pub fn build_plugin_crate(cargo_toml: &Path, policy: &BuildPolicy) -> Result<PathBuf, BuildError> {
    check_wasm_target().map_err(BuildError::build)?;
    let canonical = cargo_toml.canonicalize();
    // A build whose every input is as it was: its component, without asking cargo.
    let record_path = canonical
        .as_ref()
        .ok()
        .and_then(|manifest| BuildRecord::path_for(manifest));
    let settings = build_settings(cargo_toml, policy);
    if let (Some(record_path), Some(settings)) = (&record_path, &settings)
        && let Some(record) = BuildRecord::load(record_path)
        && let Some(component) = record.fresh_component(settings)
    {
        return Ok(component.to_owned());
    }
    let metadata = locked_metadata(cargo_toml).map_err(|e| {
        BuildError::build(format!(
            "{}: cannot read the crate's metadata: {}",
            cargo_toml.display(),
            crate::report::one_line(&e.to_string())
        ))
    })?;
    let manifest_path =
        canonical.map_err(|e| BuildError::build(format!("{}: {e}", cargo_toml.display())))?;
    let package = metadata
        .packages
        .iter()
        .find(|p| p.manifest_path.as_std_path() == manifest_path)
        .ok_or_else(|| {
            BuildError::build(format!("{}: not a package manifest", cargo_toml.display()))
        })?;
    if !package
        .targets
        .iter()
        .any(|t| t.crate_types.iter().any(|c| c.to_string() == "cdylib"))
    {
        return Err(BuildError::build(format!(
            "{}: the crate has no cdylib target (add `[lib] crate-type = [\"cdylib\", \"rlib\"]`)",
            cargo_toml.display()
        )));
    }
    // The second wall behind the static stage: build code outside the allow-list never runs.
    let graph = reachable(&metadata, &package.id);
    let refused: Vec<String> = metadata
        .packages
        .iter()
        .filter(|p| p.id == package.id || graph.contains(&p.id))
        .filter(|p| runs_build_code(p))
        .map(|p| p.name.to_string())
        .filter(|name| !policy.allows(name))
        .collect();
    if !refused.is_empty() {
        return Err(BuildError {
            rule: crate::model::rules::id::SOURCE_BUILD_SCRIPT,
            message: format!(
                "{}: not built: build code outside the allow-list ({})",
                cargo_toml.display(),
                refused.join(", ")
            ),
        });
    }
    let sandboxed = sandbox_available();
    if !sandboxed && !policy.trust_build {
        return Err(BuildError {
            rule: crate::model::rules::id::LOAD_UNSANDBOXED,
            message: format!(
                "{}: not built: bubblewrap (bwrap) is not available to sandbox the crate's build; install it (apt-get install bubblewrap) or pass --trust-build to run the build unsandboxed",
                cargo_toml.display()
            ),
        });
    }

    // Fetch first, with the network, running nothing of the crates.
    let fetch = Command::new(cargo())
        .args(["fetch", "--locked", "--manifest-path"])
        .arg(cargo_toml)
        .envs_removed()
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BuildError::build(format!("could not run cargo fetch: {e}")))?;
    if !fetch.status.success() {
        return Err(BuildError::build(format!(
            "{}: cargo fetch --locked failed: {}",
            cargo_toml.display(),
            tail(&fetch.stderr, 10)
        )));
    }

    let sysroot = sysroot().map_err(BuildError::build)?;
    let real_cargo = sysroot.join("bin").join("cargo");
    let target_dir = plugin_target_dir(metadata.target_directory.as_std_path());
    std::fs::create_dir_all(&target_dir)
        .map_err(|e| BuildError::build(format!("{}: {e}", target_dir.display())))?;
    let workspace = metadata.workspace_root.as_std_path().to_owned();
    let home = cargo_home();

    let path = format!("{}:/usr/bin:/bin", sysroot.join("bin").display());
    let envs: [(&str, &std::ffi::OsStr); 4] = [
        ("PATH", path.as_ref()),
        ("HOME", "/tmp".as_ref()),
        ("CARGO_HOME", home.as_os_str()),
        ("CARGO_TARGET_DIR", target_dir.as_os_str()),
    ];
    let mut command = if sandboxed {
        sandboxed_command(
            &real_cargo,
            &[&home, &sysroot, &workspace],
            &target_dir,
            &envs,
        )
    } else {
        let mut plain = Command::new(&real_cargo);
        plain.env_clear().envs(envs);
        plain
    };
    command
        .arg("build")
        .args(["--offline", "--locked", "--manifest-path"])
        .arg(&manifest_path)
        .args(["--package", package.name.as_str()])
        .args(["--lib", "--release", "--target", WASM_TARGET])
        .args(["--message-format", "json-render-diagnostics"]);
    for setting in PROFILE_OVERRIDES {
        command.args(["--config", setting]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BuildError::build(format!("could not run cargo: {e}")))?;

    let mut component = None;
    for message in Message::parse_stream(output.stdout.as_slice()).flatten() {
        if let Message::CompilerArtifact(artifact) = message
            && artifact.package_id == package.id
        {
            component = artifact
                .filenames
                .iter()
                .find(|f| f.extension() == Some("wasm"))
                .map(|f| f.clone().into_std_path_buf())
                .or(component);
        }
    }
    if !output.status.success() {
        return Err(BuildError::build(format!(
            "{}: cargo build failed ({}{}):\n{}",
            cargo_toml.display(),
            output.status,
            if sandboxed { ", sandboxed" } else { "" },
            tail(&output.stderr, 40)
        )));
    }
    let component = component.ok_or_else(|| {
        BuildError::build(format!(
            "{}: cargo built the crate but produced no .wasm",
            cargo_toml.display()
        ))
    })?;
    if let (Some(record_path), Some(settings)) = (record_path, settings) {
        let inputs = build_inputs(&metadata, &package.id, &component, &home);
        if let Some(record) = BuildRecord::new(settings, &component, inputs) {
            record.save(&record_path);
        }
    }
    Ok(component)
}

/// What a build depends on that is not a file: the toolchain cargo would use for the crate
/// (`rustc -vV` in its directory, where a `rust-toolchain` file may choose it), the policy,
/// the profile overrides and the target. `None` when rustc does not answer.
fn build_settings(cargo_toml: &Path, policy: &BuildPolicy) -> Option<String> {
    let dir = cargo_toml.parent().filter(|d| !d.as_os_str().is_empty())?;
    let rustc = Command::new("rustc")
        .arg("-vV")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    Some(format!(
        "{}\ntrust_build={} allowed={:?}\n{PROFILE_OVERRIDES:?} {WASM_TARGET}",
        String::from_utf8_lossy(&rustc.stdout).trim(),
        policy.trust_build,
        policy.allowed,
    ))
}

/// The files a build of `root` read or would read again: the dep-info's (every source file
/// rustc compiled or included; registry crates are pinned by `Cargo.lock`), each path
/// package's manifest and `build.rs` (cargo finds one by itself), the workspace's
/// `Cargo.lock` and `Cargo.toml`, and the configuration and toolchain files cargo and rustup
/// would read.
fn build_inputs(
    metadata: &Metadata,
    root: &PackageId,
    component: &Path,
    cargo_home: &Path,
) -> Vec<PathBuf> {
    let Ok(dep_info) = std::fs::read_to_string(component.with_extension("d")) else {
        // Without the dep-info the record would miss sources: no record (an unreadable file
        // among the inputs makes `BuildRecord::new` give none).
        return vec![component.with_extension("d")];
    };
    let mut inputs = crate::build_record::dep_info_files(&dep_info);
    let graph = reachable(metadata, root);
    for package in metadata
        .packages
        .iter()
        .filter(|p| (p.id == *root || graph.contains(&p.id)) && p.source.is_none())
    {
        let manifest = package.manifest_path.as_std_path();
        inputs.push(manifest.to_owned());
        if let Some(dir) = manifest.parent() {
            inputs.push(dir.join("build.rs"));
        }
    }
    let workspace = metadata.workspace_root.as_std_path();
    inputs.push(workspace.join("Cargo.lock"));
    inputs.push(workspace.join("Cargo.toml"));
    if let Some(package) = metadata.packages.iter().find(|p| p.id == *root)
        && let Some(dir) = package.manifest_path.as_std_path().parent()
    {
        inputs.extend(crate::build_record::config_candidates(dir, cargo_home));
    }
    inputs.sort();
    inputs.dedup();
    inputs
}

/// `program` inside bubblewrap: every namespace unshared (no network), a fresh `/tmp`, `/usr`
/// and the system's library links read-only, `read_only` bound read-only, only `writable`
/// writable, and an environment of `envs` alone. The crate builds and the JavaScript builds
/// (`js_build`) run in it.
pub(crate) fn sandboxed_command(
    program: &Path,
    read_only: &[&Path],
    writable: &Path,
    envs: &[(&str, &std::ffi::OsStr)],
) -> Command {
    let mut bwrap = Command::new("bwrap");
    bwrap.args(["--unshare-all", "--die-with-parent", "--new-session"]);
    // Mounts apply in order: the fresh /tmp first, so that sources or a target directory
    // under /tmp bound below stay visible.
    bwrap.args(["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]);
    bwrap.args(["--ro-bind", "/usr", "/usr"]);
    for (link, to) in [
        ("/bin", "usr/bin"),
        ("/lib", "usr/lib"),
        ("/lib64", "usr/lib64"),
        ("/sbin", "usr/sbin"),
    ] {
        if Path::new(link).is_symlink() {
            bwrap.args(["--symlink", to, link]);
        } else {
            bwrap.arg("--ro-bind-try").arg(link).arg(link);
        }
    }
    for etc in ["/etc/ld.so.cache", "/etc/alternatives"] {
        bwrap.arg("--ro-bind-try").arg(etc).arg(etc);
    }
    for path in read_only {
        bwrap.arg("--ro-bind").arg(path).arg(path);
    }
    bwrap.arg("--bind").arg(writable).arg(writable);
    bwrap.arg("--clearenv");
    for (key, value) in envs {
        bwrap.arg("--setenv").arg(key).arg(value);
    }
    bwrap.arg(program);
    bwrap
}

/// The packages `root` depends on, directly or not, through normal and build dependencies,
/// in a stable order (not `root` itself).
pub fn reachable(metadata: &Metadata, root: &PackageId) -> BTreeSet<PackageId> {
    let Some(resolve) = &metadata.resolve else {
        return BTreeSet::new();
    };
    let nodes: BTreeMap<&PackageId, _> = resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([root.clone()]);
    while let Some(id) = queue.pop_front() {
        let Some(node) = nodes.get(&id) else {
            continue;
        };
        for dependency in &node.deps {
            let used = dependency.dep_kinds.is_empty()
                || dependency
                    .dep_kinds
                    .iter()
                    .any(|kind| kind.kind != DependencyKind::Development);
            if used && dependency.pkg != *root && seen.insert(dependency.pkg.clone()) {
                queue.push_back(dependency.pkg.clone());
            }
        }
    }
    seen
}

/// Whether building `package` runs its code on the build machine: a build script, or a
/// proc-macro (which the compiler loads and runs).
pub fn runs_build_code(package: &Package) -> bool {
    package.targets.iter().any(|target| {
        target.kind.contains(&TargetKind::CustomBuild)
            || target.kind.contains(&TargetKind::ProcMacro)
    })
}

/// Removing the credentials of [`SECRET_VARIABLES`] from a command's environment.
trait WithoutSecrets {
    fn envs_removed(&mut self) -> &mut Self;
}

impl WithoutSecrets for Command {
    fn envs_removed(&mut self) -> &mut Self {
        for key in SECRET_VARIABLES {
            self.env_remove(key);
        }
        self
    }
}

/// The last `lines` lines of a command's output.
pub(crate) fn tail(output: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let tail: Vec<&str> = text.lines().rev().take(lines).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// How untrusted crates are built: whether build code outside the allow-list may run, and
/// whether a build without a sandbox is trusted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildPolicy {
    /// Build without a sandbox when bubblewrap is missing.
    pub trust_build: bool,
    /// Crates whose build scripts or proc-macros may run, beyond [`BUILD_CODE_ALLOW_LIST`].
    pub allowed: Vec<String>,
}

impl BuildPolicy {
    /// The policy from the command line: `--trust-build`, `--allow-build-code CRATE` and a
    /// policy file (`allow = ["crate", ...]`).
    pub fn new(
        trust_build: bool,
        allowed: &[String],
        policy_file: Option<&Path>,
    ) -> Result<BuildPolicy, crate::error::HarnessError> {
        let mut policy = BuildPolicy {
            trust_build,
            allowed: allowed.to_vec(),
        };
        if let Some(path) = policy_file {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct PolicyFile {
                #[serde(default)]
                allow: Vec<String>,
            }
            let text = crate::error::read_to_string(path)?;
            let file: PolicyFile = toml::from_str(&text).map_err(|e| {
                crate::error::HarnessError::bad_file(path, crate::report::one_line(&e.to_string()))
            })?;
            policy.allowed.extend(file.allow);
        }
        Ok(policy)
    }

    /// Whether `krate`'s build script or proc-macro may run.
    pub fn allows(&self, krate: &str) -> bool {
        BUILD_CODE_ALLOW_LIST.contains(&krate) || self.allowed.iter().any(|a| a == krate)
    }
}

/// Crates whose build scripts and proc-macros are trusted: the SDK's own dependency graph
/// (serde, serde_json, wit-bindgen and what they pull in). Kept in this one place.
pub const BUILD_CODE_ALLOW_LIST: &[&str] = &[
    // The SDK's graph: serde and serde_json, wit-bindgen and its macro.
    "anyhow",
    "prettyplease",
    "proc-macro2",
    "quote",
    "syn",
    "serde",
    "serde_core",
    "serde_derive",
    "serde_json",
    "wit-bindgen",
    "wit-bindgen-rust",
    "wit-bindgen-rust-macro",
    "zmij",
    // Well-kept crates the example plugins use: `url` (ICU data and derives) and `getrandom`.
    "displaydoc",
    "icu_normalizer_data",
    "icu_properties_data",
    "synstructure",
    "yoke-derive",
    "zerofrom-derive",
    "zerovec-derive",
    "generic-array",
    "getrandom",
];
