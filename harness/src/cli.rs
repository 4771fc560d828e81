//! The command line, shared by the `harness` binary and `cargo xtask`: `verify` and `run`.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use serde_json::Value;

use crate::corpus::{Corpus, read_jsonl};
use crate::error::HarnessError;
use crate::manifest::Manifest;
use crate::pipeline::{Disposition, Pipeline};
use crate::plugin::{LoadOptions, LoadedPlugin};
use crate::verify::{Verdict, VerifyOptions, verify_plugin};

/// Exit codes, the same for every command.
pub mod exit {
    /// Every plugin approved; `run` processed its input.
    pub const OK: u8 = 0;
    /// At least one plugin rejected.
    pub const REJECTED: u8 = 1;
    /// The harness could not do its job: bad arguments, an unreadable file, a bad corpus.
    pub const HARNESS_ERROR: u8 = 2;
}

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Decides whether PostHog event plugins (WebAssembly components) may be installed"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify plugins and print one verdict per plugin (exit 0 all approved, 1 any rejected,
    /// 2 the harness could not do its job).
    Verify(VerifyArgs),
    /// Run JSONL events through plugins in the order given: events on stdout, summary on stderr.
    Run(RunArgs),
    /// Compare two versions of a plugin over the corpus: changed outputs, drops, failures,
    /// fuel and manifest (exit 0 identical behaviour, 1 it differs, 2 harness error).
    Diff(crate::diff::DiffArgs),
    /// Find order-dependent adjacent plugins of a pipeline, and orders that break `requires`
    /// (exit 0 no broken order, 1 a plugin runs before what it requires, 2 harness error).
    Order(crate::order::OrderArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Plugins to verify: directories (with plugin.json and a crate or a component), plugin.json
    /// files, or .wasm files with a plugin.json beside them. Default: every plugin in --library.
    pub plugins: Vec<PathBuf>,
    /// The plugin library: a directory of plugin directories.
    #[arg(long, value_name = "DIR")]
    pub library: Option<PathBuf>,
    /// The event corpus: a directory of .jsonl files.
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// The event schemas (default: `schemas/`, skipped with a warning when absent).
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Print the JSON report on stdout (the human report still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Where to write the reports (report.json, report.md, junit.xml, findings.sarif).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Reject on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Seed of the plugins' random numbers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Record the approved plugins in the library's lock file (`<library>/library.lock`).
    #[arg(long)]
    pub approve: bool,
    /// Also measure throughput over the corpus (events/s, MB/s); not a gate by itself.
    #[arg(long)]
    pub bench: bool,
    /// With --bench: reject a plugin slower than this many events per second.
    #[arg(long, value_name = "EVENTS_PER_SECOND", requires = "bench")]
    pub min_throughput: Option<f64>,
    /// Only plugins with files changed since this git revision (all of them when something
    /// outside the plugins changed: the harness, SDK, contract, corpus or schemas).
    #[arg(long, value_name = "BASE")]
    pub changed: Option<String>,
    /// Verify only share K of N (`--partition 2/4`): plugins sorted by path, every N-th, so that
    /// CI machines split the library deterministically.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<crate::gate::Partition>,
    /// List every rule with one line of explanation, and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Generated events per plugin in the property stage (saved regressions run on top).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub cases: u32,
    /// Seed of the property stage's generator (default: --seed); the report prints it, so
    /// that a failure can be replayed.
    #[arg(long, value_name = "SEED")]
    pub property_seed: Option<u64>,
    /// Accept every snapshot as it is now: write `plugins/<plugin>/snapshots/*.snap`.
    #[arg(long)]
    pub accept: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// JSONL events to run, `-` for stdin.
    #[arg(long, short, value_name = "FILE")]
    pub input: PathBuf,
    /// Plugins, in pipeline order.
    pub plugins: Vec<PathBuf>,
    /// A pipeline file (TOML): `[[plugins]]` entries with `path` and optional `config`, in order.
    /// Plugins given as arguments run after the file's.
    #[arg(long, value_name = "FILE")]
    pub pipeline: Option<PathBuf>,
    /// Print the summary as JSON on stderr instead of text.
    #[arg(long)]
    pub summary_json: bool,
    /// Run plugins that are not approved in their lock file (or whose component changed).
    #[arg(long)]
    pub allow_unapproved: bool,
    /// The lock file to check plugins against (default: `library.lock` beside each plugin's
    /// directory).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Seed of the plugins' random numbers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl Command {
    /// The path arguments the user gave, so that a wrapper (xtask) can make them absolute
    /// before changing directory.
    pub fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        match self {
            Command::Verify(args) => args
                .plugins
                .iter_mut()
                .chain(args.library.as_mut())
                .chain(args.corpus.as_mut())
                .chain(args.schemas.as_mut())
                .chain(args.out.as_mut())
                .collect(),
            Command::Run(args) => {
                let mut paths: Vec<&mut PathBuf> = args.plugins.iter_mut().collect();
                if args.input != Path::new("-") {
                    paths.push(&mut args.input);
                }
                paths.extend(args.pipeline.as_mut());
                paths.extend(args.lock.as_mut());
                paths
            }
            Command::Diff(args) => [&mut args.old, &mut args.new]
                .into_iter()
                .chain(args.corpus.as_mut())
                .collect(),
            Command::Order(args) => args
                .pipeline
                .as_mut()
                .into_iter()
                .chain(args.corpus.as_mut())
                .collect(),
        }
    }
}

/// Parses the arguments of the `harness` binary and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    execute(cli.command)
}

/// Runs a command and returns its exit code; errors are printed as one line on stderr.
pub fn execute(command: Command) -> ExitCode {
    let result = match command {
        Command::Verify(args) => verify(&args),
        Command::Run(args) => run(&args),
        Command::Diff(args) => crate::diff::execute(&args),
        Command::Order(args) => crate::order::execute(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit::HARNESS_ERROR)
        }
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

fn verify(args: &VerifyArgs) -> Result<u8, HarnessError> {
    if args.list_rules {
        print!("{}", crate::rules::list());
        return Ok(exit::OK);
    }
    let corpus_dir = args
        .corpus
        .clone()
        .unwrap_or_else(|| PathBuf::from("corpus"));
    let library = args
        .library
        .clone()
        .unwrap_or_else(|| PathBuf::from("plugins"));
    let plugin_paths = if args.plugins.is_empty() {
        let found = library_plugins(&library)?;
        if found.is_empty() {
            return Err(HarnessError::bad_file(
                &library,
                "no plugins (directories with plugin.json) here",
            ));
        }
        found
    } else {
        args.plugins.clone()
    };
    let plugin_paths = match &args.changed {
        Some(base) => {
            let changed = crate::gate::changed_since(base, plugin_paths)?;
            eprintln!("--changed {base}: {} plugin(s) changed", changed.len());
            changed
        }
        None => plugin_paths,
    };
    let plugin_paths = match args.partition {
        Some(partition) => partition.select(plugin_paths),
        None => plugin_paths,
    };
    let corpus = Arc::new(Corpus::load(&corpus_dir)?);
    eprintln!(
        "corpus: {} events from {} files in {}\n",
        corpus.events.len(),
        corpus.files.len(),
        corpus_dir.display()
    );
    // Saved regressions live in the corpus directory (not read as corpus: not a .jsonl file
    // of it); a broken one stops here, as a broken corpus does.
    let regressions = corpus_dir.join("regressions");
    crate::stages::property::check_regressions(&regressions)?;
    // The event schemas: `--schemas DIR`, or `schemas/` when it exists. The corpus must match
    // them before any plugin is judged against it.
    let schemas_dir = args
        .schemas
        .clone()
        .unwrap_or_else(|| PathBuf::from("schemas"));
    let schemas =
        if args.schemas.is_some() || schemas_dir.join(crate::schema::EVENT_SCHEMA_FILE).is_file() {
            let schemas = crate::schema::EventSchemas::load(&schemas_dir)?;
            crate::schema::check_corpus(&schemas, &corpus)?;
            Some(Arc::new(schemas))
        } else {
            eprintln!(
                "warning: no event schemas in {}: the schema stage is skipped",
                schemas_dir.display()
            );
            None
        };
    let options = VerifyOptions {
        corpus,
        library_root: std::env::current_dir().ok(),
        schemas,
        strict: args.strict,
        bench: crate::stages::bench::BenchOptions {
            enabled: args.bench,
            min_throughput: args.min_throughput,
        },
        load: LoadOptions {
            config: BTreeMap::new(),
            random_seed: args.seed,
            measure_fuel: true,
        },
        property: crate::stages::property::PropertyOptions {
            cases: args.cases,
            seed: args.property_seed.unwrap_or(args.seed),
            regressions: Some(regressions),
        },
        snapshots: crate::stages::snapshot::SnapshotMode::from_env(args.accept),
    };

    let corpus_info = crate::report::CorpusInfo {
        dir: corpus_dir.clone(),
        files: options.corpus.files.len(),
        events: options.corpus.events.len(),
    };
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut stderr = anstream::stderr();
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    for (index, path) in plugin_paths.iter().enumerate() {
        if progress {
            let _ = write!(
                stderr,
                "verifying {}/{}: {}…\r",
                index + 1,
                plugin_paths.len(),
                path.display()
            );
            let _ = stderr.flush();
        }
        let result = crate::sources::resolve(path).map(|source| verify_plugin(&source, &options));
        if progress {
            // Clear the progress line.
            let _ = write!(stderr, "\x1b[2K");
        }
        match result {
            Ok(verdict) => {
                let _ = crate::report::write_verdicts(&mut stderr, std::slice::from_ref(&verdict));
                verdicts.push(verdict);
            }
            Err(error) => {
                let _ = writeln!(stderr, "error: {error}\n");
                errors.push(error.to_string());
            }
        }
    }
    let approved = verdicts.iter().filter(|v| v.approved).count();
    let _ = writeln!(
        stderr,
        "verified {} plugin{}: {approved} approved, {} rejected{}",
        verdicts.len(),
        if verdicts.len() == 1 { "" } else { "s" },
        verdicts.len() - approved,
        if errors.is_empty() {
            String::new()
        } else {
            format!(", {} could not be read", errors.len())
        }
    );
    if args.approve {
        approve(&library, &verdicts)?;
    }
    let harness_errors = errors.len();
    let rejected = approved < verdicts.len();
    let report = crate::report::Report::new(corpus_info, verdicts, errors);
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("target/harness"));
    let written = report.write_files(&out_dir)?;
    let _ = writeln!(
        stderr,
        "reports: {}",
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        use std::io::Write as _;
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut file| file.write_all(crate::report::markdown(&report).as_bytes()));
        if let Err(e) = appended {
            let _ = writeln!(stderr, "warning: {}: {e}", Path::new(&summary).display());
        }
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let _ = writeln!(stdout, "{}", report.to_json());
    } else if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        let _ = write!(
            stdout,
            "{}",
            crate::report::github_annotations(&report.verdicts)
        );
    }
    Ok(if harness_errors > 0 {
        exit::HARNESS_ERROR
    } else if rejected {
        exit::REJECTED
    } else {
        exit::OK
    })
}

/// Records approved verdicts in `<library>/library.lock`, with the library's pipeline order.
fn approve(library: &Path, verdicts: &[Verdict]) -> Result<(), HarnessError> {
    let lock_path = library.join(crate::lock::LOCK_FILE);
    let mut lock = crate::lock::LockFile::load(&lock_path)?.unwrap_or_default();
    let pipeline_path = library.join("pipeline.toml");
    if pipeline_path.is_file() {
        lock.pipeline = PipelineFile::load(&pipeline_path)?
            .iter()
            .map(|entry| plugin_name(&entry.path))
            .collect();
    }
    let written = lock.record(verdicts);
    lock.save(&lock_path)?;
    eprintln!(
        "approved in {}: {}",
        lock_path.display(),
        if written.is_empty() {
            "nothing".to_owned()
        } else {
            written.join(", ")
        }
    );
    Ok(())
}

/// The name in a plugin directory's manifest, or the directory's name.
fn plugin_name(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(crate::plugin::MANIFEST_FILE))
        .ok()
        .and_then(|text| Manifest::parse(dir, &text).ok())
        .map(|manifest| manifest.name)
        .unwrap_or_else(|| {
            dir.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        })
}

/// Refuses plugins that are not approved in their lock file, or changed since.
fn check_approved(plugins: &[Arc<LoadedPlugin>], lock: Option<&Path>) -> Result<(), HarnessError> {
    let mut locks: BTreeMap<PathBuf, Option<crate::lock::LockFile>> = BTreeMap::new();
    for plugin in plugins {
        let path = lock.map_or_else(
            || crate::lock::lock_path_for(plugin.source.dir()),
            Path::to_owned,
        );
        if !locks.contains_key(&path) {
            locks.insert(path.clone(), crate::lock::LockFile::load(&path)?);
        }
        let file = locks[&path].clone().unwrap_or_default();
        file.check(plugin, &path).map_err(HarnessError::Other)?;
    }
    Ok(())
}

/// A pipeline file: the plugins in order, each with optional config values.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    pub plugins: Vec<PipelineEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineEntry {
    /// The plugin, relative to the pipeline file's directory.
    pub path: PathBuf,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

impl PipelineFile {
    /// Reads a pipeline file; entries' paths come back relative to the current directory.
    pub fn load(path: &Path) -> Result<Vec<PipelineEntry>, HarnessError> {
        let text = crate::error::read_to_string(path)?;
        let file: PipelineFile = toml::from_str(&text).map_err(|e| {
            HarnessError::bad_file(path, e.to_string().replace('\n', " ").trim().to_owned())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Ok(file
            .plugins
            .into_iter()
            .map(|entry| PipelineEntry {
                path: base.join(entry.path),
                config: entry.config,
            })
            .collect())
    }
}

/// Loads the plugins of a pipeline, in order. A plugin that does not load stops the run: a
/// pipeline with a plugin missing is not the pipeline that was asked for.
pub fn load_pipeline(
    entries: &[PipelineEntry],
    seed: u64,
) -> Result<Vec<Arc<LoadedPlugin>>, HarnessError> {
    entries
        .iter()
        .map(|entry| {
            let source = crate::sources::resolve(&entry.path)?;
            let options = LoadOptions {
                config: entry.config.clone(),
                random_seed: seed,
                measure_fuel: false,
            };
            crate::plugin::load(&source, &options)
                .map(Arc::new)
                .map_err(|e| HarnessError::Other(format!("{} ({})", e.message, e.rule)))
        })
        .collect()
}

fn run(args: &RunArgs) -> Result<u8, HarnessError> {
    let mut entries = match &args.pipeline {
        Some(file) => PipelineFile::load(file)?,
        None => Vec::new(),
    };
    entries.extend(args.plugins.iter().map(|path| PipelineEntry {
        path: path.clone(),
        config: BTreeMap::new(),
    }));
    if entries.is_empty() {
        return Err(HarnessError::Other(
            "no plugins given (name them, or use --pipeline)".into(),
        ));
    }
    let plugins = load_pipeline(&entries, args.seed)?;
    if !args.allow_unapproved {
        check_approved(&plugins, args.lock.as_deref())?;
    }
    let mut pipeline = Pipeline::new(plugins);
    for (name, failure) in pipeline.start() {
        eprintln!("warning: {name} is disabled: {}", failure.message);
    }

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write_error = None;
    let input_name = if args.input == Path::new("-") {
        PathBuf::from("<stdin>")
    } else {
        args.input.clone()
    };
    let reader: Box<dyn BufRead> = if args.input == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let file =
            std::fs::File::open(&args.input).map_err(|e| HarnessError::io(&args.input, e))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut emit = |pipeline: &mut Pipeline, event: Value| {
        // Events captured by plugins run through the pipeline once, after the event that
        // captured them; what those capture in turn is counted and not run again.
        let mut queue = VecDeque::from([(event, 0u8)]);
        while let Some((event, generation)) = queue.pop_front() {
            let result = pipeline.process(event.clone());
            if generation == 0 {
                for captured in result.captured {
                    queue.push_back((captured_event(&event, &captured), 1));
                }
            }
            if let Disposition::Emitted { event } = result.disposition
                && write_error.is_none()
                && let Err(e) = serde_json::to_writer(&mut out, &event)
                    .and_then(|_| writeln!(out).map_err(serde_json::Error::io))
            {
                write_error = Some(e);
            }
        }
    };

    read_jsonl(&input_name, reader, |parsed| match parsed {
        Ok(sourced) => emit(&mut pipeline, sourced.event),
        Err(bad) => {
            eprintln!("warning: {bad}");
            pipeline.count_invalid_input();
        }
    })?;
    out.flush()
        .map_err(|e| HarnessError::Other(format!("writing to stdout: {e}")))?;
    if let Some(e) = write_error {
        return Err(HarnessError::Other(format!("writing to stdout: {e}")));
    }
    let summary = pipeline.finish();
    let mut stderr = std::io::stderr().lock();
    if args.summary_json {
        let _ = serde_json::to_writer_pretty(&mut stderr, &summary);
        let _ = writeln!(stderr);
    } else {
        let _ = crate::report::write_summary(&mut stderr, &summary);
    }
    Ok(exit::OK)
}

/// The event a `capture` call makes: named by the plugin's call, `distinct_id` the plugin's
/// name, team and timestamp of the event that captured it.
fn captured_event(source: &Value, captured: &crate::host::CapturedEvent) -> Value {
    let mut event = serde_json::Map::new();
    event.insert("event".into(), captured.event.clone().into());
    event.insert("distinct_id".into(), captured.plugin.clone().into());
    event.insert("properties".into(), captured.properties.clone());
    for key in ["team_id", "timestamp", "now", "site_url"] {
        if let Some(value) = source.get(key) {
            event.insert(key.into(), value.clone());
        }
    }
    Value::Object(event)
}
