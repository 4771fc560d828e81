//! JavaScript plugins (`js_build`): a PostHog plugin directory as its author wrote it is
//! bundled, componentized and verified; what it may not use is a static finding; what its
//! code tries at build time reaches nothing of the host; a missing toolchain is the machine's
//! fault (exit 2); and a port of it to Rust is compared with `diff`.
//!
//! Each distinct bundle costs a ComponentizeJS build and a compilation once per machine (both
//! cached); the tests share the few plugins they build.

use crate::common;

use std::path::Path;

use harness::model::{Stage, StageStatus};
use harness::plugin::PluginSource;
use harness::stages::VerifyOptions;
use serde_json::{Value, json};

/// A plugin directory with `plugin.json` (`manifest`) and each of `files`.
fn js_plugin(manifest: Value, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::write_file(dir.path(), "plugin.json", &manifest.to_string());
    for (name, text) in files {
        common::write_file(dir.path(), name, text);
    }
    dir
}

fn verify(dir: &Path) -> harness::model::Verdict {
    let corpus = harness::corpus::Corpus::load(&common::workspace_root().join("corpus")).unwrap();
    let options = VerifyOptions {
        snapshots: harness::stages::snapshot::SnapshotMode::Check,
        ..VerifyOptions::new(std::sync::Arc::new(corpus))
    };
    harness::verify::verify_plugin(&PluginSource::resolve(dir).unwrap(), &options)
}

fn static_findings(verdict: &harness::model::Verdict) -> Vec<(String, String)> {
    verdict
        .stages
        .iter()
        .filter(|s| s.stage == Stage::Static)
        .flat_map(|s| &s.findings)
        .map(|f| (f.rule.to_string(), f.message.clone()))
        .collect()
}

/// Verifies a plugin whose `index.js` is `code` and checks that it is rejected by the static
/// stage's `rule`, with a message that contains `expected`.
fn assert_rejected_by(code: &str, rule: &str, expected: &str) {
    let dir = js_plugin(
        json!({"name": "rejected", "version": "0.1.0"}),
        &[("index.js", code)],
    );
    let verdict = verify(dir.path());
    assert!(!verdict.approved, "{code}");
    let findings = static_findings(&verdict);
    assert!(
        findings
            .iter()
            .any(|(id, message)| id == rule && message.contains(expected)),
        "{code}: {findings:?}"
    );
}

/// PostHog API the harness does not provide is named by a static rule, and nothing is built.
#[test]
fn unsupported_posthog_api_is_a_static_finding_naming_it() {
    let cases = [
        (
            "export async function processEvent(event, { jobs }) {\n  await jobs.retryLater({ id: 1 }).runIn(30, 'seconds')\n  return event\n}\n",
            "jobs (meta.jobs)",
        ),
        (
            "export function processEvent(event, meta) {\n  meta.jobs.x({}).runNow()\n  return event\n}\n",
            "jobs (meta.jobs)",
        ),
        (
            "export function onAction(action) {}\nexport function processEvent(event) { return event }\n",
            "actions (onAction)",
        ),
        (
            "export async function processEvent(event, meta) {\n  meta.metrics.seen.increment(1)\n  return event\n}\n",
            "metrics (meta.metrics)",
        ),
        // PostHog's plugin server provided `pg` (AVAILABLE_IMPORTS); the contract has no
        // database client.
        (
            "import { Client } from 'pg'\nexport function processEvent(event) { return event }\n",
            "the `pg` import (PostHog's plugin server provided it",
        ),
    ];
    for (code, what) in cases {
        assert_rejected_by(code, "source/js-unsupported", what);
    }
}

/// Code that does not bundle (a syntax error, a node built-in) is a finding naming the file
/// and line, never a harness error; top-level code that never ends is stopped by the
/// pre-initialiser's fuel, a finding too, not a build that hangs.
#[test]
fn a_plugin_that_does_not_build_is_a_finding_with_its_line() {
    for (code, expected) in [
        ("export function processEvent(event {\n", "index.js:1:"),
        (
            "while (true) {}\nexport function processEvent(e) { return e }\n",
            "ran out of fuel",
        ),
        // ComponentizeJS's own pre-initialiser fails the same way: no random numbers yet.
        (
            "const roll = Math.random()\nexport function processEvent(e) { return e }\n",
            "Math.random",
        ),
        (
            "import { readFileSync } from 'node:fs'\nexport function processEvent(e) { readFileSync('/etc/passwd'); return e }\n",
            "node:fs",
        ),
    ] {
        assert_rejected_by(code, "load/js-build", expected);
    }
}

/// Top-level code runs only inside the WebAssembly engine, at pre-initialisation, in the
/// sandbox: it sees no environment (the harness's tokens included), no files, no `require`,
/// and a capability call at the top level fails the build instead of reaching anything.
#[test]
fn top_level_code_sees_nothing_of_the_host() {
    let probe = r#"
const seen = []
seen.push(`process:${typeof process}`)
seen.push(`env:${typeof process !== 'undefined' && process.env ? JSON.stringify(process.env) : 'none'}`)
try {
  const load = require
  load('f' + 's').readFileSync('/etc/passwd')
  seen.push('fs:read')
} catch (e) {
  seen.push('fs:refused')
}
export function processEvent(event) {
  event.properties = { ...event.properties, seen: seen.join(' ') }
  return event
}
"#;
    let dir = js_plugin(
        json!({"name": "probe", "version": "0.1.0"}),
        &[("index.js", probe)],
    );
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, common::event("probe", 1).to_string() + "\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "--allow-unapproved", "--deterministic", "--input"])
        .arg(&input)
        .arg(dir.path())
        .env("GITHUB_TOKEN", "ghp_top_level_must_not_see_this")
        .env("NPM_TOKEN", "npm_top_level_must_not_see_this")
        .env_remove("CI")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", common::stderr(&output));
    let event: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let seen = event["properties"]["seen"].as_str().unwrap();
    assert!(seen.contains("process:undefined"), "{seen}");
    assert!(seen.contains("fs:refused"), "{seen}");
    assert!(seen.contains("env:none"), "{seen}");
    assert!(!stdout.contains("must_not_see_this"), "{stdout}");

    // A capability (here the network) called at the top level: the build fails, nothing runs.
    let dir = js_plugin(
        json!({"name": "fetches-at-load", "version": "0.1.0", "capabilities": {"http": {"hosts": ["example.com"]}}}),
        &[(
            "index.js",
            "const answer = fetch('https://example.com/exfiltrate')\nexport function processEvent(event) { return event }\n",
        )],
    );
    let verdict = verify(dir.path());
    assert!(!verdict.approved);
    let findings = static_findings(&verdict);
    assert!(
        findings.iter().any(|(rule, _)| rule == "load/js-build"),
        "{findings:?}"
    );
}

/// What PostHog's plugin server let plugins import (plugin-server's `AVAILABLE_IMPORTS`) and
/// the contract can answer resolves to the compatibility layer: `RetryError` from
/// `@posthog/plugin-scaffold`, `node-fetch`'s default export, `url`'s `URL`. A TypeScript
/// plugin written against the scaffold builds as it is.
#[test]
fn posthogs_provided_imports_resolve_to_the_compatibility_layer() {
    let code = r#"import { Plugin, PluginEvent, RetryError } from '@posthog/plugin-scaffold'
import fetch from 'node-fetch'
import { URL } from 'url'

export function processEvent(event: PluginEvent) {
    const url = new URL(String(event.properties?.$current_url))
    event.properties = {
        ...event.properties,
        host: url.host,
        retry_is_an_error: new RetryError('again') instanceof Error,
        fetch_is: typeof fetch,
    }
    return event
}
"#;
    let dir = js_plugin(
        json!({"name": "scaffolded", "version": "0.1.0", "capabilities": {"http": {"hosts": ["example.com"]}}}),
        &[("index.ts", code)],
    );
    let mut event = common::event("$pageview", 1);
    event["properties"]["$current_url"] = json!("https://app.example.com/path?q=1");
    let event = common::run_event(dir.path(), &event, |command| {
        command.arg("--deterministic");
    });
    let properties = &event["properties"];
    assert_eq!(properties["host"], "app.example.com", "{event}");
    assert_eq!(properties["retry_is_an_error"], true, "{event}");
    assert_eq!(properties["fetch_is"], "function", "{event}");
}

/// PostHog's plugin server took a plugin's methods from its named exports or from the object
/// it exports: `module.exports = plugin` (CommonJS, as PostHog's GeoIP plugin is written) and
/// `export default plugin` work as named exports do.
#[test]
fn a_plugin_object_exported_whole_is_the_plugin() {
    for (style, code) in [
        (
            "module.exports",
            "const plugin = {\n  processEvent: async (event, { config }) => {\n    event.properties = { ...event.properties, style: 'cjs', greeting: config.greeting }\n    return event\n  },\n}\nmodule.exports = plugin\n",
        ),
        (
            "export default",
            "const plugin = {\n  async processEvent(event, { config }) {\n    event.properties = { ...event.properties, style: 'default', greeting: config.greeting }\n    return event\n  },\n}\nexport default plugin\n",
        ),
    ] {
        let dir = js_plugin(
            json!({"name": "whole", "version": "0.1.0", "config": [{"key": "greeting", "type": "string", "default": "hello"}]}),
            &[("index.ts", code)],
        );
        let event = common::run_event(dir.path(), &common::event("whole", 1), |command| {
            command.arg("--deterministic");
        });
        assert_eq!(event["properties"]["greeting"], "hello", "{style}: {event}");
        assert!(event["properties"]["style"].is_string(), "{style}: {event}");
    }
}

/// The harness pre-initialises JavaScript components itself (`js_preinit`): what top-level
/// code reads of the clock is the build's own fixed clock, not the machine's, so a plugin
/// cannot arm itself by the date it is rebuilt on (`const evil = Date.now() > LAUNCH`), and
/// two builds of the same inputs are the same bytes, which the lock pins. (Random numbers do
/// not exist at the top level: see `a_plugin_that_does_not_build_is_a_finding_with_its_line`.)
#[test]
fn the_top_level_clock_is_the_builds_and_two_builds_are_the_same_bytes() {
    let code = "const builtAt = Date.now()\n\
                export function processEvent(event) {\n  \
                event.properties = { ...event.properties, built_at: builtAt }\n  \
                return event\n}\n";
    let dir = js_plugin(
        json!({"name": "time-bomb", "version": "0.1.0"}),
        &[("index.js", code)],
    );
    let policy = harness::cargo_build::BuildPolicy::default();
    let first = harness::js_build::build_js_plugin(dir.path(), "index.js", &policy).unwrap();
    let bytes = std::fs::read(&first.component).unwrap();
    // Gone from the cache, so that the second build is a build (its inputs are this test's).
    std::fs::remove_file(&first.component).unwrap();
    let second = harness::js_build::build_js_plugin(dir.path(), "index.js", &policy).unwrap();
    assert!(!second.cache_hit);
    assert!(
        bytes == std::fs::read(&second.component).unwrap(),
        "two builds of the same inputs differ"
    );

    // `run` on the machine's real clock: the value is still the build's.
    let event = common::run_event(dir.path(), &common::event("tick", 1), |_| {});
    let built_at = event["properties"]["built_at"].as_f64().unwrap();
    let build_clock = (harness::js_preinit::BUILD_CLOCK_UNIX_SECONDS * 1000) as f64;
    assert!(
        (build_clock..build_clock + 1000.0).contains(&built_at),
        "top-level Date.now() was {built_at}, not the build clock's {build_clock}"
    );
}

/// Without node (or without the installed toolchain) a JavaScript plugin is the machine's
/// fault: exit 2, and one error line naming the plugin and what is missing.
#[test]
fn a_missing_node_or_toolchain_is_a_harness_error() {
    let dir = js_plugin(
        json!({"name": "needs-node", "version": "0.1.0"}),
        &[("index.js", "export function processEvent(e) { return e }\n")],
    );
    for (key, value, expected) in [
        ("PATH", "/nonexistent", "node is not installed"),
        (
            harness::js_build::TOOLCHAIN_ENV,
            "/nonexistent/js",
            "JavaScript toolchain",
        ),
    ] {
        let out = tempfile::tempdir().unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
            .arg("verify")
            .arg("--out")
            .arg(out.path())
            .arg(dir.path())
            .current_dir(common::workspace_root())
            .env(key, value)
            .env_remove("CI")
            .output()
            .unwrap();
        let stderr = common::stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|line| line.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(errors[0].contains(expected), "{stderr}");
        assert!(
            errors[0].contains(&dir.path().display().to_string()),
            "{stderr}"
        );
    }
}

/// Port parity: PostHog's URL normalizer as JavaScript against our Rust port, over the corpus.
/// They agree on ordinary URLs and differ where the WHATWG parsers or the error paths do; the
/// diff lists each difference.
#[test]
fn diff_reports_where_a_rust_port_differs_from_the_javascript_plugin() {
    let corpus = harness::corpus::Corpus::load(&common::workspace_root().join("corpus")).unwrap();
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js-plugins/js-url-normalizer");
    let rust = common::workspace_root().join("plugins/url-normalizer");
    let report = harness::diff::diff_plugins(&js, &rust, &corpus, 0).unwrap();
    let differences = report.changed.len()
        + report.newly_dropped.len()
        + report.no_longer_dropped.len()
        + report.new_failures.len()
        + report.fixed_failures.len();
    assert!(differences > 0, "the port should differ somewhere");
    assert!(
        differences * 2 < report.events,
        "the port should agree on most events: {differences} of {}",
        report.events
    );
}

/// The JavaScript examples verify through every stage, each with its snapshots; their fuel
/// is measured against the JavaScript allowance per KiB.
#[test]
fn javascript_examples_pass_every_stage() {
    for name in [
        "js-property-filter",
        "js-first-time-event",
        "js-currency-normalization",
        "js-webhook-exporter",
    ] {
        let dir = common::workspace_root().join("plugins").join(name);
        let verdict = verify(&dir);
        assert!(
            verdict.approved,
            "{name}: {:?}\n{:#?}",
            verdict.reason, verdict.stages
        );
        let snapshot = common::stage(&verdict, Stage::Snapshot);
        assert_eq!(snapshot.status, StageStatus::Passed, "{name}");
        let component = verdict.component.unwrap();
        assert_eq!(
            component.limits.fuel_per_kib,
            harness::model::limits::JS_FUEL_PER_KIB
        );
    }
}

/// `onEvent` sees each final event, and `posthog.capture` sends a new one into ingestion.
#[test]
fn on_event_and_posthog_capture_work_through_the_compatibility_layer() {
    let dir = js_plugin(
        json!({"name": "capturer", "version": "0.1.0", "capabilities": {"capture": true}}),
        &[(
            "index.js",
            "export async function onEvent(event, { config }) {\n  if (event.event === 'first') {\n    posthog.capture('seen first', { source: event.distinct_id, prefix: config.prefix })\n  }\n}\n",
        )],
    );
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, common::two_events()).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "--allow-unapproved", "--deterministic", "--input"])
        .arg(&input)
        .arg(dir.path())
        .env_remove("CI")
        .output()
        .unwrap();
    let stderr = common::stderr(&output);
    assert!(output.status.success(), "{stderr}");
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let captured: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "seen first")
        .collect();
    assert_eq!(captured.len(), 1, "{events:#?}\n{stderr}");
    assert_eq!(captured[0]["properties"]["source"], "user-1");
    assert!(stderr.contains("captured 1"), "{stderr}");
}

/// `meta.geoip` and a scheduled task, as PostHog's plugins used them: the lookup answers from the
/// database built from the plugin's `fixtures/geoip.json`, in the node reader's camelCase, and
/// the tasks stage runs `runEveryHour` through the compatibility layer.
#[test]
fn geoip_and_scheduled_tasks_work_through_the_compatibility_layer() {
    let dir = js_plugin(
        json!({"name": "located", "version": "0.1.0", "capabilities": {"geoip": true, "storage": true}}),
        &[(
            "index.js",
            "export async function processEvent(event, { geoip }) {\n  const found = await geoip.locate(event.ip)\n  if (found) {\n    event.properties.$geoip_country_code = found.country.isoCode\n    event.properties.$geoip_time_zone = found.location.timeZone\n  }\n  return event\n}\nexport async function runEveryHour({ storage }) {\n  await storage.set('hours', (await storage.get('hours', 0)) + 1)\n}\n",
        )],
    );
    std::fs::create_dir(dir.path().join("fixtures")).unwrap();
    std::fs::write(
        dir.path().join("fixtures/geoip.json"),
        json!({"10.1.0.0/16": {"country": {"iso_code": "ZZ"}, "location": {"time_zone": "Etc/UTC"}}}).to_string(),
    )
    .unwrap();
    let verdict = verify(dir.path());
    let tasks = common::stage(&verdict, Stage::Tasks);
    assert_eq!(tasks.status, StageStatus::Passed, "{tasks:#?}");
    assert!(
        tasks.summary.contains("runEveryHour 24 runs (0 failed)")
            && tasks.summary.contains("storage keys written: hours"),
        "{}",
        tasks.summary
    );
    for stage in &verdict.stages {
        if stage.stage != Stage::Snapshot {
            assert!(
                stage
                    .findings
                    .iter()
                    .all(|f| f.severity != harness::Severity::Error),
                "{stage:#?}"
            );
        }
    }
    let input = dir.path().join("events.jsonl");
    let mut located = common::event("$pageview", 1);
    located["ip"] = json!("10.1.2.3");
    let elsewhere = common::event("$pageview", 2);
    std::fs::write(&input, format!("{located}\n{elsewhere}\n")).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "--allow-unapproved", "--deterministic", "--input"])
        .arg(&input)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::stderr(&output));
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events[0]["properties"]["$geoip_country_code"], "ZZ");
    assert_eq!(events[0]["properties"]["$geoip_time_zone"], "Etc/UTC");
    assert!(events[1]["properties"].get("$geoip_country_code").is_none());
}

/// A `plugin.json` as PostHog wrote it is read as the harness's manifest: without `version`
/// it takes `package.json`'s; a display `name` ("Property Filter") becomes `title` and the
/// plugin's name is package.json's (scope left out) or the display name in kebab; PostHog's
/// `stateless` is accepted. Without a version anywhere, or with a title no report could show,
/// the manifest is still `manifest/schema`.
#[test]
fn a_posthog_manifest_is_read_as_posthog_wrote_it() {
    let code = "export function processEvent(event) { return event }\n";
    let property_filter = json!({
        "name": "Property Filter",
        "url": "https://github.com/PostHog/property-filter-plugin",
        "description": "Set properties to null",
        "main": "index.js",
        "posthogVersion": ">=1.24.0",
        "stateless": true,
        "config": [{"key": "properties", "name": "Properties to filter out", "type": "string", "default": "", "required": false}],
    });
    // The manifest, package.json, and the name and version read (or what the schema finding
    // names).
    type Expected = Result<(&'static str, &'static str), &'static str>;
    let cases: Vec<(Value, Option<&str>, Expected)> = vec![
        (
            json!({"name": "copied-in", "description": "as PostHog wrote it", "config": []}),
            Some(r#"{"name": "copied-in", "version": "1.1.0"}"#),
            Ok(("copied-in", "1.1.0")),
        ),
        (
            property_filter.clone(),
            Some(r#"{"name": "@posthog/property-filter-plugin", "version": "0.3.0"}"#),
            Ok(("property-filter-plugin", "0.3.0")),
        ),
        (
            json!({"name": "GeoIP", "main": "index.js"}),
            Some(r#"{"version": "1.1.0"}"#),
            Ok(("geoip", "1.1.0")),
        ),
        (
            json!({"name": "copied-in", "config": []}),
            None,
            Err("version"),
        ),
        (
            json!({"name": "Bell\u{7}Ringer", "version": "0.1.0"}),
            None,
            Err("Bell"),
        ),
    ];
    for (manifest, package, expected) in cases {
        let mut files = vec![("index.js", code)];
        if let Some(package) = package {
            files.push(("package.json", package));
        }
        let dir = js_plugin(manifest.clone(), &files);
        let verdict = verify(dir.path());
        let findings = static_findings(&verdict);
        match expected {
            Ok((name, version)) => {
                assert_eq!(verdict.plugin, name, "{manifest}");
                assert_eq!(verdict.version.as_deref(), Some(version), "{manifest}");
                assert!(
                    findings
                        .iter()
                        .all(|(rule, _)| !rule.starts_with("manifest/")),
                    "{manifest}: {findings:?}"
                );
            }
            Err(part) => {
                assert!(!verdict.approved, "{manifest}");
                assert!(
                    findings
                        .iter()
                        .any(|(rule, message)| rule == "manifest/schema" && message.contains(part)),
                    "{manifest}: {findings:?}"
                );
            }
        }
    }
}
