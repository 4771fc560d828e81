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
pub mod tasks;

use std::path::PathBuf;
use std::sync::Arc;

use crate::corpus::Corpus;
use crate::manifest::Manifest;
use crate::pipeline::Ingested;
use crate::plugin::{Artifact, LoadOptions, LoadedPlugin, PluginSource};

/// What a stage reports while it runs, for a progress display (`verify` draws one when stderr
/// is a terminal). Nothing depends on it: the default sink drops everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageProgress<'a> {
    /// A crate plugin is being built, in the sandbox (minutes the first time).
    Building { plugin: &'a str },
    /// `done` of `total` steps of a stage: corpus events (both passes), generated events.
    Step {
        stage: crate::model::Stage,
        done: u64,
        total: u64,
    },
    /// The property stage found a failure and is shrinking it: `steps` candidates so far.
    Shrinking { steps: u32 },
}

/// A receiver of [`StageProgress`].
type ProgressFn = dyn Fn(StageProgress<'_>) + Send + Sync;

/// Where stages send [`StageProgress`]; `ProgressSink::default()` sends it nowhere.
#[derive(Clone, Default)]
pub struct ProgressSink(Option<Arc<ProgressFn>>);

impl ProgressSink {
    pub fn new(sink: impl Fn(StageProgress<'_>) + Send + Sync + 'static) -> ProgressSink {
        ProgressSink(Some(Arc::new(sink)))
    }

    pub fn emit(&self, progress: StageProgress<'_>) {
        if let Some(sink) = &self.0 {
            sink(progress);
        }
    }
}

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ProgressSink(..)"
        } else {
            "ProgressSink(none)"
        })
    }
}

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
    /// Where the stages report their progress (nowhere by default).
    pub progress: ProgressSink,
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
            progress: ProgressSink::default(),
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
