//! The HTML reports: `report.html` (what `verify` found, for a reviewer) and `diff.html`
//! (`harness diff --html`). Each is one self-contained page: inline CSS, a few lines of inline
//! script, an inline SVG histogram, no request to anywhere (a Content-Security-Policy says so
//! to the browser too). Rendered from the same data as `report.json`; every string from a
//! plugin, a manifest or an event is HTML-escaped.

use std::fmt::Write as _;

use serde_json::Value;

use super::Report;
use crate::diff::DiffReport;
use crate::model::rules;
use crate::model::{Finding, Stage, StageReport, StageStatus, Verdict};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    // `&`, `<`, `>`, `"` and `'`: safe in text and in quoted attribute values alike.
    html_escape::encode_quoted_attribute(text).into_owned()
}

const STYLE: &str = r#"
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --dim: #656d76; --line: #d0d7de;
  --add: #dafbe1; --del: #ffebe9; --bg2: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1em 2em; color: #1f2328; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid var(--line); padding-bottom: .2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; margin: .5em 0; width: 100%; }
th, td { border: 1px solid var(--line); padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: var(--bg2); }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; }
.approved, .passed { color: var(--ok); font-weight: 600; }
.rejected, .failed { color: var(--bad); font-weight: 600; }
.skipped, .dim { color: var(--dim); }
.badge { display: inline-block; border-radius: 1em; padding: 0 .6em; margin: 0 .2em .2em 0; font-size: 12px; border: 1px solid var(--line); }
.badge.passed { background: var(--add); } .badge.failed { background: var(--del); } .badge.skipped { background: var(--bg2); }
.finding { border-left: 4px solid var(--line); padding: .4em .8em; margin: .6em 0; background: var(--bg2); }
.finding.error { border-color: var(--bad); } .finding.warning { border-color: var(--warn); } .finding.info { border-color: var(--dim); }
.finding .rule { font-weight: 600; } .finding dl { margin: .4em 0 0; } .finding dt { font-weight: 600; float: left; clear: left; width: 7em; }
.finding dd { margin-left: 7.5em; }
.diff { margin: .6em 0 1.2em; } .diff table { table-layout: fixed; } .diff td { padding: 0 .4em; border-top: 0; border-bottom: 0; }
.diff td.add { background: var(--add); } .diff td.del { background: var(--del); } .diff td.none { background: var(--bg2); }
.diff th { font-weight: 600; }
svg.histogram rect.bar { fill: #0969da; } svg.histogram text { font: 11px system-ui, sans-serif; fill: var(--dim); }
nav label { color: var(--dim); }
body.only-rejected [data-approved="true"] { display: none; }
"#;

const SCRIPT: &str = r#"
document.getElementById('only-rejected')?.addEventListener('change', function (e) {
  document.body.classList.toggle('only-rejected', e.target.checked);
});
"#;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

fn status_class(status: StageStatus) -> &'static str {
    match status {
        StageStatus::Passed => "passed",
        StageStatus::Failed => "failed",
        StageStatus::Skipped => "skipped",
    }
}

fn stage_of(verdict: &Verdict, stage: Stage) -> Option<&StageReport> {
    verdict.stages.iter().find(|s| s.stage == stage)
}

/// `report.html`: the verdict table, then each plugin's stages, findings (with the rule's
/// meaning and next step), snapshot changes side by side, fuel histogram and throughput.
pub fn html_report(report: &Report) -> String {
    let mut out = String::new();
    let summary = &report.summary;
    let _ = writeln!(out, "<h1>Plugin verification</h1>");
    let _ = writeln!(
        out,
        "<p>{} plugin{}: <span class=\"approved\">{} approved</span>, <span class=\"rejected\">{} rejected</span>{}. \
         Corpus: {} events in {} files (<code>{}</code>); harness {}, wasmtime {}.</p>",
        summary.plugins,
        if summary.plugins == 1 { "" } else { "s" },
        summary.approved,
        summary.rejected,
        if summary.harness_errors > 0 {
            format!(", {} harness errors", summary.harness_errors)
        } else {
            String::new()
        },
        report.corpus.events,
        report.corpus.files,
        escape(&report.corpus.dir.display().to_string()),
        escape(report.harness_version),
        escape(report.wasmtime_version),
    );
    for error in &report.errors {
        let _ = writeln!(
            out,
            "<p class=\"finding error\">harness error: {}</p>",
            escape(error)
        );
    }
    let _ = writeln!(
        out,
        "<nav><label><input type=\"checkbox\" id=\"only-rejected\"> only rejected plugins</label></nav>"
    );
    verdict_table(&mut out, &report.verdicts);
    for (index, verdict) in report.verdicts.iter().enumerate() {
        plugin_section(&mut out, index, verdict);
    }
    let c = &report.conditions;
    let _ = writeln!(
        out,
        "<h2>Conditions</h2>\n<table id=\"conditions\"><tbody>\
         <tr><th>environment</th><td>{}</td></tr>\
         <tr><th>random seed</th><td>{}</td></tr>\
         <tr><th>property cases (seed)</th><td>{} ({})</td></tr>\
         <tr><th>corpus sha256</th><td><code>{}</code></td></tr>\
         <tr><th>wasmtime</th><td>{}</td></tr>\
         <tr><th>fuel per KiB</th><td>{}</td></tr></tbody></table>",
        escape(&c.environment),
        c.random_seed,
        c.property_cases,
        c.property_seed,
        escape(&c.corpus_sha256),
        escape(&c.wasmtime),
        c.fuel_per_kib
    );
    page("Plugin verification", &out)
}

fn verdict_table(out: &mut String, verdicts: &[Verdict]) {
    let _ = writeln!(
        out,
        "<table id=\"verdicts\">\n<thead><tr><th>plugin</th><th>version</th><th>verdict</th><th>stages</th>\
         <th>fuel/event p99 (budget)</th><th>findings</th><th>why</th></tr></thead>\n<tbody>"
    );
    for (index, verdict) in verdicts.iter().enumerate() {
        let stages: String = verdict
            .stages
            .iter()
            .map(|s| {
                format!(
                    "<span class=\"badge {}\" title=\"{}\">{}</span>",
                    status_class(s.status),
                    escape(&s.summary),
                    s.stage.name()
                )
            })
            .collect();
        let fuel = verdict
            .stages
            .iter()
            .find_map(|s| s.metrics.get("fuelP99"))
            .and_then(Value::as_u64)
            .map_or("–".to_owned(), |p99| {
                let budget = verdict.component.as_ref().map_or("?".to_owned(), |c| {
                    crate::model::json::human_count(c.limits.fuel_budget)
                });
                format!(
                    "<span title=\"{p99}\">{}</span> ({budget})",
                    crate::model::json::human_count(p99)
                )
            });
        let findings: usize = verdict.stages.iter().map(|s| s.findings.len()).sum();
        let (class, word) = if verdict.approved {
            ("approved", "approved")
        } else {
            ("rejected", "rejected")
        };
        let _ = writeln!(
            out,
            "<tr data-approved=\"{}\"><td><a href=\"#plugin-{index}\">{}</a></td><td>{}</td><td class=\"{class}\">{word}</td>\
             <td>{stages}</td><td>{fuel}</td><td>{findings}</td><td>{}</td></tr>",
            verdict.approved,
            escape(&verdict.plugin),
            escape(verdict.version.as_deref().unwrap_or("?")),
            escape(verdict.reason.as_deref().unwrap_or("")),
        );
    }
    let _ = writeln!(out, "</tbody></table>");
}

fn plugin_section(out: &mut String, index: usize, verdict: &Verdict) {
    let _ = writeln!(
        out,
        "<section class=\"plugin\" id=\"plugin-{index}\" data-approved=\"{}\">\n<h2>{} {} <span class=\"{}\">{}</span></h2>",
        verdict.approved,
        escape(&verdict.plugin),
        escape(verdict.version.as_deref().unwrap_or("?")),
        if verdict.approved {
            "approved"
        } else {
            "rejected"
        },
        if verdict.approved {
            "approved"
        } else {
            "rejected"
        },
    );
    let _ = writeln!(
        out,
        "<p class=\"dim\">source <code>{}</code>{}</p>",
        escape(&verdict.source.display().to_string()),
        verdict
            .component
            .as_ref()
            .map(|c| format!(
                "; component sha256 <code>{}</code>, {} bytes",
                escape(&c.sha256),
                c.bytes
            ))
            .unwrap_or_default()
    );
    if let Some(reason) = &verdict.reason {
        let _ = writeln!(out, "<p><strong>Why:</strong> {}</p>", escape(reason));
    }
    let _ = writeln!(
        out,
        "<table class=\"stages\"><thead><tr><th>stage</th><th>status</th><th>summary</th><th>time</th></tr></thead><tbody>"
    );
    for stage in &verdict.stages {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"{class}\">{class}</td><td>{}</td><td>{}</td></tr>",
            stage.stage.name(),
            escape(&stage.summary),
            if stage.status == StageStatus::Skipped {
                String::new()
            } else {
                format!("{:.0} ms", stage.duration_ms)
            },
            class = status_class(stage.status),
        );
    }
    let _ = writeln!(out, "</tbody></table>");

    let findings: Vec<(Stage, &Finding)> = verdict
        .stages
        .iter()
        .flat_map(|s| s.findings.iter().map(move |f| (s.stage, f)))
        .collect();
    if !findings.is_empty() {
        let _ = writeln!(out, "<h3>Findings</h3>");
        for (stage, finding) in findings {
            finding_block(out, stage, finding);
        }
    }
    if let Some(snapshot) = stage_of(verdict, Stage::Snapshot) {
        snapshot_changes(out, snapshot);
    }
    if let Some(budget) = stage_of(verdict, Stage::Budget) {
        fuel_histogram(out, budget);
    }
    if let Some(bench) =
        stage_of(verdict, Stage::Bench).filter(|s| s.status != StageStatus::Skipped)
        && let Some(rate) = bench.metrics.get("eventsPerSecond").and_then(Value::as_f64)
    {
        let megabytes = bench
            .metrics
            .get("megabytesPerSecond")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let _ = writeln!(
            out,
            "<h3>Throughput</h3>\n<p class=\"throughput\">{rate:.0} events/s, {megabytes:.1} MB/s ({})</p>",
            escape(&bench.summary)
        );
    }
    let _ = writeln!(out, "</section>");
}

fn finding_block(out: &mut String, stage: Stage, finding: &Finding) {
    let severity = finding.severity.name();
    let _ = writeln!(
        out,
        "<div class=\"finding {severity}\"><span class=\"rule\">{severity} <code>{}</code></span> \
         <span class=\"dim\">({} stage{})</span>\n<pre class=\"message\">{}</pre>\n<dl>",
        escape(&finding.rule),
        stage.name(),
        if finding.occurrences > 1 {
            format!(", {} occurrences", finding.occurrences)
        } else {
            String::new()
        },
        escape(&finding.message),
    );
    if let Some(location) = &finding.location {
        let _ = writeln!(
            out,
            "<dt>where</dt><dd><code>{}</code></dd>",
            escape(&location.to_string())
        );
    }
    if let Some(rule) = rules::get(&finding.rule) {
        let _ = writeln!(
            out,
            "<dt>the rule</dt><dd class=\"explanation\">{}</dd>\n<dt>next step</dt><dd class=\"next-step\">{}</dd>",
            escape(rule.summary),
            escape(rule.next_step)
        );
    }
    if !finding.examples.is_empty() {
        let _ = writeln!(out, "<dt>examples</dt><dd><ul>");
        for example in &finding.examples {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {}</li>",
                escape(&example.location.to_string()),
                escape(&example.message)
            );
        }
        let _ = writeln!(out, "</ul></dd>");
    }
    let _ = writeln!(out, "</dl></div>");
}

/// Pretty JSON with every object's keys in order, so that two events side by side differ
/// only where their values do.
fn pretty(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string_pretty(&sorted(value)).unwrap_or_default()
}

/// Two texts side by side, line by line, the lines only on the left marked removed and those
/// only on the right added.
fn side_by_side(out: &mut String, left_title: &str, left: &str, right_title: &str, right: &str) {
    let diff = similar::TextDiff::from_lines(left, right);
    let old: Vec<&str> = left.lines().collect();
    let new: Vec<&str> = right.lines().collect();
    let _ = writeln!(
        out,
        "<table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>",
        escape(left_title),
        escape(right_title)
    );
    let cell = |class: &str, line: Option<&&str>| match line {
        Some(line) => format!("<td class=\"{class}\"><pre>{}</pre></td>", escape(line)),
        None => "<td class=\"none\"></td>".to_owned(),
    };
    for op in diff.ops() {
        let (tag, a, b) = op.as_tag_tuple();
        let rows = a.len().max(b.len());
        for i in 0..rows {
            let (l, r) = (old.get(a.start + i), new.get(b.start + i));
            let (l, r) = (
                if i < a.len() { l } else { None },
                if i < b.len() { r } else { None },
            );
            let (lc, rc) = match tag {
                similar::DiffTag::Equal => ("same", "same"),
                _ => ("del", "add"),
            };
            let _ = writeln!(out, "<tr>{}{}</tr>", cell(lc, l), cell(rc, r));
        }
    }
    let _ = writeln!(out, "</tbody></table>");
}

fn snapshot_changes(out: &mut String, stage: &StageReport) {
    let Some(events) = stage.metrics.get("changedEvents").and_then(Value::as_array) else {
        return;
    };
    let total = stage
        .metrics
        .get("eventsChanged")
        .and_then(Value::as_u64)
        .unwrap_or(events.len() as u64);
    let _ = writeln!(
        out,
        "<h3>Snapshot changes</h3>\n<p>{total} event{} changed since the accepted snapshots{}.</p>",
        if total == 1 { "" } else { "s" },
        if total > events.len() as u64 {
            format!("; the first {} are shown", events.len())
        } else {
            String::new()
        }
    );
    for event in events {
        let file = event.get("file").and_then(Value::as_str).unwrap_or("?");
        let line = event.get("line").and_then(Value::as_u64).unwrap_or(0);
        let input = event.get("input").cloned().unwrap_or(Value::Null);
        let output = event.get("output").cloned().unwrap_or(Value::Null);
        let _ = writeln!(
            out,
            "<div class=\"diff snapshot-change\"><h4><code>{}:{line}</code></h4>",
            escape(file)
        );
        let output_text = if output.is_null() {
            "(dropped)".to_owned()
        } else {
            pretty(&output)
        };
        side_by_side(
            out,
            "input (corpus)",
            &pretty(&input),
            "output (now)",
            &output_text,
        );
        let before = event.get("before").cloned().unwrap_or(Value::Null);
        let now = event.get("now").cloned().unwrap_or(Value::Null);
        let _ = writeln!(
            out,
            "<details><summary>snapshot entry: accepted → now</summary>"
        );
        side_by_side(out, "accepted", &pretty(&before), "now", &pretty(&now));
        let _ = writeln!(out, "</details></div>");
    }
}

fn fuel_histogram(out: &mut String, stage: &StageReport) {
    let Some(histogram) = stage.metrics.get("fuelHistogram") else {
        return;
    };
    let numbers = |key: &str| -> Vec<u64> {
        histogram
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    };
    let (edges, counts) = (numbers("edges"), numbers("counts"));
    if counts.is_empty() || edges.len() != counts.len() + 1 {
        return;
    }
    let metric = |key: &str| {
        stage
            .metrics
            .get(key)
            .and_then(Value::as_u64)
            .map_or("?".to_owned(), crate::model::json::human_count)
    };
    let _ = writeln!(
        out,
        "<h3>Fuel per event</h3>\n<p>median {}, p99 {}, max {}; budget {} + {} per KiB.</p>",
        metric("fuelMedian"),
        metric("fuelP99"),
        metric("fuelMax"),
        metric("fuelBudget"),
        metric("fuelPerKib"),
    );
    let (width, height, bottom) = (720.0, 160.0, 20.0);
    let tallest = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let bar = width / counts.len() as f64;
    let _ = writeln!(
        out,
        "<svg class=\"histogram\" role=\"img\" aria-label=\"fuel per event histogram\" width=\"{width}\" height=\"{}\" viewBox=\"0 0 {width} {}\">",
        height + bottom,
        height + bottom
    );
    for (i, &count) in counts.iter().enumerate() {
        let h = if count == 0 {
            0.0
        } else {
            (count as f64 / tallest * (height - 12.0)).max(1.0)
        };
        let _ = writeln!(
            out,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"><title>{}–{} fuel: {count} event{}</title></rect>",
            i as f64 * bar + 1.0,
            height - h,
            (bar - 2.0).max(1.0),
            edges[i],
            edges[i + 1],
            if count == 1 { "" } else { "s" }
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"0\" y=\"{}\">{}</text><text x=\"{width}\" y=\"{}\" text-anchor=\"end\">{} fuel (bins grow geometrically)</text></svg>",
        height + 14.0,
        crate::model::json::human_count(edges[0]),
        height + 14.0,
        crate::model::json::human_count(edges[edges.len() - 1]),
    );
}

/// `diff.html`: `harness diff`'s report, each changed event's changed values side by side.
pub fn diff_html(report: &DiffReport, show: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<h1>Plugin diff: <code>{}</code> → <code>{}</code></h1>\n<p class=\"{}\">{}</p><p>over {} corpus events</p>",
        escape(&report.old_name),
        escape(&report.new_name),
        if report.identical() {
            "approved"
        } else {
            "rejected"
        },
        if report.identical() {
            "Behaviour identical"
        } else {
            "Behaviour differs"
        },
        report.events
    );
    for warning in &report.warnings {
        let _ = writeln!(
            out,
            "<p class=\"finding warning\">warning: {}</p>",
            escape(warning)
        );
    }
    let total = |failures: &std::collections::BTreeMap<String, Vec<String>>| -> usize {
        failures.values().map(Vec::len).sum()
    };
    let _ = writeln!(
        out,
        "<table id=\"summary\"><tbody>\
         <tr><th>changed outputs</th><td>{}</td></tr>\
         <tr><th>newly dropped</th><td>{}</td></tr>\
         <tr><th>no longer dropped</th><td>{}</td></tr>\
         <tr><th>new failures</th><td>{}</td></tr>\
         <tr><th>fixed failures</th><td>{}</td></tr>\
         <tr><th>fuel per event, median</th><td>{} → {}</td></tr>\
         <tr><th>fuel per event, p99</th><td>{} → {}</td></tr></tbody></table>",
        report.changed.len(),
        report.newly_dropped.len(),
        report.no_longer_dropped.len(),
        total(&report.new_failures),
        total(&report.fixed_failures),
        report.fuel_old.0,
        report.fuel_new.0,
        report.fuel_old.1,
        report.fuel_new.1,
    );
    if !report.manifest_changes.is_empty() {
        let _ = writeln!(out, "<h2>Manifest</h2><ul>");
        for change in &report.manifest_changes {
            let _ = writeln!(out, "<li>{}</li>", escape(change));
        }
        let _ = writeln!(out, "</ul>");
    }
    for (title, failures) in [
        ("New failures", &report.new_failures),
        ("Fixed failures", &report.fixed_failures),
    ] {
        if failures.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<h2>{title}</h2><table><thead><tr><th>rule</th><th>events</th><th>the rule</th><th>next step</th></tr></thead><tbody>"
        );
        for (rule, locations) in failures {
            let info = rules::get(rule);
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code> ({})</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(rule),
                locations.len(),
                escape(&super::diff::list(locations, show)),
                escape(info.map_or("", |r| r.summary)),
                escape(info.map_or("", |r| r.next_step)),
            );
        }
        let _ = writeln!(out, "</tbody></table>");
    }
    for (title, locations) in [
        ("Newly dropped", &report.newly_dropped),
        ("No longer dropped", &report.no_longer_dropped),
    ] {
        if !locations.is_empty() {
            let _ = writeln!(
                out,
                "<h2>{title}</h2><p><code>{}</code></p>",
                escape(&super::diff::list(locations, show))
            );
        }
    }
    if !report.changed.is_empty() {
        let _ = writeln!(out, "<h2>Changed outputs</h2>");
        for (location, changes) in report.changed.iter().take(show) {
            let _ = writeln!(
                out,
                "<div class=\"diff output-change\"><h4><code>{}</code></h4>\n<table><thead><tr><th>JSON pointer</th><th>{}</th><th>{}</th></tr></thead><tbody>",
                escape(location),
                escape(&report.old_name),
                escape(&report.new_name)
            );
            for change in changes {
                let cell = |class: &str, value: &Option<Value>| match value {
                    Some(value) => {
                        format!(
                            "<td class=\"{class}\"><pre>{}</pre></td>",
                            escape(&pretty(value))
                        )
                    }
                    None => "<td class=\"none\"><span class=\"dim\">(absent)</span></td>".into(),
                };
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code></td>{}{}</tr>",
                    escape(&change.pointer),
                    cell("del", &change.old),
                    cell("add", &change.new)
                );
            }
            let _ = writeln!(out, "</tbody></table></div>");
        }
        if report.changed.len() > show {
            let _ = writeln!(
                out,
                "<p>… and {} more (<code>--show N</code>).</p>",
                report.changed.len() - show
            );
        }
    }
    page(
        &format!("Plugin diff: {} → {}", report.old_name, report.new_name),
        &out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;y&#x27;"
        );
    }

    #[test]
    fn side_by_side_marks_removed_and_added_lines() {
        let mut out = String::new();
        side_by_side(&mut out, "in", "a\nb\nc\n", "out", "a\nB\nc\nd\n");
        assert!(
            out.contains("<td class=\"del\"><pre>b</pre></td><td class=\"add\"><pre>B</pre></td>"),
            "{out}"
        );
        assert!(
            out.contains("<td class=\"none\"></td><td class=\"add\"><pre>d</pre></td>"),
            "{out}"
        );
        assert!(
            out.contains(
                "<td class=\"same\"><pre>a</pre></td><td class=\"same\"><pre>a</pre></td>"
            ),
            "{out}"
        );
    }
}
