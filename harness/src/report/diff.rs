//! `harness diff`'s report: for people (stderr) and for a pull request (Markdown).

use std::fmt::Write as _;

use serde_json::Value;

use crate::diff::DiffReport;
use crate::model::json::Change;

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(79).collect::<String>())
    } else {
        text
    }
}

pub fn change_text(change: &Change) -> String {
    match (&change.old, &change.new) {
        (Some(a), Some(b)) => format!("{} → {}", short(a), short(b)),
        (None, Some(b)) => format!("added {}", short(b)),
        (Some(a), None) => format!("removed (was {})", short(a)),
        (None, None) => String::new(),
    }
}

/// The first `show` locations, joined, and how many more there are.
pub(super) fn list(locations: &[String], show: usize) -> String {
    let mut text = locations
        .iter()
        .take(show)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if locations.len() > show {
        let _ = write!(text, ", … ({} more)", locations.len() - show);
    }
    text
}

/// The human report (for stderr).
pub fn human(report: &DiffReport, show: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "diff {} → {} over {} events",
        report.old_name, report.new_name, report.events
    );
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    if !report.manifest_changes.is_empty() {
        let _ = writeln!(out, "manifest:");
        for change in &report.manifest_changes {
            let _ = writeln!(out, "  {change}");
        }
    }
    let _ = writeln!(out, "changed outputs: {}", report.changed.len());
    for (location, changes) in report.changed.iter().take(show) {
        let _ = writeln!(out, "  {location}");
        for change in changes {
            let _ = writeln!(out, "    {}: {}", change.pointer, change_text(change));
        }
    }
    if report.changed.len() > show {
        let _ = writeln!(out, "  … {} more (--show N)", report.changed.len() - show);
    }
    let _ = writeln!(out, "newly dropped: {}", report.newly_dropped.len());
    if !report.newly_dropped.is_empty() {
        let _ = writeln!(out, "  {}", list(&report.newly_dropped, show));
    }
    let _ = writeln!(out, "no longer dropped: {}", report.no_longer_dropped.len());
    if !report.no_longer_dropped.is_empty() {
        let _ = writeln!(out, "  {}", list(&report.no_longer_dropped, show));
    }
    for (title, failures) in [
        ("new failures", &report.new_failures),
        ("fixed failures", &report.fixed_failures),
    ] {
        let total: usize = failures.values().map(Vec::len).sum();
        let _ = writeln!(out, "{title}: {total}");
        for (rule, locations) in failures {
            let _ = writeln!(
                out,
                "  {rule} ({}): {}",
                locations.len(),
                list(locations, show)
            );
        }
    }
    let _ = writeln!(
        out,
        "fuel per event: median {} → {}, p99 {} → {}",
        report.fuel_old.0, report.fuel_new.0, report.fuel_old.1, report.fuel_new.1
    );
    let _ = writeln!(
        out,
        "{}",
        if report.identical() {
            "behaviour identical"
        } else {
            "behaviour differs"
        }
    );
    out
}

/// The Markdown report (for a pull request).
pub fn markdown(report: &DiffReport, show: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Plugin diff: `{}` → `{}`\n\n{} over {} corpus events.\n",
        report.old_name,
        report.new_name,
        if report.identical() {
            "**Behaviour identical**"
        } else {
            "**Behaviour differs**"
        },
        report.events
    );
    let _ = writeln!(out, "| | count |\n| --- | --- |");
    let _ = writeln!(out, "| changed outputs | {} |", report.changed.len());
    let _ = writeln!(out, "| newly dropped | {} |", report.newly_dropped.len());
    let _ = writeln!(
        out,
        "| no longer dropped | {} |",
        report.no_longer_dropped.len()
    );
    let _ = writeln!(
        out,
        "| new failures | {} |",
        report.new_failures.values().map(Vec::len).sum::<usize>()
    );
    let _ = writeln!(
        out,
        "| fixed failures | {} |",
        report.fixed_failures.values().map(Vec::len).sum::<usize>()
    );
    let _ = writeln!(
        out,
        "\nFuel per event: median {} → {}, p99 {} → {}.\n",
        report.fuel_old.0, report.fuel_new.0, report.fuel_old.1, report.fuel_new.1
    );
    if !report.manifest_changes.is_empty() {
        let _ = writeln!(out, "### Manifest\n");
        for change in &report.manifest_changes {
            let _ = writeln!(out, "- {change}");
        }
        out.push('\n');
    }
    for (title, failures) in [
        ("New failures", &report.new_failures),
        ("Fixed failures", &report.fixed_failures),
    ] {
        if !failures.is_empty() {
            let _ = writeln!(out, "### {title}\n");
            for (rule, locations) in failures {
                let _ = writeln!(
                    out,
                    "- `{rule}` ({}): {}",
                    locations.len(),
                    list(locations, show)
                );
            }
            out.push('\n');
        }
    }
    for (title, locations) in [
        ("Newly dropped", &report.newly_dropped),
        ("No longer dropped", &report.no_longer_dropped),
    ] {
        if !locations.is_empty() {
            let _ = writeln!(out, "### {title}\n\n{}\n", list(locations, show));
        }
    }
    if !report.changed.is_empty() {
        let _ = writeln!(out, "### Changed outputs\n");
        for (location, changes) in report.changed.iter().take(show) {
            let _ = writeln!(
                out,
                "<details><summary><code>{location}</code></summary>\n\n```diff"
            );
            for change in changes {
                if let Some(old) = &change.old {
                    let _ = writeln!(out, "- {}: {}", change.pointer, short(old));
                }
                if let Some(new) = &change.new {
                    let _ = writeln!(out, "+ {}: {}", change.pointer, short(new));
                }
            }
            let _ = writeln!(out, "```\n\n</details>\n");
        }
        if report.changed.len() > show {
            let _ = writeln!(out, "… and {} more.", report.changed.len() - show);
        }
    }
    out
}
