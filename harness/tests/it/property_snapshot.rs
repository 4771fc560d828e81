//! The property and snapshot stages: a bug only some inputs show is found, shrunk, saved as a
//! regression and replayed first; every example plugin keeps the properties; a changed output
//! fails the snapshot stage in CI with the diff and is accepted locally; broken snapshot and
//! regression files are one-line errors; the example library's pipeline is snapshotted.

use crate::common::{self, stage};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use harness::corpus::{Corpus, SourcedEvent};
use harness::model::{Finding, Stage, StageReport, StageStatus, Verdict};
use harness::pipeline::Pipeline;
use harness::pipeline::file::{PipelineFile, load_pipeline};
use harness::plugin::{LoadOptions, PluginSource};
use harness::stages::VerifyOptions;
use harness::stages::property::PropertyOptions;
use harness::stages::snapshot::{self, SnapshotMode, pending_snapshots};
use harness::verify::verify_plugin;
use serde_json::{Value, json};

/// A corpus of `n` ordinary events in one file, `events.jsonl`.
fn small_corpus(n: u32) -> Arc<Corpus> {
    let file: Arc<Path> = Arc::from(Path::new("events.jsonl"));
    Arc::new(Corpus {
        events: (1..=n)
            .map(|i| SourcedEvent {
                file: file.clone(),
                line: i as usize,
                event: common::event("$pageview", i),
            })
            .collect(),
        files: vec![file.to_path_buf()],
    })
}

fn options(
    corpus: Arc<Corpus>,
    property: PropertyOptions,
    snapshots: SnapshotMode,
) -> VerifyOptions {
    VerifyOptions {
        load: LoadOptions {
            verify_config: true,
            ..LoadOptions::default()
        },
        property,
        snapshots,
        ..VerifyOptions::new(corpus)
    }
}

fn verify_dir(dir: &Path, options: &VerifyOptions) -> Verdict {
    verify_plugin(&PluginSource::resolve(dir).unwrap(), options)
}

fn only_finding(report: &StageReport) -> &Finding {
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    &report.findings[0]
}

/// The property stage on the misbehaving fixture in `mode`, saving regressions in `regressions`.
fn verify_misbehaving(plugin: &Path, regressions: &Path, cases: u32) -> Verdict {
    let property = PropertyOptions {
        cases,
        seed: 7,
        regressions: Some(regressions.to_owned()),
    };
    verify_dir(
        plugin,
        &options(small_corpus(3), property, SnapshotMode::Review),
    )
}

#[test]
fn a_bug_only_some_inputs_show_is_shrunk_saved_and_replayed_first() {
    let plugin = common::misbehaving_dir(
        json!({"name": "char-bug", "verifyConfig": {"mode": "panic-on-char"}}),
    );
    let regressions = tempfile::tempdir().unwrap();

    // The corpus has no `§`: only generated events find the bug.
    let verdict = verify_misbehaving(plugin.path(), regressions.path(), 256);
    assert_eq!(stage(&verdict, Stage::Corpus).status, StageStatus::Passed);
    let property = stage(&verdict, Stage::Property);
    assert_eq!(property.status, StageStatus::Failed, "{property:#?}");
    assert!(!verdict.approved);
    let finding = only_finding(property);
    assert_eq!(finding.rule, "property/no-failure");
    assert!(
        finding.message.starts_with("run/trap: "),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains("generated event"),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains("replay with --property-seed 7"),
        "{}",
        finding.message
    );
    assert!(
        property.summary.starts_with("seed 7: "),
        "{}",
        property.summary
    );

    // The event shown is the shrunk one: one property, whose value is just the character.
    let example = &finding.examples[0];
    let shrunk: Value = serde_json::from_str(&example.message).unwrap();
    let properties = shrunk["properties"].as_object().unwrap();
    assert_eq!(properties.len(), 1, "{shrunk}");
    let value = properties.values().next().unwrap();
    assert!(
        value == &json!("§") || value == &json!(["§"]) || value.to_string().len() <= 12,
        "not shrunk: {shrunk}"
    );

    // It is saved, once, where the finding says.
    let file = regressions.path().join("char-bug.jsonl");
    assert_eq!(example.location.file.as_deref(), Some(file.as_path()));
    assert_eq!(example.location.line, Some(1));
    let saved: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(saved, std::slice::from_ref(&shrunk));

    // The next run replays it first: found with no generated events at all.
    let again = verify_misbehaving(plugin.path(), regressions.path(), 0);
    let property = stage(&again, Stage::Property);
    assert_eq!(property.metrics["generatedEvents"], 0);
    assert_eq!(property.metrics["regressions"], 1);
    let finding = only_finding(property);
    assert_eq!(finding.rule, "property/no-failure");
    assert!(
        finding.message.contains("a saved regression"),
        "{}",
        finding.message
    );
    assert_eq!(finding.examples[0].location.line, Some(1));
    assert!(
        property.summary.contains("1 saved regression;"),
        "{}",
        property.summary
    );

    // And with generation again, the same event is not saved twice.
    verify_misbehaving(plugin.path(), regressions.path(), 256);
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);
}

#[test]
fn a_plugin_that_drops_uuid_on_large_events_breaks_identity_on_a_minimal_one() {
    let plugin = common::misbehaving_dir(
        json!({"name": "uuid-bug", "verifyConfig": {"mode": "drop-uuid-when-many"}}),
    );
    let regressions = tempfile::tempdir().unwrap();
    let verdict = verify_misbehaving(plugin.path(), regressions.path(), 256);
    let finding = only_finding(stage(&verdict, Stage::Property));
    assert_eq!(finding.rule, "property/identity-preserved");
    assert!(
        finding.message.starts_with("`uuid` changed from \""),
        "{}",
        finding.message
    );
    let shrunk: Value = serde_json::from_str(&finding.examples[0].message).unwrap();
    assert_eq!(
        shrunk["properties"].as_object().unwrap().len(),
        9,
        "the smallest event that shows it: {shrunk}"
    );
}

#[test]
fn a_regression_line_that_is_not_json_is_a_one_line_error_naming_file_and_line() {
    let plugin = common::misbehaving_dir(json!({"name": "fine"}));
    let regressions = tempfile::tempdir().unwrap();
    let file = regressions.path().join("fine.jsonl");
    std::fs::write(
        &file,
        format!("{}\n{{\"event\": nope}}\n", common::event("e", 1)),
    )
    .unwrap();
    let verdict = verify_misbehaving(plugin.path(), regressions.path(), 8);
    let finding = only_finding(stage(&verdict, Stage::Property));
    assert_eq!(finding.rule, "property/regressions-unreadable");
    assert_eq!(
        finding.message,
        format!("{}:2: not JSON: expected ident", file.display())
    );
}

#[test]
fn every_example_plugin_keeps_the_properties_with_default_settings() {
    let root = common::workspace_root();
    let options = options(
        Arc::new(Corpus::default()),
        PropertyOptions::default(),
        SnapshotMode::Check,
    );
    for dir in harness::verify::library_plugins(&root.join("plugins")).unwrap() {
        let verdict = verify_dir(&dir, &options);
        let property = stage(&verdict, Stage::Property);
        // A batch exporter changes no event: its batches are the corpus stage's.
        let batch_exporter = verdict
            .component
            .as_ref()
            .is_some_and(|c| c.exports == ["setup", "export-events", "teardown"]);
        assert_eq!(
            property.status,
            if batch_exporter {
                StageStatus::Skipped
            } else {
                StageStatus::Passed
            },
            "{}: {:#?}",
            verdict.plugin,
            property.findings
        );
        if batch_exporter {
            continue;
        }
        assert_eq!(
            property.metrics["generatedEvents"], 64,
            "{}",
            verdict.plugin
        );
        eprintln!(
            "{}: property stage {:.0} ms",
            verdict.plugin, property.duration_ms
        );
    }
}

/// A copy of the url-normalizer plugin (its component and manifest) in a temporary directory,
/// so that its snapshots are written there.
fn url_normalizer_copy() -> tempfile::TempDir {
    let source = common::workspace_root().join("plugins/url-normalizer");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(source.join("plugin.json")).unwrap())
            .unwrap();
    common::plugin_dir(
        &manifest,
        &std::fs::read(common::built_component(&source)).unwrap(),
    )
}

fn corpus() -> Arc<Corpus> {
    Arc::new(Corpus::load(&common::workspace_root().join("corpus")).unwrap())
}

fn snapshot_options(mode: SnapshotMode) -> VerifyOptions {
    let property = PropertyOptions {
        cases: 0,
        ..PropertyOptions::default()
    };
    options(corpus(), property, mode)
}

#[test]
fn a_changed_output_fails_in_ci_with_the_diff_and_accepting_writes_it() {
    let plugin = url_normalizer_copy();
    let dir = plugin.path().join("snapshots");
    let recorded = verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Review));
    let report = stage(&recorded, Stage::Snapshot);
    assert!(recorded.approved, "{report:#?}");
    // One snapshot per corpus file: its own nine and the two recorded ones.
    assert_eq!(report.metrics["recorded"], 11, "{}", report.summary);
    let file = dir.join("web-pageviews.snap");
    let accepted = std::fs::read_to_string(&file).unwrap();
    assert!(
        accepted.starts_with("---\nsource: \"web-pageviews.jsonl\"\nexpression: "),
        "{accepted}"
    );

    // What the snapshot holds for one event, as if the plugin had behaved otherwise before.
    let line = snapshot::read_snapshot(&file).unwrap();
    let entries = line.entries(&file).unwrap();
    let (key, entry) = entries
        .iter()
        .find(|(_, entry)| entry["set"].get("/properties/$current_url").is_some())
        .expect("url-normalizer rewrites some URL in web-pageviews.jsonl");
    let url = entry["set"]["/properties/$current_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let edited = accepted.replacen(
        &format!("\"/properties/$current_url\": {}", json!(url)),
        &format!("\"/properties/$current_url\": {}", json!(format!("{url}/"))),
        1,
    );
    assert_ne!(edited, accepted);
    std::fs::write(&file, &edited).unwrap();

    // CI: rejected, the diff shown, nothing written.
    let ci = verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Check));
    assert!(!ci.approved);
    let report = stage(&ci, Stage::Snapshot);
    let finding = only_finding(report);
    assert_eq!(finding.rule, "snapshot/changed");
    let corpus_line = key.trim_start_matches("line ");
    assert!(
        finding.message.starts_with(&format!(
            "{}: 1 of {} events changed (lines {corpus_line})",
            file.display(),
            entries.len()
        )),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains(&format!(
            "-      \"/properties/$current_url\": {}",
            json!(format!("{url}/"))
        )),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains(&format!(
            "+      \"/properties/$current_url\": {}",
            json!(url)
        )),
        "{}",
        finding.message
    );
    assert!(
        report.summary.contains("1 changed: web-pageviews (1)"),
        "{}",
        report.summary
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);
    assert!(pending_snapshots(&[plugin.path().to_owned()]).is_empty());

    // Locally: rejected too, and the new snapshot waits beside the old for review.
    let local = verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Review));
    assert!(!local.approved);
    let pending = pending_snapshots(&[plugin.path().to_owned()]);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].snapshot, file);
    let diff = pending[0].diff().unwrap();
    assert!(
        diff.contains(&format!(
            "+      \"/properties/$current_url\": {}",
            json!(url)
        )),
        "{diff}"
    );

    // Accepting writes it, and then it passes in CI.
    let accept = verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Accept));
    assert!(accept.approved);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), accepted);
    assert!(pending_snapshots(&[plugin.path().to_owned()]).is_empty());
    assert!(verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Check)).approved);
}

#[test]
fn review_accepts_or_rejects_a_pending_snapshot() {
    let plugin = url_normalizer_copy();
    verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Accept));
    let file = plugin.path().join("snapshots/edge-cases.snap");
    let accepted = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, accepted.replacen("\"emitted\"", "\"dropped\"", 1)).unwrap();
    verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Review));
    let pending = pending_snapshots(&[plugin.path().to_owned()]);
    assert_eq!(pending.len(), 1);
    pending[0].reject().unwrap();
    assert!(pending_snapshots(&[plugin.path().to_owned()]).is_empty());
    verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Review));
    let pending = pending_snapshots(&[plugin.path().join("snapshots")]);
    pending[0].accept().unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), accepted);
}

#[test]
fn without_snapshots_ci_rejects_and_writes_nothing() {
    let plugin = url_normalizer_copy();
    let verdict = verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Check));
    let report = stage(&verdict, Stage::Snapshot);
    assert_eq!(report.findings.len(), corpus().files.len());
    assert!(report.findings.iter().all(|f| f.rule == "snapshot/new"));
    assert!(!plugin.path().join("snapshots").exists());
}

#[test]
fn a_snapshot_edited_into_invalid_form_is_a_one_line_error_naming_file_and_line() {
    let plugin = url_normalizer_copy();
    verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Accept));
    let file = plugin.path().join("snapshots/groups.snap");
    let text = std::fs::read_to_string(&file).unwrap();
    // Line 7 is the first entry's first field.
    let broken: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 6 {
                l.replace(": ", " ")
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(&file, broken.join("\n") + "\n").unwrap();
    let verdict = verify_dir(plugin.path(), &snapshot_options(SnapshotMode::Check));
    let finding = only_finding(stage(&verdict, Stage::Snapshot));
    assert_eq!(finding.rule, "snapshot/invalid");
    assert!(
        finding
            .message
            .starts_with(&format!("{}:7: not JSON: expected `:`", file.display())),
        "{}",
        finding.message
    );
    assert!(!finding.message.contains('\n'));
}

#[test]
fn the_example_library_pipeline_is_snapshotted() {
    let root = common::workspace_root();
    let entries = PipelineFile::load(&root.join("plugins/pipeline.toml")).unwrap();
    let mut pipeline = Pipeline::new(load_pipeline(&entries, 0).unwrap());
    let corpus = corpus();
    let results: Vec<_> = corpus
        .events
        .iter()
        .map(|sourced| pipeline.process(sourced.event.clone()))
        .collect();
    assert!(pipeline.finish().adds_up());
    for (file, body) in snapshot::snapshot_bodies(&corpus.events, &results, &corpus.files) {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("pipeline-{stem}"), snapshot::render_body(&body));
    }
}

fn harness(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(cwd)
        .env_remove("CI")
        .output()
        .expect("running the harness binary")
}

/// A workspace with a small corpus and the misbehaving fixture as `plugins/<name>`.
fn workspace(name: &str, mode: &str) -> (tempfile::TempDir, PathBuf) {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("corpus")).unwrap();
    let events: String = (1..=3)
        .map(|n| common::event("e", n).to_string() + "\n")
        .collect();
    std::fs::write(ws.path().join("corpus/events.jsonl"), events).unwrap();
    let plugin = common::misbehaving_dir(json!({"name": name, "verifyConfig": {"mode": mode}}));
    let dir = ws.path().join("plugins").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["plugin.json", "plugin.wasm"] {
        std::fs::copy(plugin.path().join(file), dir.join(file)).unwrap();
    }
    (ws, dir)
}

#[test]
fn verify_prints_the_seed_saves_the_regression_and_stops_on_a_broken_one() {
    let (ws, _) = workspace("char-bug", "panic-on-char");
    let output = harness(
        &["verify", "--cases", "256", "--property-seed", "7"],
        ws.path(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("FAIL property seed 7: "), "{stderr}");
    assert!(stderr.contains("replay with --property-seed 7"), "{stderr}");
    assert!(
        stderr.contains("at corpus/regressions/char-bug.jsonl:1: {"),
        "{stderr}"
    );
    assert!(stderr.contains("pass snapshot"), "{stderr}");
    let regression = ws.path().join("corpus/regressions/char-bug.jsonl");
    assert!(regression.is_file());

    // The regression file is not part of the corpus.
    assert!(stderr.contains("corpus: 3 events from 1 files"), "{stderr}");

    std::fs::write(&regression, "{\"event\": \n").unwrap();
    let output = harness(&["verify"], ws.path());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim().lines().last(),
        Some("error: corpus/regressions/char-bug.jsonl:1: not JSON: EOF while parsing a value"),
        "{stderr}"
    );
}
