//! The `harness` binary end to end: exit codes, one-line errors that name files, and `run`
//! accounting for every input line.

use crate::common;
use crate::common::{Workspace, harness, stderr, two_events};

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

#[test]
fn verify_exits_0_when_every_plugin_is_approved() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    // A new plugin has no snapshots yet: --accept records them.
    let output = harness(&["verify", "--accept"], ws.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("pass static"), "{text}");
    assert!(text.contains("pass load"), "{text}");
    assert!(text.contains("2 events: 2 emitted"), "{text}");
    assert!(text.contains("=> approved"), "{text}");
}

#[test]
fn verify_exits_1_and_names_the_rule_when_a_plugin_is_rejected() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    ws.add_misbehaving("panicky", json!({"mode": "panic", "trigger": "second"}));
    let output = harness(&["verify", "--json"], ws.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("error run/trap: run/trap on 1 of 2 events"),
        "{text}"
    );
    assert!(text.contains("corpus/events.jsonl:2"), "{text}");
    assert!(text.contains("=> REJECTED: corpus stage:"), "{text}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let approved: Vec<(String, bool)> = report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["plugin"].as_str().unwrap().to_owned(),
                v["approved"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        approved,
        [("good".into(), true), ("panicky".into(), false)],
        "{}",
        stderr(&output)
    );
    // The finding carries the plugin's panic message (what it wrote to stderr) and where it
    // happened: the wasm backtrace with the names from the component's name section.
    let finding = &report["verdicts"][1]["stages"][2]["findings"][0];
    assert_eq!(finding["rule"], "run/trap", "{finding:#}");
    let message = finding["message"].as_str().unwrap();
    let first = message.lines().next().unwrap();
    assert!(
        first.starts_with("run/trap on 1 of 2 events; first: wasm trap: wasm `unreachable` instruction executed; the plugin wrote: thread '<unnamed>' ")
            && first.ends_with(": planted panic on second"),
        "{message}"
    );
    assert!(message.contains("\nwasm backtrace:\n"), "{message}");
    assert!(
        message.contains("as posthog_plugin_sdk::Transform>::process_event"),
        "{message}"
    );
    let reason = report["verdicts"][1]["reason"].as_str().unwrap();
    assert!(reason.contains("planted panic on second"), "{reason}");
}

#[test]
fn verify_exits_2_for_a_missing_plugin_and_still_verifies_the_others() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    let output = harness(&["verify", "plugins/nope", "plugins/good"], ws.path());
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("error: plugins/nope: no such plugin"),
        "{text}"
    );
    assert!(
        text.contains("good 0.1.0") && text.contains("=> approved"),
        "{text}"
    );
}

#[test]
fn verify_exits_2_when_the_corpus_has_a_line_that_is_not_an_event() {
    let ws = Workspace::new(&format!("{}\n{{\"event\": oops}}\n", common::event("e", 1)));
    ws.add_misbehaving("good", json!({}));
    let output = harness(&["verify"], ws.path());
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert_eq!(
        text.trim(),
        "error: corpus/events.jsonl:2: not JSON: expected value"
    );
}

#[test]
fn verify_rejects_a_plugin_whose_manifest_is_not_json() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("broken", json!({}));
    std::fs::write(ws.path().join("plugins/broken/plugin.json"), "{ not json").unwrap();
    let output = harness(&["verify"], ws.path());
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("error manifest/not-json: plugin.json is not JSON: key must be a string"),
        "{text}"
    );
    assert!(text.contains("at plugins/broken/plugin.json:1"), "{text}");
    assert!(text.contains("skip load"), "{text}");
}

#[test]
fn bad_arguments_exit_2() {
    let output = harness(&["verify", "--no-such-flag"], Path::new("."));
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn run_reports_bad_lines_and_every_other_event_flows() {
    let ws = Workspace::new("");
    ws.add_misbehaving("dropper", json!({}));
    let input = format!(
        "{}\nnot json\n{}\n[]\n{}\n",
        common::event("keep", 1),
        common::event("drop me", 2),
        common::event("keep", 3)
    );
    std::fs::write(ws.path().join("in.jsonl"), input).unwrap();
    let pipeline = "[[plugins]]\npath = \"plugins/dropper\"\nconfig = { mode = \"drop\", trigger = \"drop me\" }\n";
    std::fs::write(ws.path().join("pipeline.toml"), pipeline).unwrap();
    let output = harness(
        &[
            "run",
            "--input",
            "in.jsonl",
            "--pipeline",
            "pipeline.toml",
            "--summary-json",
            "--allow-unapproved",
        ],
        ws.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events: Vec<Value> = String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e["event"] == "keep"));
    let text = stderr(&output);
    assert!(text.contains("warning: in.jsonl:2: not JSON"), "{text}");
    assert!(
        text.contains("warning: in.jsonl:4: not an event: expected a JSON object"),
        "{text}"
    );
    let summary: Value = serde_json::from_str(&text[text.find('{').unwrap()..]).unwrap();
    assert_eq!(summary["events_in"], 3);
    assert_eq!(summary["emitted"], 2);
    assert_eq!(summary["dropped"], 1);
    assert_eq!(summary["invalid_input"], 2);
    assert_eq!(summary["per_plugin"][0][1]["dropped"], 1);
}

#[test]
fn run_says_why_the_first_failures_of_each_plugin_and_rule_with_the_input_line() {
    let ws = Workspace::new("");
    ws.add_misbehaving("refuser", json!({}));
    let mut input = format!("{}\n", common::event("fine", 1));
    for n in 2..=6 {
        input.push_str(&format!("{}\n", common::event("bad <x>", n)));
    }
    std::fs::write(ws.path().join("in.jsonl"), input).unwrap();
    let pipeline = "[[plugins]]\npath = \"plugins/refuser\"\nconfig = { mode = \"error\", trigger = \"bad <x>\" }\n";
    std::fs::write(ws.path().join("pipeline.toml"), pipeline).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--input",
            "in.jsonl",
            "--pipeline",
            "pipeline.toml",
            "--allow-unapproved",
        ];
        args.extend_from_slice(extra);
        let output = harness(&args, ws.path());
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        stderr(&output)
    };

    let text = run(&[]);
    assert!(text.contains("      5 x run/error-result\n"), "{text}");
    for n in 2..=4 {
        assert!(
            text.contains(&format!(
                "        in.jsonl:{n} (bad <x>, uuid 00000000-0000-4000-8000-{n:012}): refusing event bad <x>\n"
            )),
            "{text}"
        );
    }
    assert!(!text.contains("in.jsonl:5"), "{text}");
    assert!(text.contains("        … and 2 more\n"), "{text}");

    let text = run(&["--summary-json"]);
    let summary: Value = serde_json::from_str(&text[text.find('{').unwrap()..]).unwrap();
    assert_eq!(summary["events_in"], 6);
    let examples = summary["failures"]["refuser"]["run/error-result"]
        .as_array()
        .unwrap_or_else(|| panic!("{summary:#}"));
    assert_eq!(examples.len(), 3, "{summary:#}");
    assert_eq!(
        examples[0],
        json!({
            "input": "in.jsonl:2",
            "line": 2,
            "event": "bad <x>",
            "uuid": "00000000-0000-4000-8000-000000000002",
            "message": "refusing event bad <x>"
        })
    );
    assert_eq!(examples[2]["line"], 4);
}

#[test]
fn run_reads_stdin_and_keeps_the_order_given() {
    let ws = Workspace::new("");
    ws.add_misbehaving("a", json!({}));
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "run",
            "--input",
            "-",
            "--allow-unapproved",
            "plugins/a",
            "plugins/a",
        ])
        .current_dir(ws.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", common::event("e", 1)).as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let event: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        event["properties"]["$plugins_succeeded"],
        json!(["a (1)", "a (2)"])
    );
    assert!(stderr(&output).contains("events in: 1, emitted: 1, dropped: 0"));
}

#[test]
fn run_refuses_a_plugin_that_does_not_load() {
    let ws = Workspace::new("");
    let output = harness(&["run", "--input", "-", "plugins/missing"], ws.path());
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output).trim(),
        "error: plugins/missing: no such plugin (expected a directory with plugin.json, a crate, or a .wasm)"
    );
}

#[test]
fn approve_writes_the_lock_and_run_refuses_what_is_not_in_it_or_changed() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    ws.add_misbehaving("bad", json!({"mode": "panic"}));
    std::fs::write(ws.path().join("in.jsonl"), two_events()).unwrap();

    // Nothing approved yet: run refuses.
    let refused = harness(&["run", "--input", "in.jsonl", "plugins/good"], ws.path());
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("plugin `good` is not approved in"),
        "{}",
        stderr(&refused)
    );

    let approved = harness(&["verify", "--approve", "--accept"], ws.path());
    assert_eq!(approved.status.code(), Some(1), "bad is rejected");
    assert!(
        stderr(&approved).contains("approved in plugins/library.lock: good"),
        "{}",
        stderr(&approved)
    );
    let lock = std::fs::read_to_string(ws.path().join("plugins/library.lock")).unwrap();
    assert!(lock.contains("name = \"good\""), "{lock}");
    assert!(
        !lock.contains("name = \"bad\""),
        "a rejected plugin is never written: {lock}"
    );
    assert!(lock.contains("wasmtime = \"48.0.8\""), "{lock}");
    assert!(
        lock.contains("capabilities = [\n    \"storage\",\n    \"capture\",\n]"),
        "{lock}"
    );

    let ran = harness(&["run", "--input", "in.jsonl", "plugins/good"], ws.path());
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
    let bad = harness(&["run", "--input", "in.jsonl", "plugins/bad"], ws.path());
    assert_eq!(bad.status.code(), Some(2));

    // Change the component after approval: a different sha256.
    let wasm = ws.path().join("plugins/good/plugin.wasm");
    // Append a custom section (id 0, 5 bytes: name "note", no payload): still a component.
    let mut custom = vec![0u8, 5];
    custom.extend_from_slice(b"\x04note");
    std::fs::write(&wasm, [std::fs::read(&wasm).unwrap(), custom].concat()).unwrap();
    let changed = harness(&["run", "--input", "in.jsonl", "plugins/good"], ws.path());
    assert_eq!(changed.status.code(), Some(2), "{}", stderr(&changed));
    assert!(
        stderr(&changed).contains("changed since it was approved"),
        "{}",
        stderr(&changed)
    );
    let allowed = harness(
        &[
            "run",
            "--input",
            "in.jsonl",
            "--allow-unapproved",
            "plugins/good",
        ],
        ws.path(),
    );
    assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
}

#[test]
fn verify_writes_reports_in_the_formats_ci_reads() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    ws.add_misbehaving("panicky", json!({"mode": "panic", "trigger": "second"}));
    let output = harness(&["verify", "--accept", "--out", "reports"], ws.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let dir = ws.path().join("reports");

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::workspace_root().join("schemas/report.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report.json does not match its schema: {errors:#?}"
    );
    assert_eq!(report["summary"]["approved"], 1);
    assert_eq!(report["summary"]["rejected"], 1);
    // The verification record: what a reviewer needs to reproduce the verdict.
    assert_eq!(report["conditions"]["environment"], "deterministic-1");
    assert_eq!(report["conditions"]["wasmtime"], "48.0.8");
    assert_eq!(
        report["conditions"]["corpusSha256"].as_str().unwrap().len(),
        64
    );

    let junit = quick_junit::Report::deserialize_from_str(
        &std::fs::read_to_string(dir.join("junit.xml")).unwrap(),
    )
    .unwrap();
    assert_eq!(junit.test_suites.len(), 2);
    let failed: Vec<String> = junit
        .test_suites
        .iter()
        .flat_map(|suite| {
            suite
                .test_cases
                .iter()
                .filter(|case| {
                    !matches!(
                        case.status,
                        quick_junit::TestCaseStatus::Success { .. }
                            | quick_junit::TestCaseStatus::Skipped { .. }
                    )
                })
                .map(move |case| format!("{}/{}", suite.name.as_str(), case.name.as_str()))
        })
        .collect();
    // The property stage finds the planted panic too: its generators use config values
    // ("second") as event names.
    assert_eq!(failed, ["panicky/corpus", "panicky/property"]);

    let sarif: serde_sarif::sarif::Sarif =
        serde_json::from_str(&std::fs::read_to_string(dir.join("findings.sarif")).unwrap())
            .unwrap();
    let results = sarif.runs[0].results.as_ref().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r.rule_id.as_deref() == Some("run/trap")),
        "{results:?}"
    );

    let markdown = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        markdown.contains("| `panicky` | 0.1.0 | ❌ rejected |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("**1 approved**, **1 rejected**"),
        "{markdown}"
    );
}

#[test]
fn under_github_actions_findings_become_annotations_and_the_step_summary_grows() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("panicky", json!({"mode": "panic", "trigger": "second"}));
    let summary = ws.path().join("step-summary.md");
    let output = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["verify"])
        .current_dir(ws.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with("::error title=panicky run/trap,file=corpus/events.jsonl,line=2::"),
        "{stdout}"
    );
    assert!(
        std::fs::read_to_string(summary)
            .unwrap()
            .contains("## Plugin verification")
    );
}

#[test]
fn bench_reports_throughput_and_gates_only_when_asked() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    let measured = harness(&["verify", "--accept", "--bench"], ws.path());
    assert_eq!(measured.status.code(), Some(0), "{}", stderr(&measured));
    assert!(
        stderr(&measured).contains(" events/s, "),
        "{}",
        stderr(&measured)
    );

    // No plugin does a trillion events per second.
    let gated = harness(
        &["verify", "--bench", "--min-throughput", "1e12"],
        ws.path(),
    );
    assert_eq!(gated.status.code(), Some(1), "{}", stderr(&gated));
    assert!(
        stderr(&gated).contains("error bench/throughput:"),
        "{}",
        stderr(&gated)
    );

    let bad = harness(&["verify", "--min-throughput", "10"], ws.path());
    assert_eq!(bad.status.code(), Some(2), "--min-throughput needs --bench");
}

#[test]
fn changed_and_partition_select_the_plugins_a_ci_job_verifies() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("alpha", json!({"mode": "pass"}));
    ws.add_misbehaving("beta", json!({"mode": "pass"}));
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@localhost"])
            .args(args)
            .current_dir(ws.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "--quiet"]);
    std::fs::write(ws.path().join(".gitignore"), "target/\nreports/\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "base"]);

    let verified = |args: &[&str]| -> Vec<String> {
        let output = harness(args, ws.path());
        let text = stderr(&output);
        assert!(output.status.code().is_some_and(|c| c <= 1), "{text}");
        text.lines()
            .filter(|l| l.ends_with(")") && l.contains(" 0.1.0 (plugins/"))
            .map(|l| l.split(' ').next().unwrap().to_owned())
            .collect()
    };
    assert!(verified(&["verify", "--accept", "--changed", "HEAD"]).is_empty());

    // Only beta changes.
    let manifest = ws.path().join("plugins/beta/plugin.json");
    let mut beta: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    beta["description"] = json!("changed");
    std::fs::write(&manifest, beta.to_string()).unwrap();
    assert_eq!(
        verified(&["verify", "--accept", "--changed", "HEAD"]),
        ["beta"]
    );

    // A change outside the plugins (the corpus) concerns them all.
    std::fs::write(
        ws.path().join("corpus/more.jsonl"),
        format!("{}\n", common::event("x", 9)),
    )
    .unwrap();
    assert_eq!(
        verified(&["verify", "--accept", "--changed", "HEAD"]),
        ["alpha", "beta"]
    );

    assert_eq!(
        verified(&["verify", "--accept", "--partition", "1/2"]),
        ["alpha"]
    );
    assert_eq!(
        verified(&["verify", "--accept", "--partition", "2/2"]),
        ["beta"]
    );
    assert_eq!(
        harness(&["verify", "--partition", "3/2"], ws.path())
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn run_takes_unpaired_surrogates_as_posthogs_capture_does() {
    // posthog-node can send `\ud800` alone; PostHog's capture makes it U+FFFD.
    let line = r#"{"event":"e","distinct_id":"u","uuid":"00000000-0000-4000-8000-000000000001","team_id":13,"timestamp":"2024-03-05T14:22:31.123Z","properties":{"name":"x\ud800y"}}"#;
    let ws = Workspace::new(&format!("{line}\n{}\n", common::event("e", 2)));
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    let output = harness(
        &[
            "run",
            "--allow-unapproved",
            "--summary-json",
            "--input",
            "corpus/events.jsonl",
            "plugins/good",
        ],
        ws.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["properties"]["name"], "x\u{fffd}y");
    let text = stderr(&output);
    assert!(
        text.contains("1 unpaired UTF-16 surrogate escape(s) replaced"),
        "{text}"
    );
    assert!(text.contains("\"surrogates_replaced\": 1"), "{text}");
    assert_eq!(out.lines().count(), 2, "both events flow");
}

#[test]
fn run_disables_a_plugin_that_keeps_failing_and_accounts_for_every_event() {
    let events: String = (1..=30)
        .map(|n| common::event("e", n).to_string() + "\n")
        .collect();
    let ws = Workspace::new(&events);
    ws.add_misbehaving("flaky", json!({}));
    // The pipeline file gives the plugin its failing mode (run never applies verifyConfig).
    std::fs::write(
        ws.path().join("pipeline.toml"),
        "[[plugins]]\npath = \"plugins/flaky\"\nconfig = { mode = \"error\" }\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--allow-unapproved",
            "--summary-json",
            "--input",
            "corpus/events.jsonl",
            "--pipeline",
            "pipeline.toml",
            "--health-refill",
            "0",
        ];
        args.extend_from_slice(extra);
        let output = harness(&args, ws.path());
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let text = stderr(&output);
        let json = &text[text.find('{').unwrap()..];
        let summary: Value = serde_json::from_str(json).unwrap();
        (
            summary,
            text,
            String::from_utf8_lossy(&output.stdout).lines().count(),
        )
    };
    let (summary, text, emitted) = run(&[]);
    let counts = &summary["per_plugin"][0][1];
    // 100 tokens, 10 per failure: healthy, degraded at half, disabled when empty.
    assert_eq!(counts["failed"], 10, "{summary}");
    assert_eq!(counts["skipped_unhealthy"], 20);
    assert_eq!(counts["health"], "disabled");
    let to: Vec<&str> = counts["health_transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(to, ["degraded", "disabled"]);
    assert!(
        text.contains("flaky: health Degraded -> Disabled at event 10"),
        "{text}"
    );
    assert_eq!(emitted, 30, "every event is still emitted");
    assert_eq!(summary["events_in"], 30);
    // The near miss: without health the plugin runs (and fails) on every event.
    let (summary, _, _) = run(&["--no-health"]);
    assert_eq!(summary["per_plugin"][0][1]["failed"], 30);
    assert_eq!(summary["per_plugin"][0][1]["skipped_unhealthy"], 0);
}

#[test]
fn run_gives_plugins_the_real_clock_and_deterministic_reproduces_verification() {
    let ws = Workspace::new(&format!("{}\n", common::event("e", 1)));
    ws.add_misbehaving("stamp", json!({}));
    std::fs::write(
        ws.path().join("pipeline.toml"),
        "[[plugins]]\npath = \"plugins/stamp\"\nconfig = { mode = \"clock\" }\n",
    )
    .unwrap();
    let stamped = |extra: &[&str]| -> u64 {
        let mut args = vec![
            "run",
            "--allow-unapproved",
            "--input",
            "corpus/events.jsonl",
            "--pipeline",
            "pipeline.toml",
        ];
        args.extend_from_slice(extra);
        let output = harness(&args, ws.path());
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let event: Value = serde_json::from_slice(&output.stdout).unwrap();
        event["properties"]["now_nanos"].as_u64().unwrap() / 1_000_000_000
    };
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = stamped(&[]);
    assert!(
        now.abs_diff(real) < 600,
        "run's clock is the wall clock: {now} vs {real}"
    );
    // `--deterministic`: verification's clock, which starts at 2024-01-01.
    let logical = stamped(&["--deterministic"]);
    assert_eq!(logical, harness::host::CLOCK_START_SECONDS);
}

#[test]
fn every_verify_option_the_github_action_passes_is_one_verify_accepts() {
    let action = std::fs::read_to_string(common::workspace_root().join("action.yml")).unwrap();
    let help = harness(&["verify", "--help"], Path::new("."));
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let mut used = Vec::new();
    for line in action
        .lines()
        .filter(|l| l.contains("args=(verify") || l.contains("args+=(--"))
    {
        for word in line.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
            if word.starts_with("--") {
                used.push(word.to_owned());
            }
        }
    }
    used.sort();
    used.dedup();
    assert_eq!(
        used,
        [
            "--changed",
            "--corpus",
            "--library",
            "--out",
            "--schemas",
            "--strict"
        ]
    );
    for flag in &used {
        assert!(
            help.lines()
                .any(|l| l.split_whitespace().next() == Some(flag.as_str())),
            "{flag} not in\n{help}"
        );
    }
}

/// `verify` in the workspace under a pseudo-terminal (util-linux `script`), with `envs` set:
/// what the terminal showed.
fn verify_on_a_terminal(ws: &Workspace, envs: &[(&str, &str)]) -> String {
    verify_on_a_terminal_with(ws, envs, "")
}

/// [`verify_on_a_terminal`] with `flags` before the verb.
fn verify_on_a_terminal_with(ws: &Workspace, envs: &[(&str, &str)], flags: &str) -> String {
    let command = format!("{} {flags} verify --accept", env!("CARGO_BIN_EXE_harness"));
    let mut script = Command::new("script");
    script
        .args(["-qefc", &command, "/dev/null"])
        .current_dir(ws.path())
        .env_remove("CI")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    for (key, value) in envs {
        script.env(key, value);
    }
    let output = script.output().expect("running script(1)");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn verify_shows_progress_on_a_terminal_only_and_without_colour_under_no_color() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));

    // Not a terminal: the report and nothing else; no progress line, no carriage return.
    let piped = harness(&["verify", "--accept"], ws.path());
    assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
    let text = stderr(&piped);
    assert!(!text.contains('\r') && !text.contains('\x1b'), "{text:?}");
    assert!(!text.contains("1/1"), "{text}");

    // A terminal: the plugin's number and a bar over the stages' steps, in colour.
    let shown = verify_on_a_terminal(&ws, &[]);
    assert!(shown.contains("1/1"), "{shown:?}");
    assert!(shown.contains("\x1b[36m"), "{shown:?}");
    assert!(shown.contains("=> \x1b[32mapproved"), "{shown:?}");

    // NO_COLOR: the same progress, no colour anywhere.
    let plain = verify_on_a_terminal(&ws, &[("NO_COLOR", "1")]);
    assert!(plain.contains("1/1"), "{plain:?}");
    assert!(plain.contains("=> approved"), "{plain:?}");
    for colour in ["\x1b[32m", "\x1b[36m", "\x1b[1m", "\x1b[2m"] {
        assert!(!plain.contains(colour), "{colour:?} in {plain:?}");
    }

    // --color never on a terminal: no colour; --color always through a pipe: colour.
    let never = verify_on_a_terminal_with(&ws, &[], "--color never");
    assert!(never.contains("=> approved"), "{never:?}");
    for colour in ["\x1b[32m", "\x1b[36m", "\x1b[1m", "\x1b[2m"] {
        assert!(!never.contains(colour), "{colour:?} in {never:?}");
    }
    let always = harness(&["--color", "always", "verify", "--accept"], ws.path());
    assert!(
        stderr(&always).contains("=> \x1b[32mapproved"),
        "{:?}",
        stderr(&always)
    );
}

#[test]
fn corpus_import_turns_an_events_export_into_a_corpus_that_verify_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let uuid = "0190e0a1-1b2c-7d3e-8f40-123456789abc";
    let page = json!({"results": [
        {"id": uuid, "distinct_id": "alice@example.com", "event": "$pageview",
         "timestamp": "2024-08-18T09:36:06.816Z",
         "properties": {"$current_url": "https://a.com/", "email": "alice@example.com"}},
        {"id": "not-a-uuid", "distinct_id": "u", "event": "$pageview"}
    ]});
    std::fs::write(dir.path().join("export.json"), page.to_string()).unwrap();
    let schemas = common::workspace_root().join("schemas");
    let schemas = schemas.to_str().unwrap();
    let args = [
        "corpus",
        "import",
        "export.json",
        "--hash-personal",
        "--schemas",
        schemas,
        "--out",
        "corpus.jsonl",
    ];
    // Without a key in the environment: refused, nothing written.
    let refused = harness(&args, dir.path());
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("CORPUS_HASH_KEY"));
    assert!(!dir.path().join("corpus.jsonl").exists());

    let output = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .current_dir(dir.path())
        .env("CORPUS_HASH_KEY", "a key of sixteen or more")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("export.json:record 2: `not-a-uuid` is not a UUID"),
        "{}",
        stderr(&output)
    );
    let text = std::fs::read_to_string(dir.path().join("corpus.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(!text.contains("alice"), "{text}");
    // The corpus loads and passes the event schemas, as verify checks it.
    let corpus_dir = dir.path().join("corpus");
    std::fs::create_dir(&corpus_dir).unwrap();
    std::fs::rename(
        dir.path().join("corpus.jsonl"),
        corpus_dir.join("mine.jsonl"),
    )
    .unwrap();
    let corpus = harness::corpus::Corpus::load(&corpus_dir).unwrap();
    let schemas =
        harness::schema::EventSchemas::load(&common::workspace_root().join("schemas")).unwrap();
    harness::schema::check_corpus(&schemas, &corpus).unwrap();
}
