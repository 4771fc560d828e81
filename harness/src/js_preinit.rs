//! ComponentizeJS's pre-initialisation (Wizer), done by the harness so that it is
//! deterministic: the same inputs give the same component, byte for byte, so the lock can pin
//! a JavaScript plugin's bytes like a Rust plugin's.
//!
//! ComponentizeJS snapshots the JavaScript engine after it has evaluated the plugin's bundle
//! (its top-level code). Its own `wizer` binary gives that evaluation the machine's clock and
//! random numbers and the build's temporary paths, so two builds differ, and so could what a
//! plugin decided at its top level: `const evil = Date.now() > LAUNCH` is benign when
//! approved and hostile when rebuilt after the date, with the same inputs. Here the engine
//! sees a fixed build clock, seeded random numbers, directories under fixed names, and a fuel
//! budget (an endless top-level loop is a build error, not a hung build).
//!
//! `build.mjs componentize` passes this as ComponentizeJS's `wizerBin`, through a script that
//! runs `harness pre-initialise-js ARGS` (this module's [`main`]) inside the build's sandbox.
//! It takes the arguments ComponentizeJS gives `wizer`: `--allow-wasi`, `--init-func NAME`,
//! `--dir=HOST`, `--mapdir=GUEST::HOST`, `--wasm-bulk-memory=true`, `--inherit-env=true`,
//! `-o=OUTPUT` and the input module, with the engine's arguments on standard input.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine, Extern, Linker, Module, Store, Val};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtxBuilder};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

/// The hidden subcommand ComponentizeJS's `wizerBin` script runs.
pub const SUBCOMMAND: &str = "pre-initialise-js";

/// What the build's clock shows when the engine starts: 2020-01-01T00:00:00Z.
pub const BUILD_CLOCK_UNIX_SECONDS: u64 = 1_577_836_800;
/// Each reading of the build's clock advances it by this much.
const BUILD_CLOCK_TICK_NANOS: u64 = 1_000;
/// The seed of the random numbers the engine's start reads.
const BUILD_RANDOM_SEED: u64 = 0;
/// Fuel for the engine's start and the plugin's top-level code: StarlingMonkey's start and a
/// small plugin take about 84 million, so this leaves a large bundle some twenty times that.
pub const PRE_INITIALISE_FUEL: u64 = 2_000_000_000;

/// Where the directories the engine may read appear to it, whatever their real paths.
const GUEST_DIR_PREFIX: &str = "/posthog-build";

/// The `wizer` command line ComponentizeJS builds.
#[derive(Debug, Default, PartialEq, Eq)]
struct Request {
    init_func: String,
    /// Host directories preopened under their own path.
    dirs: Vec<PathBuf>,
    /// `(guest, host)` directories.
    mapdirs: Vec<(String, PathBuf)>,
    inherit_env: bool,
    output: PathBuf,
    input: PathBuf,
}

fn parse(args: &[OsString]) -> Result<Request, String> {
    let mut request = Request::default();
    let mut input = None;
    let mut output = None;
    let mut args = args.iter().map(|a| {
        a.to_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("an argument is not UTF-8: {}", a.to_string_lossy()))
    });
    while let Some(arg) = args.next() {
        let arg = arg?;
        if arg == "--allow-wasi" || arg == "--wasm-bulk-memory=true" {
            continue;
        } else if arg == "--init-func" {
            request.init_func = args.next().ok_or("--init-func needs a name")??;
        } else if let Some(name) = arg.strip_prefix("--init-func=") {
            request.init_func = name.to_owned();
        } else if let Some(dir) = arg.strip_prefix("--dir=") {
            request.dirs.push(PathBuf::from(dir));
        } else if let Some(map) = arg.strip_prefix("--mapdir=") {
            let (guest, host) = map
                .split_once("::")
                .ok_or_else(|| format!("--mapdir={map}: not GUEST::HOST"))?;
            request
                .mapdirs
                .push((guest.to_owned(), PathBuf::from(host)));
        } else if let Some(value) = arg.strip_prefix("--inherit-env=") {
            request.inherit_env = value == "true";
        } else if let Some(path) = arg.strip_prefix("-o=") {
            output = Some(PathBuf::from(path));
        } else if arg.starts_with('-') {
            return Err(format!("unsupported option `{arg}`"));
        } else if input.replace(PathBuf::from(&arg)).is_some() {
            return Err(format!("more than one input module (`{arg}`)"));
        }
    }
    if request.init_func.is_empty() {
        return Err("no --init-func".to_owned());
    }
    request.output = output.ok_or("no -o=OUTPUT")?;
    request.input = input.ok_or("no input module")?;
    Ok(request)
}

/// Each host directory and the fixed guest name that stands for it, numbered in the command
/// line's order (ComponentizeJS's code fixes it; the paths themselves differ from build to
/// build) and listed longest first, so that a directory inside another is replaced whole.
fn guest_names(request: &Request) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = Vec::new();
    for host in request
        .dirs
        .iter()
        .chain(request.mapdirs.iter().map(|(_, host)| host))
    {
        let host = host.to_string_lossy().trim_end_matches('/').to_owned();
        if !names.iter().any(|(known, _)| *known == host) {
            let guest = format!("{GUEST_DIR_PREFIX}/{}", names.len());
            names.push((host, guest));
        }
    }
    names.sort_by_key(|(host, _)| std::cmp::Reverse(host.len()));
    names
}

fn canonical(text: &str, names: &[(String, String)]) -> String {
    names.iter().fold(text.to_owned(), |text, (host, guest)| {
        text.replace(host, guest)
    })
}

/// A clock that starts at [`BUILD_CLOCK_UNIX_SECONDS`] and advances a little at each reading.
#[derive(Default)]
struct BuildClock(AtomicU64);

impl BuildClock {
    fn tick(&self) -> u64 {
        self.0.fetch_add(BUILD_CLOCK_TICK_NANOS, Ordering::Relaxed)
    }
}

impl HostWallClock for BuildClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(BUILD_CLOCK_TICK_NANOS)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(BUILD_CLOCK_UNIX_SECONDS) + Duration::from_nanos(self.tick())
    }
}

impl HostMonotonicClock for BuildClock {
    fn resolution(&self) -> u64 {
        BUILD_CLOCK_TICK_NANOS
    }
    fn now(&self) -> u64 {
        self.tick()
    }
}

fn seeded() -> rand::rngs::StdRng {
    <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(BUILD_RANDOM_SEED)
}

/// The instance's state, read by Wizer's snapshot.
struct Snapshotted<'a> {
    store: &'a mut Store<WasiP1Ctx>,
    instance: wasmtime::Instance,
}

impl InstanceState for Snapshotted<'_> {
    async fn global_get(&mut self, name: &str, _: ValType) -> SnapshotVal {
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .expect("Wizer names the globals it exported");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            // Wizer refuses modules with reference-typed mutable globals before this.
            _ => unreachable!("a mutable global of a reference type"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .expect("Wizer names the memories it exported");
        contents(memory.data(&*self.store));
    }
}

/// Polls a future that never waits (the snapshot reads an instance already run) to its end.
fn complete<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// Pre-initialises `request.input` into `request.output`, the engine's arguments read from
/// `stdin`.
fn pre_initialise(request: &Request, stdin: &str) -> Result<(), String> {
    let names = guest_names(request);
    let wasm =
        std::fs::read(&request.input).map_err(|e| format!("{}: {e}", request.input.display()))?;
    let mut wizer = Wizer::new();
    wizer.init_func(request.init_func.clone());
    let (cx, instrumented) = wizer.instrument(&wasm).map_err(|e| format!("{e:#}"))?;

    let mut config = Config::new();
    config.consume_fuel(true);
    // The start runs for some 20 ms; compiling the 10 MB engine is what takes the time, a
    // little less without Cranelift's optimisations (9.8 s against 10.9 s, debug build).
    config.cranelift_opt_level(wasmtime::OptLevel::None);
    let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
    let module = Module::new(&engine, &instrumented).map_err(|e| format!("{e:#}"))?;

    let mut builder = WasiCtxBuilder::new();
    builder
        .stdin(MemoryInputPipe::new(canonical(stdin, &names)))
        .inherit_stdout()
        .inherit_stderr()
        .wall_clock(BuildClock::default())
        .monotonic_clock(BuildClock::default())
        .secure_random(seeded())
        .insecure_random(seeded())
        .insecure_random_seed(u128::from(BUILD_RANDOM_SEED))
        .allow_ip_name_lookup(false)
        .allow_tcp(false)
        .allow_udp(false);
    if request.inherit_env {
        // Variables that are not UTF-8 are left out (ComponentizeJS sets none).
        let mut env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
            .map(|(key, value)| (key, canonical(&value, &names)))
            .collect();
        env.sort();
        builder.envs(&env);
    }
    for (host, guest) in &names {
        builder
            .preopened_dir(host, guest, FsPerms::ReadOnly)
            .map_err(|e| format!("{host}: {e:#}"))?;
    }
    for (guest, host) in &request.mapdirs {
        builder
            .preopened_dir(host, guest, FsPerms::ReadOnly)
            .map_err(|e| format!("{}: {e:#}", host.display()))?;
    }
    let mut store = Store::new(&engine, builder.build_p1());
    store
        .set_fuel(PRE_INITIALISE_FUEL)
        .map_err(|e| format!("{e:#}"))?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(|e| format!("{e:#}"))?;
    // As `wizer --allow-wasi`: the contract's imports and WASI 0.2's trap if the start calls them.
    linker
        .define_unknown_imports_as_traps(&module)
        .map_err(|e| format!("{e:#}"))?;
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e| format!("{e:#}"))?;

    let trapped = |what: &str, e: wasmtime::Error| {
        let cause = e.root_cause().to_string();
        if matches!(
            e.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::OutOfFuel)
        ) {
            format!(
                "the `{what}` function trapped: the engine's start and the plugin's top-level code ran out of fuel ({PRE_INITIALISE_FUEL})"
            )
        } else if let Some(import) = cause
            .strip_prefix("unknown import: `")
            .and_then(|rest| rest.split('`').next())
        {
            let what_for = if import.starts_with("wasi:random/") {
                "random numbers (Math.random, crypto.getRandomValues)"
            } else if import.starts_with("posthog:plugin/") {
                "a capability of the contract"
            } else {
                "the host"
            };
            format!(
                "the `{what}` function trapped: the plugin's top-level code called `{import}` ({what_for}), which does not exist while the component is pre-initialised; call it from a function the host calls (setupPlugin, processEvent, ...)"
            )
        } else {
            format!("the `{what}` function trapped: {cause}")
        }
    };
    let mut initialisers = Vec::new();
    if let Some(Extern::Func(_)) = instance.get_export(&mut store, "_initialize") {
        initialisers.push("_initialize");
    }
    if request.init_func != "_initialize" {
        initialisers.push(request.init_func.as_str());
    }
    for name in initialisers {
        let func = instance
            .get_typed_func::<(), ()>(&mut store, name)
            .map_err(|e| format!("`{name}`: {e:#}"))?;
        func.call(&mut store, ()).map_err(|e| trapped(name, e))?;
    }
    let snapshot = complete(wizer.snapshot(
        &cx,
        &mut Snapshotted {
            store: &mut store,
            instance,
        },
    ))
    .map_err(|e| format!("{e:#}"))?;
    std::fs::write(&request.output, snapshot)
        .map_err(|e| format!("{}: {e}", request.output.display()))
}

/// Set by a binary that answers [`SUBCOMMAND`] ([`serve_if_asked`] at its start).
static SERVES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Called first thing by a binary that builds JavaScript plugins (`harness`, `xtask`): when
/// its command line is [`SUBCOMMAND`], does the pre-initialisation and returns its exit code;
/// otherwise notes that this executable can serve as the pre-initialiser and returns `None`.
pub fn serve_if_asked() -> Option<std::process::ExitCode> {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == SUBCOMMAND) {
        return Some(main(&args[2..]));
    }
    SERVES.store(true, Ordering::Relaxed);
    None
}

/// The executable a build runs as its pre-initialiser: this process's own when it serves
/// [`SUBCOMMAND`], else a `harness` binary of the same target directory (beside it; a test
/// or bench binary is in `target/<profile>/deps`, so in the directory above, or the other
/// profile's).
pub fn executable() -> Result<PathBuf, String> {
    let current = std::env::current_exe()
        .and_then(|exe| exe.canonicalize())
        .map_err(|e| format!("this executable's path: {e}"))?;
    if SERVES.load(Ordering::Relaxed) {
        return Ok(current);
    }
    let dir = current.parent();
    let profile = dir.and_then(Path::parent);
    let target = profile.and_then(Path::parent);
    let candidates = [
        dir.map(|d| d.join("harness")),
        profile.map(|p| p.join("harness")),
        target.map(|t| t.join("release/harness")),
        target.map(|t| t.join("debug/harness")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            format!(
                "no `harness` executable near {} to pre-initialise JavaScript components with (build it: cargo build -p harness)",
                current.display()
            )
        })
}

/// `harness pre-initialise-js ARGS`: what ComponentizeJS asks of `wizer`. ComponentizeJS
/// shows what this writes to stderr when it fails.
pub fn main(args: &[OsString]) -> std::process::ExitCode {
    let mut stdin = String::new();
    let result = parse(args).and_then(|request| {
        std::io::stdin()
            .read_to_string(&mut stdin)
            .map_err(|e| format!("standard input: {e}"))?;
        pre_initialise(&request, &stdin)
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn componentize_js_command_line_is_read_and_paths_get_fixed_names() {
        let request = parse(&args(&[
            "--allow-wasi",
            "--init-func",
            "componentize.wizer",
            "--dir=/tmp/componentize-AbC123/sources",
            "--mapdir=/::/home/me/.cache/js-work-77-0",
            "--wasm-bulk-memory=true",
            "--inherit-env=true",
            "-o=/tmp/componentize-AbC123/out.wasm",
            "/tmp/componentize-AbC123/in.wasm",
        ]))
        .unwrap();
        assert_eq!(request.init_func, "componentize.wizer");
        assert!(request.inherit_env);
        assert_eq!(
            request.input,
            PathBuf::from("/tmp/componentize-AbC123/in.wasm")
        );
        let names = guest_names(&request);
        let stdin = "--initializer-script-path /tmp/componentize-AbC123/sources/initializer.js \
                     --strip-path-prefix /home/me/.cache/js-work-77-0/ bundle.js";
        let fixed = canonical(stdin, &names);
        assert!(
            !fixed.contains("AbC123") && !fixed.contains("js-work-77"),
            "{fixed}"
        );
        // Another build's paths give the same text.
        let other = parse(&args(&[
            "--init-func=componentize.wizer",
            "--dir=/tmp/componentize-XyZ789/sources",
            "--mapdir=/::/home/me/.cache/js-work-12-3",
            "-o=o.wasm",
            "i.wasm",
        ]))
        .unwrap();
        let other_stdin = stdin
            .replace("AbC123", "XyZ789")
            .replace("js-work-77-0", "js-work-12-3");
        assert_eq!(canonical(&other_stdin, &guest_names(&other)), fixed);
    }

    #[test]
    fn command_lines_it_cannot_honour_are_refused() {
        for (line, expected) in [
            (
                vec!["--init-func=f", "-o=o", "i", "--keep-init-func"],
                "unsupported option",
            ),
            (vec!["-o=o", "i"], "no --init-func"),
            (vec!["--init-func=f", "i"], "no -o=OUTPUT"),
            (vec!["--init-func=f", "-o=o"], "no input module"),
            (
                vec!["--init-func=f", "-o=o", "a", "b"],
                "more than one input",
            ),
            (
                vec!["--init-func=f", "--mapdir=/x", "-o=o", "i"],
                "not GUEST::HOST",
            ),
        ] {
            let error = parse(&args(&line)).unwrap_err();
            assert!(error.contains(expected), "{line:?}: {error}");
        }
    }
}
