//! Builds a Rust plugin crate into a component: located with `cargo_metadata`, compiled for
//! `wasm32-wasip2` in release mode with size-oriented settings. Cargo's output is shown only
//! when the build fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use cargo_metadata::{Message, MetadataCommand};

/// The target plugins are built for; the toolchain ships the component linker for it.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Profile settings for plugin builds (overriding the release profile for this target only):
/// small, fast components whose panics abort.
const PROFILE_OVERRIDES: [&str; 5] = [
    "profile.release.opt-level=\"s\"",
    "profile.release.lto=true",
    "profile.release.codegen-units=1",
    "profile.release.panic=\"abort\"",
    "profile.release.strip=true",
];

/// The cargo to run: the one that started us when there is one.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// Makes sure the standard library for [`WASM_TARGET`] is installed, installing it with rustup
/// when it is missing. Checked once per process.
pub fn ensure_wasm_target() -> Result<(), String> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let libdir = Command::new("rustc")
                .args(["--print", "target-libdir", "--target", WASM_TARGET])
                .output()
                .map_err(|e| format!("could not run rustc: {e}"))?;
            let libdir = PathBuf::from(String::from_utf8_lossy(&libdir.stdout).trim());
            if libdir.is_dir() {
                return Ok(());
            }
            let status = Command::new("rustup")
                .args(["target", "add", WASM_TARGET])
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .status()
                .map_err(|e| {
                    format!("the {WASM_TARGET} target is missing and rustup could not run: {e}")
                })?;
            if status.success() {
                Ok(())
            } else {
                Err(format!(
                    "`rustup target add {WASM_TARGET}` failed ({status})"
                ))
            }
        })
        .clone()
}

/// Builds the crate whose manifest is `cargo_toml` and returns the component's path.
/// The error is a message for a finding: cargo's rendered diagnostics, last lines first kept.
pub fn build_plugin_crate(cargo_toml: &Path) -> Result<PathBuf, String> {
    ensure_wasm_target()?;
    let metadata = MetadataCommand::new()
        .cargo_path(cargo())
        .manifest_path(cargo_toml)
        .no_deps()
        .exec()
        .map_err(|e| {
            format!(
                "{}: cannot read the crate's metadata: {e}",
                cargo_toml.display()
            )
        })?;
    let manifest_path = cargo_toml
        .canonicalize()
        .map_err(|e| format!("{}: {e}", cargo_toml.display()))?;
    let package = metadata
        .packages
        .iter()
        .find(|p| p.manifest_path.as_std_path() == manifest_path)
        .ok_or_else(|| format!("{}: not a package manifest", cargo_toml.display()))?;
    if !package
        .targets
        .iter()
        .any(|t| t.crate_types.iter().any(|c| c.to_string() == "cdylib"))
    {
        return Err(format!(
            "{}: the crate has no cdylib target (add `[lib] crate-type = [\"cdylib\", \"rlib\"]`)",
            cargo_toml.display()
        ));
    }

    let mut command = Command::new(cargo());
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(cargo_toml)
        .args(["--package", package.name.as_str()])
        .args(["--lib", "--release", "--target", WASM_TARGET])
        .args(["--message-format", "json-render-diagnostics"]);
    for setting in PROFILE_OVERRIDES {
        command.args(["--config", setting]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;

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
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "{}: cargo build failed ({}):\n{}",
            cargo_toml.display(),
            output.status,
            tail.join("\n")
        ));
    }
    component.ok_or_else(|| {
        format!(
            "{}: cargo built the crate but produced no .wasm",
            cargo_toml.display()
        )
    })
}
