//! `cargo xtask`: the repository's tasks. Thin: arguments and orchestration only; the work is
//! done by the harness library.
//!
//! - `cargo xtask verify [PLUGIN...]`: verify the example library (or the plugins named).
//! - `cargo xtask run --input FILE.jsonl PLUGIN...`: run events through the ordered pipeline.
//! - `cargo xtask corpus generate`: regenerate the seeded part of `corpus/`; `cargo xtask corpus
//!   import FILE`: a PostHog events export into corpus JSONL; `cargo xtask corpus record`:
//!   record posthog-js and posthog-node into `corpus/recorded/`.
//! - `cargo xtask review`: accept or reject pending snapshots (`*.snap.new`), diff by diff.
//! - `cargo xtask new NAME [--kind transform|export|batch-export|scheduled]`: scaffold a plugin under `plugins/NAME/`.

mod corpus;
mod new;
mod record;
mod review;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Tasks of the plugin harness repository")]
struct Xtask {
    /// Colour in human output: `auto` (a terminal, unless NO_COLOR is set), `always`, `never`.
    #[arg(long, global = true, value_enum, default_value_t = harness::cli::ColorWhen::Auto)]
    color: harness::cli::ColorWhen,
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Task {
    /// Verify plugins and print one verdict per plugin (exit 0 all approved, 1 any rejected,
    /// 2 the harness could not do its job).
    Verify(harness::cli::VerifyArgs),
    /// Run JSONL events through plugins in the order given: events on stdout, summary on stderr.
    Run(harness::cli::RunArgs),
    /// Compare two versions of a plugin over the corpus: changed outputs, drops, failures,
    /// fuel and manifest (exit 0 identical behaviour, 1 it differs, 2 harness error).
    Diff(harness::cli::DiffArgs),
    /// Find order-dependent adjacent plugins of a pipeline, and orders that break `requires`
    /// (exit 0 no broken order, 1 a plugin runs before what it requires, 2 harness error).
    Order(harness::cli::OrderArgs),
    /// The event corpus: regenerate its seeded files, import a PostHog events export, or
    /// record the real SDKs.
    #[command(subcommand)]
    Corpus(CorpusTask),
    /// Review pending snapshots (`*.snap.new`): show each diff, accept or reject it.
    Review(review::ReviewArgs),
    /// Scaffold a new plugin under `plugins/NAME/` (a crate using the SDK, plugin.json, an
    /// empty snapshots/ that the first `verify --accept` fills).
    New(new::NewArgs),
}

#[derive(Debug, Subcommand)]
enum CorpusTask {
    /// Regenerate the generated corpus files (seeded, so the same seed gives the same files).
    Generate(corpus::CorpusArgs),
    /// Turn a PostHog events export (JSON from the events API or the events table's CSV) into
    /// corpus JSONL (`harness corpus import`).
    Import(harness::cli::ImportArgs),
    /// Record what posthog-js (headless Chromium) and posthog-node send to a capture endpoint
    /// on loopback, as corpus events in `corpus/recorded/` (needs node, npm and Chromium).
    Record(record::RecordArgs),
}

impl Task {
    /// The harness's own command for this task, if it is one (else the task, back).
    #[allow(clippy::result_large_err)] // called once per process
    fn into_harness(self) -> Result<harness::cli::Command, Task> {
        use harness::cli::{Command, CorpusCommand};
        match self {
            Task::Verify(args) => Ok(Command::Verify(args)),
            Task::Run(args) => Ok(Command::Run(args)),
            Task::Diff(args) => Ok(Command::Diff(args)),
            Task::Order(args) => Ok(Command::Order(args)),
            Task::Corpus(CorpusTask::Import(args)) => {
                Ok(Command::Corpus(CorpusCommand::Import(args)))
            }
            other => Err(other),
        }
    }
}

/// The workspace root of the checkout the command runs in, found at run time with
/// `cargo locate-project --workspace` from the current directory. Not the directory xtask
/// was compiled in: two checkouts sharing one `CARGO_TARGET_DIR` share one xtask binary.
fn workspace_root() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("could not run `cargo locate-project`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "not inside a cargo workspace: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    manifest
        .parent()
        .map(Path::to_owned)
        .ok_or_else(|| format!("{}: no parent directory", manifest.display()))
}

/// README's set-up, done visibly by the repository's task runner (never by the harness
/// library): the `wasm32-wasip2` standard library that plugin crates are built with.
fn ensure_wasm_target() -> Result<(), String> {
    ensure_sandbox();
    if harness::cargo_build::check_wasm_target().is_ok() {
        return Ok(());
    }
    let target = harness::cargo_build::WASM_TARGET;
    eprintln!("setting up: rustup target add {target}");
    let status = std::process::Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .map_err(|e| format!("could not run rustup: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`rustup target add {target}` failed ({status})"))
    }
}

/// README's set-up, visibly: bubblewrap, the sandbox crate plugins are built in, from the
/// system's packages when we may install them (root). Without it the harness refuses to build
/// untrusted crates (and says so), so a failed install is reported, not fatal.
fn ensure_sandbox() {
    if harness::cargo_build::sandbox_available() {
        return;
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        eprintln!(
            "warning: bubblewrap (bwrap) is missing, so crate plugins cannot be built sandboxed: install it (apt-get install bubblewrap)"
        );
        return;
    }
    eprintln!("setting up: apt-get install bubblewrap (the build sandbox for crate plugins)");
    let installed = std::process::Command::new("sh")
        .args([
            "-c",
            "apt-get update -qq && apt-get install -y -qq bubblewrap",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        eprintln!("warning: installing bubblewrap failed; crate plugins will not be built");
    }
}

/// README's set-up, visibly: the pinned JavaScript toolchain (`js/package-lock.json`: esbuild
/// and ComponentizeJS) that JavaScript plugins are built with, installed with `npm ci
/// --ignore-scripts` (no package's install script runs) into the git-ignored
/// `js/node_modules`. Without node it warns: Rust plugins still verify, and a JavaScript
/// plugin is then a harness error that says what is missing.
fn ensure_js_toolchain(root: &Path) {
    let js = root.join("js");
    if !js.join("package-lock.json").is_file()
        || js
            .join("node_modules/@bytecodealliance/componentize-js/package.json")
            .is_file()
    {
        return;
    }
    eprintln!(
        "setting up: npm ci --ignore-scripts in {} (the JavaScript plugin toolchain)",
        js.display()
    );
    let installed = std::process::Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(&js)
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        eprintln!(
            "warning: installing the JavaScript toolchain failed (is node installed? apt-get install nodejs npm); JavaScript plugins will not be built"
        );
    }
}

fn main() -> ExitCode {
    // A JavaScript build's sandbox runs this executable as its deterministic pre-initialiser.
    if let Some(code) = harness::js_preinit::serve_if_asked() {
        return code;
    }
    let task = Xtask::parse();
    task.color.apply();
    let root = match workspace_root() {
        Ok(root) => root,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(harness::cli::exit::HARNESS_ERROR);
        }
    };
    match task.command.into_harness() {
        Ok(mut command) => {
            // Paths the user typed are relative to where they typed them; defaults (the
            // library, the corpus) are relative to the workspace root.
            if let Ok(cwd) = std::env::current_dir() {
                for path in command.paths_mut() {
                    // A git URL is not a path.
                    if path.is_relative() && !path.to_string_lossy().contains("://") {
                        *path = cwd.join(&*path);
                    }
                }
            }
            if let Err(e) = ensure_wasm_target() {
                eprintln!("error: {e}");
                return ExitCode::from(harness::cli::exit::HARNESS_ERROR);
            }
            ensure_js_toolchain(&root);
            if let Err(e) = std::env::set_current_dir(&root) {
                eprintln!("error: {}: {e}", root.display());
                return ExitCode::from(harness::cli::exit::HARNESS_ERROR);
            }
            harness::cli::execute(command)
        }
        Err(Task::Review(args)) => match review::run(&root, &args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(harness::cli::exit::HARNESS_ERROR)
            }
        },
        Err(Task::New(args)) => match new::run(&root, &args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(harness::cli::exit::HARNESS_ERROR)
            }
        },
        Err(Task::Corpus(CorpusTask::Generate(args))) => match corpus::run(&root, &args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(harness::cli::exit::HARNESS_ERROR)
            }
        },
        Err(Task::Corpus(CorpusTask::Record(args))) => match record::run(&root, &args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(harness::cli::exit::HARNESS_ERROR)
            }
        },
        Err(other) => unreachable!("{other:?} is the harness's command"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own checks of the command line (a duplicated subcommand name, say), which
    /// otherwise fail only when someone runs `cargo xtask`.
    #[test]
    fn the_command_line_is_well_formed() {
        <Xtask as clap::CommandFactory>::command().debug_assert();
    }
}
