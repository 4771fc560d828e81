//! `run`: JSONL events through an ordered pipeline of approved plugins, as an operator runs
//! them. Returns the summary; the command line renders it.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::corpus::read_jsonl;
use crate::error::HarnessError;
use crate::pipeline::file::{PipelineEntry, PipelineFile, load_pipeline_in};
use crate::pipeline::{Disposition, Pipeline, StepOutcome, Summary};
use crate::plugin::LoadedPlugin;
use crate::runtime::{Network, Runtime, StorageFile};

/// What `run` is asked to do.
#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    /// A pipeline file whose plugins run first.
    pub pipeline: Option<PathBuf>,
    /// Plugins after the pipeline file's, in order.
    pub plugins: Vec<PathBuf>,
    /// Run plugins that are not approved.
    pub allow_unapproved: bool,
    /// The lock to check plugins against; `None`: the library's (`lock::lock_path_for_library`).
    pub lock: Option<PathBuf>,
    /// The library whose lock governs (default `plugins`).
    pub library: Option<PathBuf>,
    pub seed: u64,
    /// Give plugins verification's environment (the logical clock from 2024, `seed`) instead
    /// of the real one (the wall clock at real speed, random numbers seeded from the OS), to
    /// reproduce a verdict.
    pub deterministic: bool,
    /// Runtime health (`pipeline::health`); `None` runs every plugin on every event.
    pub health: Option<crate::pipeline::health::HealthConfig>,
    /// Where storage persists (ignored with `deterministic`, which keeps it in memory unless a
    /// file is named).
    pub storage: StorageSetting,
    /// How outgoing requests reach the network (without `deterministic`).
    pub network: crate::runtime::NetworkOptions,
    /// The MaxMind-format database `geoip` answers from (`--geoip-database`).
    pub geoip_database: Option<PathBuf>,
}

/// Where `run` keeps plugins' storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StorageSetting {
    /// The library's file ([`storage_path_for_library`]); memory with `--deterministic`.
    #[default]
    Library,
    File(PathBuf),
    /// In memory for the run, as while verifying.
    Memory,
}

/// The storage file of the library in `dir`: `<dir>/storage.redb`, beside its lock.
pub fn storage_path_for_library(dir: &Path) -> PathBuf {
    dir.join("storage.redb")
}

impl RunConfig {
    fn library_dir(&self) -> &Path {
        self.library.as_deref().unwrap_or(Path::new("plugins"))
    }

    /// The runtime plugins get: `None` in the deterministic environment, unless a storage file
    /// is named (fixtures answer `http` there).
    pub fn runtime(&self) -> Result<Option<Arc<Runtime>>, HarnessError> {
        let storage_path = match (&self.storage, self.deterministic) {
            (StorageSetting::File(path), _) => Some(path.clone()),
            (StorageSetting::Library, false) => Some(storage_path_for_library(self.library_dir())),
            (StorageSetting::Library, true) | (StorageSetting::Memory, _) => None,
        };
        let storage = storage_path
            .map(|path| StorageFile::open(&path))
            .transpose()
            .map_err(HarnessError::Other)?;
        let network = (!self.deterministic)
            .then(|| Network::new(&self.network))
            .transpose()
            .map_err(HarnessError::Other)?;
        let geoip = self
            .geoip_database
            .as_deref()
            .map(crate::geoip::GeoIpDatabase::open)
            .transpose()
            .map_err(HarnessError::Other)?
            .map(Arc::new);
        if storage.is_none() && network.is_none() && geoip.is_none() {
            return Ok(None);
        }
        Ok(Some(Arc::new(Runtime {
            network,
            storage,
            geoip,
            approved_requests: Default::default(),
        })))
    }
}

/// The pipeline's plugins, loaded and checked against the lock.
pub fn load(config: &RunConfig) -> Result<Vec<Arc<LoadedPlugin>>, HarnessError> {
    let mut entries = match &config.pipeline {
        Some(file) => PipelineFile::load(file)?,
        None => Vec::new(),
    };
    entries.extend(config.plugins.iter().map(|path| PipelineEntry {
        path: path.clone(),
        config: BTreeMap::new(),
    }));
    if entries.is_empty() {
        return Err(HarnessError::Other(
            "no plugins given (name them, or use --pipeline)".into(),
        ));
    }
    let runtime = config.runtime()?;
    let plugins = if config.deterministic {
        load_pipeline_in(&entries, config.seed, Default::default(), runtime.clone())?
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let clock = crate::host::ClockSetting {
            start_seconds: now,
            real_speed: true,
        };
        load_pipeline_in(&entries, os_seed()?, clock, runtime.clone())?
    };
    if !config.allow_unapproved {
        let lock_path = config
            .lock
            .clone()
            .unwrap_or_else(|| crate::lock::lock_path_for_library(config.library_dir()));
        check_approved(&plugins, &lock_path, runtime.as_deref())?;
    }
    Ok(plugins)
}

/// A seed from the operating system's random numbers (`/dev/urandom`).
fn os_seed() -> Result<u64, HarnessError> {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| HarnessError::io(Path::new("/dev/urandom"), e))?;
    Ok(u64::from_le_bytes(bytes))
}

/// Refuses plugins that are not approved in the lock file, or changed since, and binds each
/// plugin's requests to those its approval allows.
fn check_approved(
    plugins: &[Arc<LoadedPlugin>],
    lock_path: &Path,
    runtime: Option<&Runtime>,
) -> Result<(), HarnessError> {
    let lock = crate::lock::LockFile::load(lock_path)?.unwrap_or_default();
    let mut approved_requests = BTreeMap::new();
    for plugin in plugins {
        let locked = lock.check(plugin, lock_path).map_err(HarnessError::Other)?;
        approved_requests.insert(plugin.name.clone(), locked.http_requests.clone());
    }
    if let Some(runtime) = runtime {
        let _ = runtime.approved_requests.set(approved_requests);
    }
    Ok(())
}

/// How many failures `run` keeps per plugin and rule, to say why.
pub const FAILURES_SHOWN: usize = 3;

/// One failure `run` keeps: where the event came from and what the plugin said.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FailureExample {
    /// `file:line` of the input event (`<stdin>:N` for standard input).
    pub input: String,
    pub line: usize,
    /// The input event's name and uuid, when it had them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    pub message: String,
}

/// `run`'s summary: the pipeline's counts, and per plugin and rule the first
/// [`FAILURES_SHOWN`] failures with the event's input line (`--summary-json` adds the field
/// `failures`: plugin → rule → examples).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    #[serde(flatten)]
    pub summary: Summary,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failures: BTreeMap<String, BTreeMap<String, Vec<FailureExample>>>,
}

impl RunSummary {
    fn keep(&mut self, plugin: &str, rule: &str, example: impl FnOnce() -> FailureExample) {
        let rules = self.failures.entry(plugin.to_owned()).or_default();
        let examples = rules.entry(rule.to_owned()).or_default();
        if examples.len() < FAILURES_SHOWN {
            examples.push(example());
        }
    }
}

/// Writes the emitted events of some results and keeps their failures, each described by the
/// example the closure gives (where the results came from).
type Emit<'a> = dyn FnMut(
        &mut dyn Iterator<Item = &crate::pipeline::EventResult>,
        &dyn Fn() -> FailureExample,
        &mut RunSummary,
    ) + 'a;

/// How long `run` waits for the next input line before it looks for due scheduled tasks (the
/// timer that runs them while the input is quiet, as on a pipe).
pub const TASK_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs every event of `input` (named `input_name` in messages) through `plugins`, writing
/// emitted events as JSONL to `output`; `warn` gets each warning (a line that is not an event,
/// a plugin disabled at start). A failed write is a harness error: `run` never exits 0 having
/// lost output.
///
/// When a plugin has scheduled tasks, input is read and parsed on a thread of its own; this
/// thread runs the pipeline, and between events (or after [`TASK_POLL`] without one) the tasks
/// that are due on the plugins' clocks. What a task captures is emitted like any event.
pub fn run_events(
    plugins: Vec<Arc<LoadedPlugin>>,
    health: Option<crate::pipeline::health::HealthConfig>,
    input_name: &Path,
    input: impl BufRead + Send,
    output: &mut dyn Write,
    warn: &mut dyn FnMut(String),
) -> Result<RunSummary, HarnessError> {
    let mut explained = RunSummary::default();
    let storage_runtime = plugins
        .iter()
        .find_map(|plugin| plugin.context.runtime.clone())
        .filter(|runtime| runtime.storage.is_some());
    let mut pipeline = Pipeline::new(plugins);
    if let Some(health) = health {
        pipeline = pipeline.with_health(health);
    }
    for (name, failure) in pipeline.start() {
        warn(format!("{name} is disabled: {}", failure.message));
    }
    for plugin in pipeline.plugins() {
        if plugin.manifest.capabilities.geoip && plugin.context.geoip.is_none() {
            warn(format!(
                "{} uses geoip, but there is no GeoIP database (give --geoip-database FILE): every lookup answers nothing",
                plugin.name
            ));
        }
    }
    let with_tasks = pipeline.has_tasks();
    let mut write_error: Option<std::io::Error> = None;
    // Each emitted event is serialised into this buffer (reused) and written in one call.
    let mut out_line: Vec<u8> = Vec::new();
    let mut emit =
        |results: &mut dyn Iterator<Item = &crate::pipeline::EventResult>,
         source: &dyn Fn() -> FailureExample,
         explained: &mut RunSummary| {
            for result in results {
                let failures =
                    result
                        .steps
                        .iter()
                        .filter_map(|step| match &step.outcome {
                            StepOutcome::Failed { failure } => {
                                Some((&step.plugin, failure.kind.rule(), failure))
                            }
                            _ => None,
                        })
                        .chain(result.on_event_failures.iter().map(|(plugin, failure)| {
                            (plugin, failure.kind.on_event_rule(), failure)
                        }));
                for (plugin, rule, failure) in failures {
                    explained.keep(plugin, rule, || FailureExample {
                        message: failure.message.clone(),
                        ..source()
                    });
                }
                if let Disposition::Emitted { event } = &result.disposition
                    && write_error.is_none()
                {
                    out_line.clear();
                    serde_json::to_writer(&mut out_line, event)
                        .expect("a JSON value always serialises");
                    out_line.push(b'\n');
                    if let Err(e) = output.write_all(&out_line) {
                        write_error = Some(e);
                    }
                }
            }
        };
    let run_tasks = |pipeline: &mut Pipeline, explained: &mut RunSummary, emit: &mut Emit<'_>| {
        for run in pipeline.run_due_tasks() {
            let label = run.label();
            let source = || FailureExample {
                input: label.clone(),
                line: 0,
                event: None,
                uuid: None,
                message: String::new(),
            };
            if let Some(failure) = &run.failure {
                let rule = crate::pipeline::tasks::task_rule(failure.kind);
                explained.keep(&run.plugin, rule, || FailureExample {
                    message: failure.message.clone(),
                    ..source()
                });
            }
            emit(&mut run.captured.iter(), &source, explained);
        }
    };
    // One line of input: an event through the pipeline, or a line that is not one.
    let ingest = |parsed: Result<crate::corpus::SourcedEvent, crate::corpus::BadLine>,
                  pipeline: &mut Pipeline,
                  explained: &mut RunSummary,
                  emit: &mut Emit<'_>,
                  warn: &mut dyn FnMut(String)| match parsed {
        Ok(sourced) => {
            let field = |name: &str| sourced.event.get(name)?.as_str().map(str::to_owned);
            let (event_name, uuid) = (field("event"), field("uuid"));
            let (file, line) = (sourced.file.clone(), sourced.line);
            let ingested = pipeline.ingest(sourced.event);
            let source = || FailureExample {
                input: format!("{}:{line}", file.display()),
                line,
                event: event_name.clone(),
                uuid: uuid.clone(),
                message: String::new(),
            };
            emit(&mut ingested.results(), &source, explained);
        }
        Err(bad) => {
            warn(bad.to_string());
            pipeline.count_invalid_input();
        }
    };
    let stats = if !with_tasks {
        // Without scheduled tasks nothing needs a timer: read, parse and run on this thread
        // (measured: a reader thread handing parsed events over costs more than it saves).
        read_jsonl(input_name, input, |parsed| {
            ingest(parsed, &mut pipeline, &mut explained, &mut emit, warn)
        })?
    } else {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1024);
        std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                read_jsonl(input_name, input, |parsed| {
                    // The pipeline stops listening only when this thread is about to be joined.
                    let _ = sender.send(parsed);
                })
            });
            loop {
                match receiver.recv_timeout(TASK_POLL) {
                    Ok(parsed) => ingest(parsed, &mut pipeline, &mut explained, &mut emit, warn),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
                run_tasks(&mut pipeline, &mut explained, &mut emit);
            }
            reader
                .join()
                .unwrap_or_else(|_| Err(HarnessError::Other("the input reader panicked".into())))
        })?
    };
    if let Some(e) = write_error {
        return Err(HarnessError::Other(format!("writing the output: {e}")));
    }
    if stats.surrogates_replaced > 0 {
        warn(format!(
            "{}: {} unpaired UTF-16 surrogate escape(s) replaced by U+FFFD, as PostHog's capture does",
            input_name.display(),
            stats.surrogates_replaced
        ));
    }
    output
        .flush()
        .map_err(|e| HarnessError::Other(format!("writing the output: {e}")))?;
    let mut summary = pipeline.finish();
    if let Some(storage) = storage_runtime.as_ref().and_then(|r| r.storage.as_ref()) {
        storage.sync().map_err(HarnessError::Other)?;
    }
    for (name, counts) in &summary.per_plugin {
        for t in &counts.health_transitions {
            warn(format!(
                "{name}: health {:?} -> {:?} at event {}",
                t.from, t.to, t.event
            ));
        }
    }
    summary.surrogates_replaced = stats.surrogates_replaced as u64;
    explained.summary = summary;
    Ok(explained)
}
