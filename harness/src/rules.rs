//! Every rule of every stage, for `verify --list-rules`: one line each, grouped by stage.

use crate::host::LimitHit;
use crate::instance::FailureKind;
use crate::verify::Severity;

/// Rules of the stages other than the static one (whose rules live with their checks).
const RULES: &[(&str, &str, &str)] = &[
    (
        "load",
        "load/manifest",
        "plugin.json cannot be read or parsed into a manifest",
    ),
    (
        "load",
        "load/build",
        "the plugin crate does not build for wasm32-wasip2",
    ),
    (
        "load",
        "load/no-component",
        "no component: `main` names no file and there is no crate",
    ),
    (
        "load",
        "load/not-a-component",
        "the file is not a WebAssembly component (or not valid)",
    ),
    (
        "load",
        "load/export-signature",
        "an export's type differs from the contract's",
    ),
    (
        "load",
        "load/missing-export",
        "neither process-event nor on-event is exported",
    ),
    (
        "load",
        "load/unresolved-import",
        "an import the host does not provide",
    ),
    ("load", "load/fixtures", "fixtures/http.json cannot be read"),
    (
        "corpus",
        "load/setup-failed",
        "setup returned an error or trapped",
    ),
    (
        "corpus",
        "run/memory-growth",
        "linear memory still grows on a second pass over the corpus",
    ),
    (
        "schema",
        "schema/output-invalid",
        "an emitted event breaks the event schemas",
    ),
    (
        "schema",
        "schema/output-contract",
        "an emitted event breaks the plugin's declared output schema",
    ),
    (
        "schema",
        "schema/declared-invalid",
        "a schema the manifest declares is missing or invalid",
    ),
    (
        "bench",
        "bench/throughput",
        "events/s over the corpus under --min-throughput",
    ),
    (
        "property",
        "property/no-failure",
        "a generated schema-valid event makes the plugin fail",
    ),
    (
        "property",
        "property/output-valid",
        "the output for a generated event is not a valid event",
    ),
    (
        "property",
        "property/identity-preserved",
        "uuid, team_id, timestamp or distinct_id changed without mayChange",
    ),
    (
        "property",
        "property/deterministic",
        "the same event twice gives different outputs",
    ),
    (
        "property",
        "property/fuel-budget",
        "fuel per event over the plugin's budget",
    ),
    (
        "property",
        "property/idempotent",
        "a plugin declared idempotent gives f(f(e)) != f(e)",
    ),
    (
        "property",
        "property/fresh-vs-reused",
        "a fresh and a reused instance disagree (not declared stateful)",
    ),
    (
        "property",
        "property/regressions-unreadable",
        "the saved regressions file cannot be read",
    ),
    (
        "property",
        "property/aborted",
        "the property run stopped before it finished",
    ),
    (
        "snapshot",
        "snapshot/changed",
        "what the plugin does to corpus events differs from the snapshot",
    ),
    (
        "snapshot",
        "snapshot/new",
        "no snapshot recorded yet for a corpus file",
    ),
    (
        "snapshot",
        "snapshot/stale",
        "a snapshot for a corpus file that no longer exists",
    ),
    (
        "snapshot",
        "snapshot/invalid",
        "a snapshot file cannot be read",
    ),
    (
        "snapshot",
        "snapshot/write-failed",
        "a snapshot could not be written",
    ),
];

/// What each call failure means, for the corpus stage's `run/...` rules.
fn run_rule_summary(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::ErrorResult => "the plugin returned an error result",
        FailureKind::Trap => {
            "the plugin trapped (panic, unreachable, out of bounds, stack overflow)"
        }
        FailureKind::Limit(LimitHit::Fuel) => "the call ran out of fuel",
        FailureKind::Limit(LimitHit::Timeout) => "the call ran past its wall-clock deadline",
        FailureKind::Limit(LimitHit::Memory) => "linear memory would grow past the limit",
        FailureKind::Limit(LimitHit::Table) => "a table would grow past the limit",
        FailureKind::Limit(LimitHit::OutputSize) => "the returned event is larger than the limit",
        FailureKind::Limit(LimitHit::LogVolume) => "more log bytes in one call than the limit",
        FailureKind::Limit(LimitHit::HostCalls) => "more host calls in one call than the limit",
        FailureKind::Limit(LimitHit::UndeclaredCapability) => {
            "a capability the manifest does not declare was called"
        }
        FailureKind::InvalidOutput => "the output is not JSON, or not a JSON object",
        FailureKind::TeamIdChanged => "the plugin changed team_id (restored)",
        FailureKind::Instantiate => "a fresh instance could not be made",
    }
}

const FAILURE_KINDS: [FailureKind; 13] = [
    FailureKind::ErrorResult,
    FailureKind::Trap,
    FailureKind::Limit(LimitHit::Fuel),
    FailureKind::Limit(LimitHit::Timeout),
    FailureKind::Limit(LimitHit::Memory),
    FailureKind::Limit(LimitHit::Table),
    FailureKind::Limit(LimitHit::OutputSize),
    FailureKind::Limit(LimitHit::LogVolume),
    FailureKind::Limit(LimitHit::HostCalls),
    FailureKind::Limit(LimitHit::UndeclaredCapability),
    FailureKind::InvalidOutput,
    FailureKind::TeamIdChanged,
    FailureKind::Instantiate,
];

/// Every rule as `(stage, id, severity, summary)`, in stage order.
pub fn all() -> Vec<(&'static str, &'static str, Severity, &'static str)> {
    let mut rules: Vec<_> = crate::static_analysis::rules()
        .iter()
        .map(|r| ("static", r.id, r.severity, r.summary))
        .collect();
    let (load, rest): (Vec<_>, Vec<_>) = RULES.iter().partition(|(stage, ..)| *stage == "load");
    rules.extend(
        load.iter()
            .map(|(s, id, summary)| (*s, *id, Severity::Error, *summary)),
    );
    rules.extend(FAILURE_KINDS.iter().map(|kind| {
        (
            "corpus",
            kind.rule(),
            Severity::Error,
            run_rule_summary(*kind),
        )
    }));
    rules.extend(
        rest.iter()
            .map(|(s, id, summary)| (*s, *id, Severity::Error, *summary)),
    );
    rules
}

/// The rule list as text, one line per rule.
pub fn list() -> String {
    let mut out = String::new();
    for (stage, id, severity, summary) in all() {
        let severity = match severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        out.push_str(&format!("{stage:<9} {id:<40} {severity:<8} {summary}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<&str> = super::all().iter().map(|r| r.1).collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
        assert!(count > 60, "{count} rules");
    }
}
