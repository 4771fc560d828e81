//! Verification: a closed list of stages, run in a fixed order for each plugin, each producing
//! findings; any error finding rejects the plugin. [`verify_plugin`] judges one plugin;
//! [`verify_library`] does what `harness verify` does (corpus and schemas checked once, the
//! plugins selected, each judged, reports written, approvals recorded) and returns the data
//! the command line renders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::corpus::Corpus;
use crate::error::HarnessError;
use crate::model::json::one_line;
use crate::model::{ComponentInfo, Stage, StageReport, Verdict};
use crate::plugin::{LoadOptions, PluginSource};
use crate::report::{CorpusInfo, Report};
use crate::stages::{Subject, VerifyOptions};

/// Verifies one plugin. Never fails: everything wrong with the plugin is in the verdict.
pub fn verify_plugin(source: &PluginSource, options: &VerifyOptions) -> Verdict {
    let mut subject = Subject {
        source: source.clone(),
        manifest_text: None,
        manifest: None,
        artifact: None,
        plugin: None,
        corpus_results: Vec::new(),
    };
    let mut stages: Vec<StageReport> = Vec::new();
    for stage in Stage::ALL {
        let started = Instant::now();
        let mut report = match stage {
            Stage::Static => crate::stages::static_stage::run(&mut subject, options),
            Stage::Load if Verdict::has_errors(&stages, Stage::Static) => StageReport::skipped(
                Stage::Load,
                "the static stage found errors; nothing of the plugin runs",
            ),
            Stage::Load => crate::stages::load::run(&mut subject, options),
            Stage::Corpus => crate::stages::corpus::run(&mut subject, options),
            Stage::Tasks => crate::stages::tasks::run(&mut subject, options),
            Stage::Schema => crate::stages::schema::run(&mut subject, options),
            Stage::Budget => crate::stages::budget::run(&mut subject, options),
            Stage::Property => crate::stages::property::run(&mut subject, options),
            Stage::Snapshot => crate::stages::snapshot::run(&mut subject, options),
            Stage::Bench => crate::stages::bench::run(&mut subject, options),
        };
        report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        stages.push(report);
    }
    let mut verdict = Verdict {
        plugin: subject
            .manifest
            .as_ref()
            .map_or_else(|| source.display_name(), |m| one_line(&m.name)),
        version: subject.manifest.as_ref().map(|m| one_line(&m.version)),
        source: source.dir().to_owned(),
        approved: false,
        reason: None,
        component: subject.plugin.as_ref().map(|plugin| ComponentInfo {
            path: plugin.component_path.clone(),
            sha256: plugin.sha256.clone(),
            bytes: plugin.component_bytes,
            exports: plugin.exports.names(),
            capabilities: plugin.manifest.capabilities.names(),
            http_hosts: plugin
                .manifest
                .capabilities
                .http
                .as_ref()
                .map_or_else(Vec::new, |http| http.hosts.clone()),
            http_requests: plugin.context.fixtures.requests(),
            limits: *plugin.limits(),
            manifest_sha256: plugin.manifest.digest(),
        }),
        stages,
    };
    verdict.decide(options.strict);
    verdict
}

/// What `verify` over a library is asked to do (the command line's flags, as data).
#[derive(Clone, Debug)]
pub struct LibraryConfig {
    /// Plugins to verify; empty: every plugin of `library`.
    pub plugins: Vec<PathBuf>,
    pub library: PathBuf,
    pub corpus: PathBuf,
    /// The event schemas; `None`: `schemas/` when it exists.
    pub schemas: Option<PathBuf>,
    pub out: PathBuf,
    pub strict: bool,
    pub seed: u64,
    pub approve: bool,
    pub bench: crate::stages::bench::BenchOptions,
    pub changed: Option<String>,
    pub partition: Option<crate::gate::Partition>,
    pub cases: u32,
    pub property_seed: Option<u64>,
    pub snapshots: crate::stages::snapshot::SnapshotMode,
    pub build: crate::cargo_build::BuildPolicy,
    /// Where the stages report their progress within a plugin (nowhere by default).
    pub stage_progress: crate::stages::ProgressSink,
}

impl LibraryConfig {
    /// The defaults `harness verify` uses in the current directory.
    pub fn new() -> LibraryConfig {
        LibraryConfig {
            plugins: Vec::new(),
            library: PathBuf::from("plugins"),
            corpus: PathBuf::from("corpus"),
            schemas: None,
            out: PathBuf::from("target/harness"),
            strict: false,
            seed: 0,
            approve: false,
            bench: Default::default(),
            changed: None,
            partition: None,
            cases: crate::stages::property::PropertyOptions::default().cases,
            property_seed: None,
            snapshots: crate::stages::snapshot::SnapshotMode::Review,
            build: Default::default(),
            stage_progress: Default::default(),
        }
    }
}

impl Default for LibraryConfig {
    fn default() -> Self {
        LibraryConfig::new()
    }
}

/// What happens while a library is verified, for a caller that shows progress.
pub enum Progress<'a> {
    /// Which plugins were selected, and why when `--changed` narrowed them.
    Selected {
        count: usize,
        note: Option<String>,
    },
    Corpus(&'a CorpusInfo),
    /// A warning about the run itself (no schemas, say).
    Warning(String),
    Starting {
        index: usize,
        total: usize,
        path: &'a Path,
    },
    Verdict(&'a Verdict),
    /// A plugin that could not be read at all (a harness error, exit 2).
    Error(&'a str),
    /// Approved plugins recorded in the lock file.
    Approved {
        lock: &'a Path,
        plugins: &'a [String],
    },
}

/// The result of verifying a library: the report (as written to `out`) and the files written.
pub struct LibraryOutcome {
    pub report: Report,
    pub written: Vec<PathBuf>,
}

impl LibraryOutcome {
    /// Whether any plugin could not be read.
    pub fn harness_errors(&self) -> bool {
        !self.report.errors.is_empty()
    }

    /// Whether every plugin was approved.
    pub fn all_approved(&self) -> bool {
        self.report.verdicts.iter().all(|v| v.approved)
    }
}

/// The plugin directories of a library (those with a plugin.json), sorted by name.
pub fn library_plugins(library: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    let entries = std::fs::read_dir(library).map_err(|e| HarnessError::io(library, e))?;
    let mut plugins: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join(crate::plugin::MANIFEST_FILE).is_file())
        .collect();
    plugins.sort();
    Ok(plugins)
}

/// Verifies the plugins of a library as `harness verify` does and writes the reports.
/// `progress` sees each step as it happens. Fails only when the harness cannot do its job
/// (a bad corpus, an unwritable report); a plugin that cannot be read is an error in the
/// report, and a bad plugin is a rejected verdict.
pub fn verify_library(
    config: &LibraryConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<LibraryOutcome, HarnessError> {
    let plugin_paths = if config.plugins.is_empty() {
        let found = library_plugins(&config.library)?;
        if found.is_empty() {
            return Err(HarnessError::bad_file(
                &config.library,
                "no plugins (directories with plugin.json) here",
            ));
        }
        found
    } else {
        config.plugins.clone()
    };
    let (plugin_paths, note) = match &config.changed {
        Some(base) => {
            let changed = crate::gate::changed_since(base, plugin_paths)?;
            let note = format!("--changed {base}: {} plugin(s) changed", changed.len());
            (changed, Some(note))
        }
        None => (plugin_paths, None),
    };
    let plugin_paths = match config.partition {
        Some(partition) => partition.select(plugin_paths),
        None => plugin_paths,
    };
    progress(Progress::Selected {
        count: plugin_paths.len(),
        note,
    });
    let corpus = Arc::new(Corpus::load(&config.corpus)?);
    let corpus_info = CorpusInfo {
        dir: config.corpus.clone(),
        files: corpus.files.len(),
        events: corpus.events.len(),
    };
    progress(Progress::Corpus(&corpus_info));
    // Saved regressions live in the corpus directory (not read as corpus: not a .jsonl file
    // of it); a broken one stops here, as a broken corpus does.
    let regressions = config.corpus.join("regressions");
    crate::stages::property::check_regressions(&regressions)?;
    // The event schemas: `--schemas DIR`, or `schemas/` when it exists. The corpus must match
    // them before any plugin is judged against it.
    let schemas_dir = config
        .schemas
        .clone()
        .unwrap_or_else(|| PathBuf::from("schemas"));
    let schemas = if config.schemas.is_some()
        || schemas_dir.join(crate::schema::EVENT_SCHEMA_FILE).is_file()
    {
        let schemas = crate::schema::EventSchemas::load(&schemas_dir)?;
        crate::schema::check_corpus(&schemas, &corpus)?;
        Some(Arc::new(schemas))
    } else {
        progress(Progress::Warning(format!(
            "no event schemas in {}: the schema stage is skipped",
            schemas_dir.display()
        )));
        None
    };
    let options = VerifyOptions {
        corpus,
        library_root: std::env::current_dir().ok(),
        schemas,
        strict: config.strict,
        bench: config.bench,
        load: LoadOptions {
            config: BTreeMap::new(),
            random_seed: config.seed,
            measure_fuel: true,
            verify_config: true,
            build: config.build.clone(),
            clock: Default::default(),
            runtime: None,
        },
        build: config.build.clone(),
        property: crate::stages::property::PropertyOptions {
            cases: config.cases,
            seed: config.property_seed.unwrap_or(config.seed),
            regressions: Some(regressions),
        },
        snapshots: config.snapshots,
        progress: config.stage_progress.clone(),
    };

    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (index, path) in plugin_paths.iter().enumerate() {
        progress(Progress::Starting {
            index,
            total: plugin_paths.len(),
            path,
        });
        match crate::sources::resolve(path).map(|source| verify_plugin(&source, &options)) {
            Ok(verdict) => {
                // Two plugins with one name would share a lock entry, snapshots and
                // regressions: the second is a harness error, never silently approved.
                if let Some(first) = names.get(&verdict.plugin) {
                    let error = format!(
                        "{}: a second plugin named `{}` (the first is {})",
                        path.display(),
                        verdict.plugin,
                        first.display()
                    );
                    progress(Progress::Error(&error));
                    errors.push(error);
                    continue;
                }
                names.insert(verdict.plugin.clone(), path.clone());
                progress(Progress::Verdict(&verdict));
                verdicts.push(verdict);
            }
            Err(error) => {
                let error = error.to_string();
                progress(Progress::Error(&error));
                errors.push(error);
            }
        }
    }
    let conditions = crate::model::Conditions {
        environment: crate::model::ENVIRONMENT_POLICY.to_owned(),
        random_seed: config.seed,
        property_seed: options.property.seed,
        property_cases: options.property.cases,
        corpus_sha256: corpus_digest(&options.corpus.files)?,
        wasmtime: crate::model::WASMTIME_VERSION.to_owned(),
        fuel_per_kib: crate::model::limits::FUEL_PER_KIB,
    };
    if config.approve {
        let lock_path = crate::lock::lock_path_for_library(&config.library);
        let written = crate::lock::approve(&lock_path, &config.library, &verdicts, &conditions)?;
        progress(Progress::Approved {
            lock: &lock_path,
            plugins: &written,
        });
    }
    let report = Report::new(corpus_info, conditions, verdicts, errors);
    let written = report.write_files(&config.out)?;
    Ok(LibraryOutcome { report, written })
}

/// sha256 over the corpus files in order: each file's name (`recorded/NAME` for a recorded
/// one), then its bytes.
fn corpus_digest(files: &[PathBuf]) -> Result<String, HarnessError> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for file in files {
        let name = crate::corpus::file_label(file);
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(crate::error::read(file)?);
    }
    Ok(hex::encode(hasher.finalize()))
}
