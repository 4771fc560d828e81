//! `report.html` and `diff.html`: written by every verify run and by `diff --html`, every
//! plugin-authored string escaped, and (with Chromium installed, as `.ci/run` does) rendered
//! by a real browser, whose DOM must hold the verdict table and a snapshot diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{self, Workspace, harness, stderr, two_events};

const HOSTILE: &str = "<script>alert(1)</script>";

fn set_verify_config(ws: &Workspace, plugin: &str, config: Value) {
    let path = ws.path().join("plugins").join(plugin).join("plugin.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest["verifyConfig"] = config;
    std::fs::write(&path, manifest.to_string()).unwrap();
}

/// A workspace whose plugin `appender` has accepted snapshots and now appends a hostile label
/// instead: verify rejects it with `snapshot/changed`, reports in `out/`.
fn changed_snapshot_report() -> (Workspace, PathBuf) {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("appender", json!({"mode": "append", "label": "v1"}));
    let first = harness(&["verify", "--out", "first"], ws.path());
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let html = std::fs::read_to_string(ws.path().join("first/report.html")).unwrap();
    assert!(html.contains("<table id=\"verdicts\">"), "{html}");
    assert!(!html.contains("snapshot-change"), "{html}");

    set_verify_config(&ws, "appender", json!({"mode": "append", "label": HOSTILE}));
    let second = harness(&["verify", "--out", "out"], ws.path());
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let out = ws.path().join("out");
    (ws, out)
}

#[test]
fn report_html_shows_verdicts_findings_with_next_steps_snapshot_diffs_and_fuel_escaped() {
    let (_ws, out) = changed_snapshot_report();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    // Self-contained: no external resource of any kind.
    for external in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!html.contains(external), "{external} in {html}");
    }
    assert!(html.contains("<table id=\"verdicts\">"), "{html}");
    assert!(
        html.contains("<a href=\"#plugin-0\">appender</a>") && html.contains(">rejected</td>"),
        "{html}"
    );
    // The finding, with the rule table's explanation and next step.
    let rule = harness::model::rules::get("snapshot/changed").unwrap();
    assert!(html.contains("<code>snapshot/changed</code>"), "{html}");
    assert!(
        html.contains(&harness::report::escape_html(rule.next_step)),
        "{html}"
    );
    // The snapshot change of each event, input and output side by side.
    assert_eq!(
        html.matches("<div class=\"diff snapshot-change\">").count(),
        2
    );
    assert!(html.contains("input (corpus)") && html.contains("output (now)"));
    assert!(
        html.contains("<td class=\"add\"><pre>      &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;</pre></td>"),
        "{html}"
    );
    // The plugin's text (in the output and in the finding's diff) is escaped everywhere: the
    // only script element is the page's own.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains(HOSTILE), "{html}");
    assert_eq!(html.matches("<script>").count(), 1, "{html}");
    // Fuel per event: p99 against the budget in the table, and as a histogram.
    assert!(html.contains(" (20.0M)</td>"), "{html}");
    assert!(html.contains("<svg class=\"histogram\""), "{html}");
    assert!(html.contains("<rect class=\"bar\""), "{html}");

    // Linked from report.md (and so from the step summary).
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains("[report.html](report.html)"),
        "{markdown}"
    );
}

#[test]
fn the_step_summary_points_at_the_html_report_in_the_runs_artifacts() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    let summary = ws.path().join("summary.md");
    let output = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["verify", "--accept"])
        .current_dir(ws.path())
        .env_remove("CI")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "owner/repo")
        .env("GITHUB_RUN_ID", "42")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = std::fs::read_to_string(summary).unwrap();
    assert!(
        text.contains("`report.html` in the run's [harness-reports](https://github.example/owner/repo/actions/runs/42#artifacts) artifact"),
        "{text}"
    );
    // Not the link relative to report.md, which leads nowhere from the run's page.
    assert!(!text.contains("[report.html](report.html)"), "{text}");
    assert_eq!(text.matches("The whole report").count(), 1, "{text}");
}

#[test]
fn diff_html_shows_each_changed_value_old_and_new_escaped() {
    let old = common::misbehaving_dir(json!({"verifyConfig": {"mode": "append", "label": "v1"}}));
    let new =
        common::misbehaving_dir(json!({"verifyConfig": {"mode": "append", "label": HOSTILE}}));
    let ws = Workspace::new(&two_events());
    let page = ws.path().join("diff.html");
    let output = harness(
        &[
            "diff",
            old.path().to_str().unwrap(),
            new.path().to_str().unwrap(),
            "--corpus",
            "corpus",
            "--html",
            "diff.html",
        ],
        ws.path(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Behaviour differs"), "{html}");
    assert!(html.contains("<table id=\"summary\">"), "{html}");
    assert_eq!(
        html.matches("<div class=\"diff output-change\">").count(),
        2
    );
    assert!(html.contains("<code>/properties/trail/0</code>"), "{html}");
    assert!(
        html.contains("<td class=\"del\"><pre>&quot;v1&quot;</pre></td>"),
        "{html}"
    );
    assert!(
        html.contains(
            "<td class=\"add\"><pre>&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;</pre></td>"
        ),
        "{html}"
    );
    assert_eq!(html.matches("<script>").count(), 1, "{html}");

    let unwritable = harness(
        &[
            "diff",
            old.path().to_str().unwrap(),
            new.path().to_str().unwrap(),
            "--corpus",
            "corpus",
            "--html",
            "no/such/dir/diff.html",
        ],
        ws.path(),
    );
    assert_eq!(unwritable.status.code(), Some(2));
    let text = stderr(&unwritable);
    assert_eq!(text.lines().filter(|l| l.starts_with("error:")).count(), 1);
    assert!(text.contains("no/such/dir/diff.html"), "{text}");
}

/// The Chromium binary, if one is installed.
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join(name))
                .find(|path| path.is_file())
        })
}

fn headless(browser: &Path, args: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("running chromium")
}

#[test]
fn report_html_renders_in_headless_chromium_with_the_verdict_table_and_a_diff() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("HARNESS_REQUIRE_CHROMIUM").is_none(),
            "HARNESS_REQUIRE_CHROMIUM is set but no chromium is on PATH"
        );
        eprintln!(
            "SKIPPED: chromium is not installed (apt-get install chromium); .ci/run installs it and sets HARNESS_REQUIRE_CHROMIUM"
        );
        return;
    };
    let (_ws, out) = changed_snapshot_report();
    // Kept where a person can open it after the tests: the target directory's test space.
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    let _ = std::fs::remove_dir_all(&keep);
    std::fs::create_dir_all(&keep).unwrap();
    let page = keep.join("report.html");
    std::fs::copy(out.join("report.html"), &page).unwrap();

    let dom = headless(&browser, &["--dump-dom"], &page);
    let text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    assert!(text.contains("<table id=\"verdicts\">"), "{text}");
    assert!(
        text.contains("<td class=\"rejected\">rejected</td>"),
        "{text}"
    );
    assert!(text.contains("class=\"diff snapshot-change\""), "{text}");
    // The browser parsed the plugin's script as text, not as an element.
    assert_eq!(text.matches("<script>").count(), 1, "{text}");
    assert!(
        text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{text}"
    );

    let png = keep.join("report.png");
    let shot = headless(
        &browser,
        &[
            "--window-size=1280,2000",
            &format!("--screenshot={}", png.display()),
        ],
        &page,
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
    eprintln!("rendered {} and {}", page.display(), png.display());
}
