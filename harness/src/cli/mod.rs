//! The command line, shared by the `harness` binary and `cargo xtask`: clap types, and the
//! mapping of the library's results to text and exit codes. Nothing else in the crate imports
//! this module; every verb is a library function that returns data (`verify::verify_library`,
//! `run::run_events`, `diff::diff_plugins`, `order::analyse`).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::corpus::Corpus;
use crate::error::HarnessError;
use crate::pipeline::file::PipelineFile;
use crate::verify::{LibraryConfig, Progress};

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
    /// Colour in human output: `auto` (a terminal, unless NO_COLOR is set), `always`, `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    #[command(subcommand)]
    pub command: Command,
}

/// When human output is coloured (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Makes this the choice of every stream the harness writes through (anstream), and of
    /// the progress display.
    pub fn apply(self) {
        let choice = match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
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
    Diff(DiffArgs),
    /// Find order-dependent adjacent plugins of a pipeline, and orders that break `requires`
    /// (exit 0 no broken order, 1 a plugin runs before what it requires, 2 harness error).
    Order(OrderArgs),
    /// Work on event corpora.
    #[command(subcommand)]
    Corpus(CorpusCommand),
}

#[derive(Debug, Subcommand)]
pub enum CorpusCommand {
    /// Turn a PostHog events export (JSON from the events API or the events table's CSV) into
    /// corpus JSONL, to verify plugins against your own traffic.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export: `.csv`, or JSON (an events API page, an array, or JSON lines).
    pub file: PathBuf,
    /// Write the JSONL here (default: stdout).
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Leave personal properties out ($ip, ip, e-mail, names, phone numbers, geoip position).
    #[arg(long, conflicts_with = "hash_personal")]
    pub drop_personal: bool,
    /// Replace personal properties and distinct_id by keyed digests; the key is read from the
    /// environment variable CORPUS_HASH_KEY (never the command line).
    #[arg(long)]
    pub hash_personal: bool,
    /// team_id for records without one.
    #[arg(long, default_value_t = 1)]
    pub team_id: i64,
    /// Event schemas the imported events must pass (default: `schemas`, when it exists).
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
}

/// How crate plugins are built (shared by every verb that builds).
#[derive(Debug, Args, Clone, Default)]
pub struct BuildArgs {
    /// Build crate plugins without a sandbox even when bubblewrap is missing: the plugin's
    /// build scripts and proc-macros then run on this machine as you.
    #[arg(long)]
    pub trust_build: bool,
    /// Allow this crate's build script or proc-macro beyond the built-in allow-list (repeat).
    #[arg(long, value_name = "CRATE")]
    pub allow_build_code: Vec<String>,
    /// A build policy file (TOML: `allow = ["crate", ...]`) adding to the allow-list.
    #[arg(long, value_name = "FILE")]
    pub build_policy: Option<PathBuf>,
}

impl BuildArgs {
    fn policy(&self) -> Result<crate::cargo_build::BuildPolicy, HarnessError> {
        crate::cargo_build::BuildPolicy::new(
            self.trust_build,
            &self.allow_build_code,
            self.build_policy.as_deref(),
        )
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Plugins to verify: directories (with plugin.json and a crate or a component), plugin.json
    /// files, or .wasm files with a plugin.json beside them. Default: every plugin in --library.
    pub plugins: Vec<PathBuf>,
    /// The plugin library: a directory of plugin directories.
    #[arg(long, value_name = "DIR")]
    pub library: Option<PathBuf>,
    /// The event corpus: a directory of .jsonl files (and those of its recorded/ subdirectory).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// The event schemas (default: `schemas/`, skipped with a warning when absent).
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Print the JSON report on stdout (the human report still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Where to write the reports (report.json, report.md, report.html, junit.xml,
    /// findings.sarif).
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
    /// List every rule with one line of explanation and the next step, and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Generated events per plugin in the property stage (saved regressions run on top; at
    /// least 1).
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub cases: u32,
    /// Seed of the property stage's generator (default: --seed); the report prints it, so
    /// that a failure can be replayed.
    #[arg(long, value_name = "SEED")]
    pub property_seed: Option<u64>,
    /// Accept every snapshot as it is now: write `plugins/<plugin>/snapshots/*.snap`.
    #[arg(long)]
    pub accept: bool,
    #[command(flatten)]
    pub build: BuildArgs,
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
    /// Run plugins that are not approved in the lock file (or whose component or manifest
    /// changed).
    #[arg(long)]
    pub allow_unapproved: bool,
    /// The library whose lock governs (`<library>/library.lock`, as `verify --approve` writes).
    #[arg(long, value_name = "DIR")]
    pub library: Option<PathBuf>,
    /// The lock file to check plugins against (default: the library's).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Seed of the plugins' random numbers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Give plugins verification's environment (the logical clock starting 2024-01-01, random
    /// numbers from --seed) instead of the wall clock and the OS's random numbers: to
    /// reproduce a verdict.
    #[arg(long)]
    pub deterministic: bool,
    /// Run every plugin on every event, whatever its health.
    #[arg(long)]
    pub no_health: bool,
    /// Health: tokens in a plugin's full bucket (failures and slow calls drain it, time
    /// refills it; below half the plugin is degraded, empty it is disabled until refilled
    /// past half).
    #[arg(long, default_value_t = 100.0, value_name = "TOKENS")]
    pub health_capacity: f64,
    /// Health: tokens refilled per second.
    #[arg(long, default_value_t = 10.0, value_name = "TOKENS")]
    pub health_refill: f64,
    /// Health: tokens a failed call costs.
    #[arg(long, default_value_t = 10.0, value_name = "TOKENS")]
    pub health_failure_cost: f64,
    /// Health: a call slower than this many milliseconds costs 5 tokens.
    #[arg(long, default_value_t = 100, value_name = "MS")]
    pub health_slow_ms: u64,
    /// Where plugins' storage persists: a file (created if missing), or `:memory:` to keep it
    /// for this run only. Default: `<library>/storage.redb` (memory with --deterministic).
    #[arg(long, value_name = "FILE")]
    pub storage: Option<PathBuf>,
    /// Trust these root certificates (PEM) for plugins' https requests instead of Mozilla's.
    #[arg(long, value_name = "PEM")]
    pub http_root_certificate: Vec<PathBuf>,
    /// Let plugins' requests reach hosts that resolve to loopback, private or link-local
    /// addresses (refused by default: a plugin must not reach the operator's own network).
    #[arg(long)]
    pub allow_private_network: bool,
    /// The MaxMind-format database (GeoIP2 or GeoLite2 City, `.mmdb`) that plugins with the
    /// `geoip` capability locate addresses in. Without one, every lookup answers nothing.
    #[arg(long, value_name = "MMDB")]
    pub geoip_database: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old plugin: a directory (plugin.json and a crate or a component) or a .wasm with a
    /// plugin.json beside it.
    pub old: PathBuf,
    /// The new plugin, in the same forms.
    pub new: PathBuf,
    /// The event corpus: a directory of .jsonl files (and those of its recorded/ subdirectory).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// How many changed events to show with their JSON diff.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub show: usize,
    /// Write a Markdown report (for a pull request) to stdout.
    #[arg(long)]
    pub markdown: bool,
    /// Also write the report as one self-contained HTML page (e.g. diff.html), each changed
    /// event's values old and new side by side.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Seed of the plugins' random numbers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct OrderArgs {
    /// The pipeline file (TOML, as for `run`).
    #[arg(long, value_name = "FILE")]
    pub pipeline: Option<PathBuf>,
    /// The event corpus: a directory of .jsonl files (and those of its recorded/ subdirectory).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
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
                .chain(args.build.build_policy.as_mut())
                .collect(),
            Command::Run(args) => {
                let mut paths: Vec<&mut PathBuf> = args.plugins.iter_mut().collect();
                if args.input != Path::new("-") {
                    paths.push(&mut args.input);
                }
                paths.extend(args.pipeline.as_mut());
                paths.extend(args.lock.as_mut());
                paths.extend(args.library.as_mut());
                paths.extend(
                    args.storage
                        .as_mut()
                        .filter(|path| path.as_path() != Path::new(":memory:")),
                );
                paths.extend(args.http_root_certificate.iter_mut());
                paths.extend(args.geoip_database.as_mut());
                paths
            }
            Command::Diff(args) => [&mut args.old, &mut args.new]
                .into_iter()
                .chain(args.corpus.as_mut())
                .chain(args.html.as_mut())
                .collect(),
            Command::Order(args) => args
                .pipeline
                .as_mut()
                .into_iter()
                .chain(args.corpus.as_mut())
                .collect(),
            Command::Corpus(CorpusCommand::Import(args)) => std::iter::once(&mut args.file)
                .chain(args.out.as_mut())
                .chain(args.schemas.as_mut())
                .collect(),
        }
    }
}

/// Parses the arguments of the `harness` binary and runs the command.
pub fn main() -> ExitCode {
    // Not a user's command: what a JavaScript build's sandbox runs as ComponentizeJS's
    // `wizer` (`js_preinit`), with `wizer`'s command line, so it bypasses clap.
    if let Some(code) = crate::js_preinit::serve_if_asked() {
        return code;
    }
    let cli = Cli::parse();
    cli.color.apply();
    execute(cli.command)
}

/// Runs a command and returns its exit code; errors are printed as one line on stderr (and
/// as a GitHub annotation under Actions).
pub fn execute(command: Command) -> ExitCode {
    let result = match command {
        Command::Verify(args) => verify(&args),
        Command::Run(args) => run(&args),
        Command::Diff(args) => diff(&args),
        Command::Order(args) => order(&args),
        Command::Corpus(CorpusCommand::Import(args)) => corpus_import(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let message = crate::report::one_line(&error.to_string());
            eprintln!("error: {message}");
            if github_actions() {
                println!("{}", crate::report::harness_error_annotation(&message));
            }
            ExitCode::from(exit::HARNESS_ERROR)
        }
    }
}

/// The URL of the GitHub Actions run, from the variables the runner sets.
fn github_run_url() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(format!(
        "{}/{}/actions/runs/{}",
        var("GITHUB_SERVER_URL")?,
        var("GITHUB_REPOSITORY")?,
        var("GITHUB_RUN_ID")?
    ))
}

fn github_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// Writes `text` to stdout and flushes it; a failed write (a closed pipe, a full disk) is a
/// harness error, never a silent exit 0.
fn print_stdout(text: &str) -> Result<(), HarnessError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| HarnessError::Other(format!("writing to stdout: {e}")))
}

fn verify(args: &VerifyArgs) -> Result<u8, HarnessError> {
    if args.list_rules {
        print_stdout(&crate::report::rule_list())?;
        return Ok(exit::OK);
    }
    let mut config = LibraryConfig::new();
    config.plugins = args.plugins.clone();
    if let Some(library) = &args.library {
        config.library = library.clone();
    }
    if let Some(corpus) = &args.corpus {
        config.corpus = corpus.clone();
    }
    if let Some(out) = &args.out {
        config.out = out.clone();
    }
    config.schemas = args.schemas.clone();
    config.strict = args.strict;
    config.seed = args.seed;
    config.approve = args.approve;
    config.bench = crate::stages::bench::BenchOptions {
        enabled: args.bench,
        min_throughput: args.min_throughput,
    };
    config.changed = args.changed.clone();
    config.partition = args.partition;
    config.cases = args.cases;
    config.property_seed = args.property_seed;
    config.snapshots = crate::stages::snapshot::SnapshotMode::from_env(args.accept);
    config.build = args.build.policy()?;

    let mut stderr = anstream::stderr();
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let display = crate::report::ProgressDisplay::new(terminal, crate::report::color_wanted());
    config.stage_progress = display.sink();
    let mut counts = (0usize, 0usize, 0usize);
    let outcome = crate::verify::verify_library(&config, &mut |progress| match progress {
        Progress::Selected { note, .. } => {
            if let Some(note) = note {
                display.suspend(|| writeln!(stderr, "{note}")).ok();
            }
        }
        Progress::Corpus(info) => {
            display
                .suspend(|| {
                    writeln!(
                        stderr,
                        "corpus: {} events from {} files in {}\n",
                        info.events,
                        info.files,
                        info.dir.display()
                    )
                })
                .ok();
        }
        Progress::Warning(warning) => {
            display
                .suspend(|| writeln!(stderr, "warning: {warning}"))
                .ok();
        }
        Progress::Starting { index, total, path } => display.plugin(index, total, path),
        Progress::Verdict(verdict) => {
            display
                .suspend(|| {
                    crate::report::write_verdicts(&mut stderr, std::slice::from_ref(verdict))
                })
                .ok();
            counts.0 += 1;
            if verdict.approved {
                counts.1 += 1;
            }
        }
        Progress::Error(error) => {
            display
                .suspend(|| writeln!(stderr, "error: {}\n", crate::report::one_line(error)))
                .ok();
            counts.2 += 1;
        }
        Progress::Approved { lock, plugins } => {
            display
                .suspend(|| {
                    writeln!(
                        stderr,
                        "approved in {}: {}",
                        lock.display(),
                        if plugins.is_empty() {
                            "nothing".to_owned()
                        } else {
                            plugins.join(", ")
                        }
                    )
                })
                .ok();
        }
    });
    display.finish();
    let outcome = outcome?;
    let (verified, approved, unreadable) = counts;
    let _ = writeln!(
        stderr,
        "verified {verified} plugin{}: {approved} approved, {} rejected{}",
        if verified == 1 { "" } else { "s" },
        verified - approved,
        if unreadable == 0 {
            String::new()
        } else {
            format!(", {unreadable} could not be read")
        }
    );
    let _ = writeln!(
        stderr,
        "reports: {}",
        outcome
            .written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut file| {
                file.write_all(
                    crate::report::step_summary(&outcome.report, github_run_url().as_deref())
                        .as_bytes(),
                )
            });
        if let Err(e) = appended {
            return Err(HarnessError::io(Path::new(&summary), e));
        }
    }
    if args.json {
        print_stdout(&format!("{}\n", outcome.report.to_json()))?;
    } else if github_actions() {
        print_stdout(&crate::report::github_annotations(&outcome.report.verdicts))?;
    }
    Ok(if outcome.harness_errors() {
        exit::HARNESS_ERROR
    } else if !outcome.all_approved() {
        exit::REJECTED
    } else {
        exit::OK
    })
}

fn corpus_import(args: &ImportArgs) -> Result<u8, HarnessError> {
    use crate::corpus_import::{ImportOptions, Personal};
    let personal = if args.drop_personal {
        Personal::Drop
    } else if args.hash_personal {
        let key = std::env::var("CORPUS_HASH_KEY")
            .ok()
            .filter(|k| k.len() >= 16)
            .ok_or_else(|| {
                HarnessError::Other(
                    "--hash-personal needs a key of at least 16 characters in CORPUS_HASH_KEY"
                        .into(),
                )
            })?;
        Personal::Hash { key }
    } else {
        Personal::Keep
    };
    let schemas_dir = args.schemas.clone().or_else(|| {
        let default = PathBuf::from("schemas");
        default.is_dir().then_some(default)
    });
    let schemas = schemas_dir
        .map(|dir| crate::schema::EventSchemas::load(&dir).map(std::sync::Arc::new))
        .transpose()?;
    let options = ImportOptions {
        personal,
        team_id: args.team_id,
        schemas,
    };
    let imported = crate::corpus_import::import_file(&args.file, &options)?;
    for skipped in &imported.skipped {
        eprintln!("warning: skipped {skipped}");
    }
    let text = crate::corpus_import::to_jsonl(&imported.events);
    match &args.out {
        Some(path) => std::fs::write(path, text).map_err(|e| HarnessError::io(path, e))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| HarnessError::Other(format!("writing to stdout: {e}")))?;
        }
    }
    eprintln!(
        "imported {} events from {}, skipped {}",
        imported.events.len(),
        args.file.display(),
        imported.skipped.len()
    );
    Ok(exit::OK)
}

fn run(args: &RunArgs) -> Result<u8, HarnessError> {
    let config = crate::run::RunConfig {
        pipeline: args.pipeline.clone(),
        plugins: args.plugins.clone(),
        allow_unapproved: args.allow_unapproved,
        lock: args.lock.clone(),
        library: args.library.clone(),
        seed: args.seed,
        deterministic: args.deterministic,
        health: (!args.no_health).then(|| crate::pipeline::health::HealthConfig {
            capacity: args.health_capacity,
            refill_per_second: args.health_refill,
            failure_cost: args.health_failure_cost,
            slow_call: std::time::Duration::from_millis(args.health_slow_ms),
            ..Default::default()
        }),
        storage: match &args.storage {
            None => crate::run::StorageSetting::Library,
            Some(path) if path == Path::new(":memory:") => crate::run::StorageSetting::Memory,
            Some(path) => crate::run::StorageSetting::File(path.clone()),
        },
        network: crate::runtime::NetworkOptions {
            root_certificates: args.http_root_certificate.clone(),
            allow_private_addresses: args.allow_private_network,
        },
        geoip_database: args.geoip_database.clone(),
    };
    let plugins = crate::run::load(&config)?;
    let stdin = args.input == Path::new("-");
    let input_name = if stdin {
        PathBuf::from("<stdin>")
    } else {
        args.input.clone()
    };
    // Read on a thread of its own (`run_events`), so `Send`: stdin itself, not its lock.
    let reader: Box<dyn BufRead + Send> = if stdin {
        Box::new(std::io::BufReader::with_capacity(1 << 16, std::io::stdin()))
    } else {
        let file =
            std::fs::File::open(&args.input).map_err(|e| HarnessError::io(&args.input, e))?;
        Box::new(std::io::BufReader::with_capacity(1 << 16, file))
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let summary = crate::run::run_events(
        plugins,
        config.health,
        &input_name,
        reader,
        &mut out,
        &mut |w| {
            eprintln!("warning: {w}");
        },
    )
    .map_err(|e| match e {
        HarnessError::Other(message) if message.starts_with("writing the output") => {
            HarnessError::Other(message.replace("the output", "to stdout"))
        }
        other => other,
    })?;
    let mut stderr = anstream::stderr();
    if args.summary_json {
        let _ = serde_json::to_writer_pretty(&mut stderr, &summary);
        let _ = writeln!(stderr);
    } else {
        let _ = crate::report::write_summary(&mut stderr, &summary);
    }
    Ok(exit::OK)
}

fn diff(args: &DiffArgs) -> Result<u8, HarnessError> {
    let corpus_dir = args
        .corpus
        .clone()
        .unwrap_or_else(|| PathBuf::from("corpus"));
    let corpus = Corpus::load(&corpus_dir)?;
    let report = crate::diff::diff_plugins(&args.old, &args.new, &corpus, args.seed)?;
    eprint!("{}", crate::report::diff::human(&report, args.show));
    if args.markdown {
        print_stdout(&crate::report::diff::markdown(&report, args.show))?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, crate::report::diff_html(&report, args.show))
            .map_err(|e| HarnessError::io(path, e))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(if report.identical() {
        exit::OK
    } else {
        exit::REJECTED
    })
}

fn order(args: &OrderArgs) -> Result<u8, HarnessError> {
    let pipeline = args
        .pipeline
        .clone()
        .unwrap_or_else(|| PathBuf::from("plugins/pipeline.toml"));
    let corpus_dir = args
        .corpus
        .clone()
        .unwrap_or_else(|| PathBuf::from("corpus"));
    let entries = PipelineFile::load(&pipeline)?;
    if entries.is_empty() {
        return Err(HarnessError::bad_file(
            &pipeline,
            "no plugins in the pipeline",
        ));
    }
    let corpus = Corpus::load(&corpus_dir)?;
    let report = crate::order::analyse(&entries, &corpus, args.seed)?;
    eprint!("{}", crate::report::order::human(&report));
    Ok(if report.violations.is_empty() {
        exit::OK
    } else {
        exit::REJECTED
    })
}

#[cfg(test)]
mod tests {
    /// clap's own checks of the command line, which otherwise fail only when it is parsed.
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
