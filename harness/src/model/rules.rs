//! The one rule table: every rule any stage can emit, with its stage, severity, a one-line
//! summary and the reviewer's next step. `verify --list-rules` is generated from it, a
//! [`Finding`](super::finding::Finding) takes its severity from it, and a test fails when
//! the code can emit a rule id that is not here.

use super::finding::Severity::{self, Error, Info, Warning};
use super::stage::Stage;

/// One rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub stage: Stage,
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// One line: what the author or reviewer does about it.
    pub next_step: &'static str,
}

macro_rules! rules {
    ($( $stage:ident { $( $name:ident = $id:literal, $severity:ident, $summary:literal, $next:literal; )* } )*) => {
        /// Rule ids as constants, so that a typo is a compile error.
        pub mod id {
            $( $( pub const $name: &str = $id; )* )*
        }
        /// Every rule, in stage order.
        pub static TABLE: &[Rule] = &[
            $( $( Rule {
                id: $id,
                stage: Stage::$stage,
                severity: $severity,
                summary: $summary,
                next_step: $next,
            }, )* )*
        ];
    };
}

rules! {
    Static {
        MANIFEST_NOT_JSON = "manifest/not-json", Error,
            "plugin.json is not JSON",
            "fix the JSON syntax at the line and column given";
        MANIFEST_SCHEMA = "manifest/schema", Error,
            "plugin.json breaks schemas/plugin.schema.json (unknown field, wrong type, missing name or version)",
            "fix the field at the JSON pointer given; schemas/plugin.schema.json lists every field";
        MANIFEST_MAIN = "manifest/main", Error,
            "`main` does not name a regular file inside the plugin directory (absolute, `..`, a link out, a device, a FIFO)",
            "point `main` at the component file inside the plugin's directory";
        MANIFEST_VERSION = "manifest/version", Error,
            "`version` is not a semantic version (MAJOR.MINOR.PATCH)",
            "use a version such as 1.2.3";
        MANIFEST_POSTHOG_VERSION = "manifest/posthog-version", Error,
            "`posthogVersion` is not a semver range such as \">= 1.25.0\"",
            "write a semver range";
        MANIFEST_DUPLICATE_CONFIG_KEY = "manifest/duplicate-config-key", Error,
            "two config fields have the same `key`",
            "rename or remove one of the fields";
        MANIFEST_CHOICE_WITHOUT_CHOICES = "manifest/choice-without-choices", Error,
            "a `choice` config field has no `choices`",
            "list the choices, or make the field a string";
        MANIFEST_CHOICE_DEFAULT = "manifest/choice-default", Error,
            "a `choice` config field's default is not one of its choices",
            "make the default one of the choices";
        MANIFEST_CHOICES_WITHOUT_CHOICE_TYPE = "manifest/choices-without-choice-type", Warning,
            "a config field lists `choices` but its type is not `choice`, so they are ignored",
            "set `type` to `choice`, or drop `choices`";
        MANIFEST_JSON_DEFAULT = "manifest/json-default", Error,
            "a `json` config field's default is not JSON text",
            "make the default valid JSON text";
        MANIFEST_SECRET_DEFAULT = "manifest/secret-default", Error,
            "a `secret` config field has a default, which would publish the secret in plugin.json",
            "remove the default and rotate the secret if it was real";
        MANIFEST_REQUIRED_CONFIG = "manifest/required-config", Info,
            "a required config field has no default: it needs a value at install time",
            "nothing, unless the field should have a default";
        MANIFEST_VERIFY_CONFIG_UNKNOWN_KEY = "manifest/verify-config-unknown-key", Warning,
            "`verifyConfig` gives a value for a key that no config field has",
            "remove the key or add the config field";
        MANIFEST_VERIFY_CONFIG_CHOICE = "manifest/verify-config-choice", Error,
            "`verifyConfig` gives a `choice` field a value that is not one of its choices",
            "use one of the field's choices";
        MANIFEST_LIMITS_OVER_CEILING = "manifest/limits-over-ceiling", Error,
            "`limits` asks for more than the harness's ceiling",
            "lower the limit to at most the ceiling named";
        ARTIFACT_INVALID = "artifact/invalid", Error,
            "the component is not valid WebAssembly",
            "rebuild the component; the offset names where it breaks";
        ARTIFACT_CORE_MODULE = "artifact/core-module", Error,
            "the file is a core WebAssembly module, not a component (build with --target wasm32-wasip2)",
            "build with --target wasm32-wasip2, or wrap the module with wasm-tools component new";
        ARTIFACT_PRODUCERS = "artifact/producers", Info,
            "the language and toolchain the component's producers section names",
            "nothing; shown for the reviewer";
        ARTIFACT_EMBEDDED_SECRET = "artifact/embedded-secret", Error,
            "a data segment or custom section holds what looks like a credential (API key, token, private key)",
            "remove the credential from the code, pass it as a secret config field, and rotate it";
        CONTRACT_MISSING_EXPORT = "contract/missing-export", Error,
            "the component exports none of `process-event`, `on-event` and `export-events`",
            "export the contract with the SDK's transform!/export! macro";
        CONTRACT_EXPORT_SIGNATURE = "contract/export-signature", Error,
            "an export of the contract has a type other than the contract's",
            "rebuild against wit/plugin.wit (posthog:plugin@0.1.0)";
        CONTRACT_UNKNOWN_EXPORT = "contract/unknown-export", Info,
            "the component exports something the contract does not define; the harness never calls it",
            "nothing, unless the export was meant to be part of the contract";
        CAPABILITY_FORBIDDEN_IMPORT = "capability/forbidden-import", Error,
            "the component imports wasi:filesystem, wasi:sockets or wasi:http, which plugins may not use",
            "use the contract's capabilities (storage, cache, http) instead";
        CAPABILITY_UNKNOWN_IMPORT = "capability/unknown-import", Error,
            "the component imports something that is neither the contract nor the allowed WASI subset",
            "remove the dependency that pulls the import in";
        CAPABILITY_UNDECLARED_IMPORT = "capability/undeclared-import", Error,
            "the component imports a capability that plugin.json does not declare",
            "declare the capability in plugin.json, so that the reviewer sees it";
        CAPABILITY_UNUSED_DECLARATION = "capability/unused-declaration", Warning,
            "plugin.json declares a capability that the component never imports",
            "remove the declaration: a plugin asks only for what it uses";
        RESOURCES_FIGURES = "resources/figures", Info,
            "the component's size, core modules, functions, linear memory and tables",
            "nothing; shown for the reviewer";
        RESOURCES_COMPONENT_SIZE = "resources/component-size", Error,
            "the component file is larger than the harness accepts",
            "build with the plugin profile (opt-level, lto, strip) or drop dependencies";
        RESOURCES_MEMORY = "resources/memory", Error,
            "a linear memory starts larger than the plugin's memory limit allows",
            "lower the initial memory or raise limits.memoryMiB up to the ceiling";
        RESOURCES_TABLE = "resources/table", Error,
            "a table starts with more elements than the table limit allows",
            "shrink the table (fewer indirect functions)";
        RESOURCES_FUNCTIONS = "resources/functions", Error,
            "the component defines more core functions than the harness accepts",
            "drop dependencies or build with lto";
        SOURCE_METADATA = "source/metadata", Warning,
            "the crate's dependency graph could not be read (cargo metadata failed), so it was not checked",
            "fix Cargo.toml so that `cargo metadata --locked` runs";
        SOURCE_LOCKFILE = "source/lockfile", Error,
            "a crate plugin has no Cargo.lock, or one that does not match Cargo.toml: its build is not pinned",
            "commit Cargo.lock (cargo generate-lockfile) with the plugin";
        SOURCE_LICENSE_NOT_ALLOWED = "source/license-not-allowed", Error,
            "a dependency's licence is not on the allow-list",
            "replace the dependency, or ask the maintainers to allow the licence";
        SOURCE_LICENSE_UNKNOWN = "source/license-unknown", Warning,
            "a dependency declares no SPDX licence (none, or only a licence file to read by hand)",
            "read the licence file and ask for an exception, or replace the dependency";
        SOURCE_GIT_DEPENDENCY = "source/git-dependency", Warning,
            "a dependency comes from a git repository, not a registry",
            "depend on a published version";
        SOURCE_PATH_DEPENDENCY_OUTSIDE_ROOT = "source/path-dependency-outside-root", Warning,
            "a path dependency lives outside the library (or workspace) root",
            "vendor the dependency inside the library or depend on a published version";
        SOURCE_BUILD_SCRIPT = "source/build-script", Error,
            "a crate outside the allow-list runs a build script or is a proc-macro: code that would run on the host at build time",
            "remove the crate, or allow it with --allow-build-code / the build policy file after reading it";
        SOURCE_BUILD_SCRIPT_ALLOWED = "source/build-script-allowed", Info,
            "crates on the allow-list (or allowed by the maintainer) that run a build script or are proc-macros",
            "nothing; shown for the reviewer";
    }
    Load {
        LOAD_MANIFEST = "load/manifest", Error,
            "plugin.json cannot be read or parsed into a manifest",
            "fix plugin.json (the static stage names the field)";
        LOAD_BUILD = "load/build", Error,
            "the plugin crate does not build for wasm32-wasip2",
            "run the build command shown and fix the compiler's first error";
        SOURCE_JS_UNSUPPORTED = "source/js-unsupported", Error,
            "a JavaScript plugin uses PostHog plugin API the harness does not provide (jobs, meta.utils, meta.metrics, onAction, ...); found as it is bundled, in the static stage",
            "remove the use named, or port that part to the contract's capabilities";
        LOAD_JS_BUILD = "load/js-build", Error,
            "the JavaScript plugin does not bundle (esbuild) or does not become a component (ComponentizeJS: its top-level code threw, or called an import)",
            "fix the first error shown; dependencies must be in the plugin's node_modules, and top-level code may not call Math.random or the capabilities";
        LOAD_UNSANDBOXED = "load/unsandboxed", Error,
            "no build sandbox (bubblewrap) is available, and the crate's build was not trusted",
            "install bubblewrap (apt-get install bubblewrap) or pass --trust-build";
        LOAD_NO_COMPONENT = "load/no-component", Error,
            "no component: `main` names no file and there is no crate",
            "set `main` to the .wasm file or add Cargo.toml";
        LOAD_NOT_A_COMPONENT = "load/not-a-component", Error,
            "the file is not a WebAssembly component (or not valid)",
            "build with --target wasm32-wasip2";
        LOAD_EXPORT_SIGNATURE = "load/export-signature", Error,
            "an export's type differs from the contract's",
            "rebuild against wit/plugin.wit";
        LOAD_MISSING_EXPORT = "load/missing-export", Error,
            "neither process-event nor on-event is exported",
            "export the contract with the SDK's macros";
        LOAD_UNRESOLVED_IMPORT = "load/unresolved-import", Error,
            "an import the host does not provide",
            "remove the dependency that pulls the import in";
        LOAD_FIXTURES = "load/fixtures", Error,
            "fixtures/http.json cannot be read",
            "fix the fixture file named (JSON, inside the plugin directory)";
        LOAD_ATTACHMENT = "load/attachment", Error,
            "a config field of type attachment names a file that cannot be given to the plugin (missing, outside the plugin directory, over 16 MiB)",
            "name a file inside the plugin directory, at most 16 MiB, in verifyConfig (or the pipeline file's config)";
    }
    Corpus {
        LOAD_SETUP_FAILED = "load/setup-failed", Error,
            "setup returned an error or trapped",
            "read the message; check the plugin's verifyConfig and defaults";
        RUN_ENVIRONMENT_DEPENDENT = "run/environment-dependent", Error,
            "the plugin behaves differently under another clock start, a real-speed clock or another seed than in verification",
            "remove the dependence on the clock or randomness, or declare usesClock / usesRandom";
        RUN_ENVIRONMENT_DECLARED = "run/environment-declared", Info,
            "a declared dependence (usesClock, usesRandom) shows: the plugin's output differs under another environment",
            "nothing; shown for the reviewer";
        RUN_REAL_TIME_COST = "run/real-time-cost", Error,
            "the plugin takes far longer under a real-speed clock than under the logical one (it waits on the clock)",
            "do not busy-wait on the clock; bound the work per event";
        RUN_CONFORMANCE = "run/conformance", Error,
            "a case of the plugin's conformance.jsonl (from the upstream plugin's own tests) gives another outcome",
            "fix the plugin, or mark the case `differs` with the reason in the plugin's README";
        RUN_EXPORT_FAILED = "run/export-failed", Error,
            "a batch exporter gave a batch up (`failed`, or a trap or limit in export-events)",
            "return ExportError::Retry for failures that pass (rate limits, 5xx); check the fixtures answer what the exporter sends";
        RUN_EXPORT_RETRIES_EXHAUSTED = "run/export-retries-exhausted", Error,
            "a batch exporter asked to retry a batch until the retries ran out (3, backing off 6, 12, 24 s)",
            "an exporter that retries forever never exports: give up on permanent errors, and record fixtures that succeed";
        RUN_CAPTURE_FLOOD = "run/capture-flood", Error,
            "the plugin captured more events for one input event than maxCapturesPerEvent allows",
            "capture less per event, or declare maxCapturesPerEvent (at most 100) for the reviewer";
        RUN_MEMORY_GROWTH = "run/memory-growth", Error,
            "linear memory still grows on a second pass over the corpus",
            "bound the plugin's caches and state (a leak in production)";
    }
    Tasks {
        TASKS_ERROR_RESULT = "tasks/error-result", Error,
            "a scheduled task (runEveryMinute, runEveryHour, runEveryDay) returned an error in the simulated day",
            "read the message and the task's time; a task that fails every period fails in production too";
        TASKS_TRAP = "tasks/trap", Error,
            "a scheduled task trapped (panic, unreachable, out of bounds)",
            "read the panic message and backtrace; the task's time says which run";
        TASKS_LIMIT = "tasks/limit", Error,
            "a scheduled task was stopped by a limit (fuel, deadline, memory, host calls): a task gets what one event gets",
            "bound the work per run (a loop that does not end?); spread it over runs with storage";
    }
    Schema {
        SCHEMA_OUTPUT_INVALID = "schema/output-invalid", Error,
            "an emitted event breaks the event schemas",
            "see the JSON pointer; the event schemas are in schemas/";
        SCHEMA_OUTPUT_CONTRACT = "schema/output-contract", Error,
            "an emitted event breaks the plugin's declared output schema",
            "fix the plugin or its declared schema";
        SCHEMA_DECLARED_INVALID = "schema/declared-invalid", Error,
            "a schema the manifest declares is missing or invalid",
            "fix the schema file named (inside the plugin directory)";
    }
    Budget {
        BUDGET_FUEL_P99 = "budget/fuel-p99", Error,
            "fuel per event at p99 is over the plugin's budget",
            "make the common path cheaper, or raise limits.fuelPerEvent up to the ceiling";
        BUDGET_FUEL_MAX = "budget/fuel-max", Error,
            "the costliest corpus event needs more fuel than the plugin's budget",
            "look at the event named; bound the work per event";
        BUDGET_SUPER_LINEAR = "budget/super-linear", Error,
            "fuel grows faster than size^1.4 over probe events of 1 to 64 KiB",
            "find the quadratic step (nested loops over properties, repeated string copies)";
    }
    Property {
        PROPERTY_NO_FAILURE = "property/no-failure", Error,
            "a generated schema-valid event makes the plugin fail",
            "replay with the seed shown; the shrunk event is saved in corpus/regressions/";
        PROPERTY_OUTPUT_VALID = "property/output-valid", Error,
            "the output for a generated event is not a valid event",
            "replay with the seed shown; the pointer names what broke";
        PROPERTY_IDENTITY_PRESERVED = "property/identity-preserved", Error,
            "uuid, team_id, timestamp or distinct_id changed without mayChange",
            "keep the field, or declare it in mayChange";
        PROPERTY_DETERMINISTIC = "property/deterministic", Error,
            "the same event twice gives different outputs",
            "remove hidden state or randomness from the output";
        PROPERTY_FUEL_BUDGET = "property/fuel-budget", Error,
            "fuel per event over the plugin's budget",
            "bound the work on the event shown";
        PROPERTY_IDEMPOTENT = "property/idempotent", Error,
            "a plugin declared idempotent gives f(f(e)) != f(e)",
            "fix the plugin, or drop `idempotent` from plugin.json";
        PROPERTY_FRESH_VS_REUSED = "property/fresh-vs-reused", Error,
            "a fresh and a reused instance disagree (not declared stateful)",
            "remove state carried between events, or declare `stateful`";
        PROPERTY_REGRESSIONS_UNREADABLE = "property/regressions-unreadable", Error,
            "the saved regressions file cannot be read or written",
            "fix or delete the file named in corpus/regressions/";
        PROPERTY_ABORTED = "property/aborted", Warning,
            "the property run stopped before it finished",
            "read the reason; rerun with another --property-seed";
    }
    Snapshot {
        SNAPSHOT_CHANGED = "snapshot/changed", Error,
            "what the plugin does to corpus events differs from the snapshot",
            "review with `cargo xtask review`; accept if the change is intended";
        SNAPSHOT_NEW = "snapshot/new", Error,
            "no snapshot recorded yet for a corpus file",
            "run `cargo xtask verify --accept` locally and commit the snapshot";
        SNAPSHOT_STALE = "snapshot/stale", Warning,
            "a snapshot for a corpus file that no longer exists",
            "delete it, or run `cargo xtask verify --accept`";
        SNAPSHOT_INVALID = "snapshot/invalid", Error,
            "a snapshot file cannot be read",
            "delete the file and accept again";
        SNAPSHOT_WRITE_FAILED = "snapshot/write-failed", Error,
            "a snapshot could not be written",
            "check the plugin directory's permissions and disk space";
    }
    Bench {
        BENCH_THROUGHPUT = "bench/throughput", Error,
            "events/s over the corpus under --min-throughput",
            "profile the plugin on the corpus (cargo bench -p benches)";
    }
}

/// The failures of a call (`run/*`), each also as `...-on-event` when `on-event` failed. The
/// runtime's `FailureKind::rule` and `on_event_rule` return these ids.
macro_rules! run_rules {
    ($( $name:ident / $on_event:ident = $id:literal, $summary:literal, $next:literal; )*) => {
        /// Call failure rule ids.
        pub mod run {
            $( pub const $name: &str = $id;
               pub const $on_event: &str = concat!($id, "-on-event"); )*
        }
        /// The call failure rules (stage corpus; also emitted by property and `run`).
        pub static RUN_TABLE: &[Rule] = &[
            $( Rule { id: $id, stage: Stage::Corpus, severity: Error, summary: $summary, next_step: $next },
               Rule { id: concat!($id, "-on-event"), stage: Stage::Corpus, severity: Error,
                      summary: concat!("on-event: ", $summary), next_step: $next }, )*
        ];
    };
}

run_rules! {
    ERROR_RESULT / ERROR_RESULT_ON_EVENT = "run/error-result",
        "the plugin returned an error result",
        "read the message; an error keeps the event as it was";
    TRAP / TRAP_ON_EVENT = "run/trap",
        "the plugin trapped (panic, unreachable, out of bounds, stack overflow)",
        "read the panic message and backtrace; replay the event named";
    FUEL / FUEL_ON_EVENT = "run/fuel-exhausted",
        "the call ran out of fuel",
        "bound the work per event (a loop that does not end?)";
    TIMEOUT / TIMEOUT_ON_EVENT = "run/timeout",
        "the call ran past its wall-clock deadline",
        "bound the work per event; no busy-waiting";
    MEMORY / MEMORY_ON_EVENT = "run/memory-limit",
        "linear memory would grow past the limit",
        "bound what the plugin keeps, or raise limits.memoryMiB";
    TABLE / TABLE_ON_EVENT = "run/table-limit",
        "a table would grow past the limit",
        "fewer indirect functions";
    OUTPUT / OUTPUT_ON_EVENT = "run/output-too-large",
        "the returned event is larger than the limit",
        "do not grow events without bound";
    LOG / LOG_ON_EVENT = "run/log-limit",
        "more log bytes in one call than the limit",
        "log less per event";
    HOST_CALLS / HOST_CALLS_ON_EVENT = "run/host-call-limit",
        "more host calls in one call than the limit",
        "batch storage and cache calls";
    UNDECLARED / UNDECLARED_ON_EVENT = "run/undeclared-capability",
        "a capability the manifest does not declare was called",
        "declare the capability in plugin.json";
    INVALID_OUTPUT / INVALID_OUTPUT_ON_EVENT = "run/invalid-output",
        "the output is not JSON, or not a JSON object",
        "return the event as a JSON object";
    TEAM_ID / TEAM_ID_ON_EVENT = "run/team-id-changed",
        "the plugin changed team_id (restored)",
        "never change team_id";
    INSTANTIATE / INSTANTIATE_ON_EVENT = "run/instantiate",
        "a fresh instance could not be made",
        "read the message: setup failed or the component does not instantiate";
}

/// Every rule, in stage order.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    let mut rules: Vec<&'static Rule> = TABLE.iter().chain(RUN_TABLE).collect();
    rules.sort_by_key(|rule| rule.stage);
    rules.into_iter()
}

/// The rule with id `id`.
pub fn get(id: &str) -> Option<&'static Rule> {
    TABLE.iter().chain(RUN_TABLE).find(|rule| rule.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_namespaced_and_one_line() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in all() {
            assert!(seen.insert(rule.id), "duplicate rule {}", rule.id);
            let (_, name) = rule.id.split_once('/').expect("group/name");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
                "{}",
                rule.id
            );
            assert!(!rule.summary.contains('\n') && !rule.next_step.contains('\n'));
            assert!(!rule.next_step.is_empty(), "{} has no next step", rule.id);
        }
        assert!(seen.len() > 80, "{} rules", seen.len());
    }

    #[test]
    fn on_event_ids_follow_their_rule() {
        assert_eq!(run::TRAP_ON_EVENT, "run/trap-on-event");
        assert_eq!(get(run::TRAP_ON_EVENT).unwrap().stage, Stage::Corpus);
    }
}
