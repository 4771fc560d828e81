//! `cargo xtask`: the repository's tasks. Thin: arguments and orchestration only; the work is
//! done by the harness library.
//!
//! - `cargo xtask verify [PLUGIN...]`: verify the example library (or the plugins named).
//! - `cargo xtask run --input FILE.jsonl PLUGIN...`: run events through the ordered pipeline.
//! - `cargo xtask corpus`: regenerate the seeded part of `corpus/`.
//! - `cargo xtask review`: accept or reject pending snapshots (`*.snap.new`), diff by diff.
//! - `cargo xtask new NAME [--kind transform|export]`: scaffold a plugin under `plugins/NAME/`.

mod corpus;
mod new;
mod review;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Tasks of the plugin harness repository")]
struct Xtask {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    #[command(flatten)]
    Harness(harness::cli::Command),
    /// Regenerate the generated corpus files (seeded, so the same seed gives the same files).
    Corpus(corpus::CorpusArgs),
    /// Review pending snapshots (`*.snap.new`): show each diff, accept or reject it.
    Review(review::ReviewArgs),
    /// Scaffold a new plugin under `plugins/NAME/` (a crate using the SDK, plugin.json, an
    /// empty snapshots/ that the first `verify --accept` fills).
    New(new::NewArgs),
}

/// The workspace root (xtask lives one level below it).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_owned()
}

fn main() -> ExitCode {
    let task = Xtask::parse();
    let root = workspace_root();
    match task.command {
        Task::Harness(mut command) => {
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
            if let Err(e) = std::env::set_current_dir(&root) {
                eprintln!("error: {}: {e}", root.display());
                return ExitCode::from(harness::cli::exit::HARNESS_ERROR);
            }
            harness::cli::execute(command)
        }
        Task::Review(args) => match review::run(&root, &args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(harness::cli::exit::HARNESS_ERROR)
            }
        },
        Task::New(args) => match new::run(&root, &args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(harness::cli::exit::HARNESS_ERROR)
            }
        },
        Task::Corpus(args) => match corpus::run(&root, &args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(harness::cli::exit::HARNESS_ERROR)
            }
        },
    }
}
