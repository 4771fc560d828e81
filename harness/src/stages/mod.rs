//! The stages of `verify`, one module each, in the order of [`Stage::ALL`]. Each reads what
//! earlier stages left in the [`Subject`] and returns a [`StageReport`](crate::model::StageReport).

pub mod bench;
pub mod budget;
pub mod corpus;
pub mod environments;
pub mod load;
pub mod property;
pub mod schema;
pub mod snapshot;
pub mod static_stage;

use std::path::PathBuf;
use std::sync::Arc;

use crate::corpus::Corpus;
use crate::manifest::Manifest;
use crate::pipeline::Ingested;
use crate::plugin::{Artifact, LoadOptions, LoadedPlugin, PluginSource};

/// How to verify.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The corpus, loaded (and checked) once for all plugins.
    pub corpus: Arc<Corpus>,
    /// Path dependencies of a crate plugin outside this directory are warnings (the
    /// repository's root; `None`: the crate's workspace).
    pub library_root: Option<PathBuf>,
    /// The event schemas, compiled once; `None` skips the schema stage.
    pub schemas: Option<Arc<crate::schema::EventSchemas>>,
    /// Reject on warnings too.
    pub strict: bool,
    /// The bench stage: off unless asked.
    pub bench: bench::BenchOptions,
    pub load: LoadOptions,
    /// How crate plugins are built: sandbox, trusted build code.
    pub build: crate::cargo_build::BuildPolicy,
    /// The property stage: generated events, seed, saved regressions.
    pub property: property::PropertyOptions,
    /// What the snapshot stage writes: nothing (CI), pending snapshots (local), or all.
    pub snapshots: snapshot::SnapshotMode,
}

impl VerifyOptions {
    /// Options for verifying against `corpus` as `cargo xtask verify` does by default, without
    /// event schemas or a library root: fuel measured up to the ceiling, the default property
    /// run, snapshots in local review mode, no bench.
    pub fn new(corpus: Arc<Corpus>) -> VerifyOptions {
        VerifyOptions {
            corpus,
            library_root: None,
            schemas: None,
            strict: false,
            bench: Default::default(),
            load: LoadOptions {
                measure_fuel: true,
                verify_config: true,
                ..LoadOptions::default()
            },
            build: Default::default(),
            property: Default::default(),
            snapshots: snapshot::SnapshotMode::Review,
        }
    }
}

/// The plugin being verified, filled in as the stages run; a stage whose inputs are missing
/// (because an earlier stage could not produce them) is skipped.
pub struct Subject {
    pub source: PluginSource,
    /// `plugin.json`'s text, when it could be read.
    pub manifest_text: Option<String>,
    pub manifest: Option<Manifest>,
    pub artifact: Option<Artifact>,
    pub plugin: Option<Arc<LoadedPlugin>>,
    /// What the plugin alone did with each corpus event (same order as the corpus), and with
    /// the events it captured meanwhile.
    pub corpus_results: Vec<Ingested>,
}
