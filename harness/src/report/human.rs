//! The human report: per plugin its stages, findings and verdict; colour when the stream is a
//! terminal (anstream strips it otherwise).

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use crate::model::json::{one_line, shorten};
use crate::model::{Severity, StageStatus, Verdict};
use crate::run::{FAILURES_SHOWN, RunSummary};

const PASS: Style = AnsiColor::Green.on_default();
const FAIL: Style = AnsiColor::Red.on_default().bold();
const DIM: Style = Style::new().dimmed();
const RULE: Style = AnsiColor::Yellow.on_default();
const NAME: Style = Style::new().bold();

/// Writes verdicts as the human report.
pub fn write_verdicts(out: &mut impl Write, verdicts: &[Verdict]) -> io::Result<()> {
    for verdict in verdicts {
        let version = verdict.version.as_deref().unwrap_or("?");
        writeln!(
            out,
            "{NAME}{}{NAME:#} {} {DIM}({}){DIM:#}",
            verdict.plugin,
            version,
            verdict.source.display()
        )?;
        for stage in &verdict.stages {
            let (status, style) = match stage.status {
                StageStatus::Passed => ("pass", PASS),
                StageStatus::Failed => ("FAIL", FAIL),
                StageStatus::Skipped => ("skip", DIM),
            };
            let time = if stage.status == StageStatus::Skipped {
                String::new()
            } else {
                format!(" {DIM}[{:.0} ms]{DIM:#}", stage.duration_ms)
            };
            writeln!(
                out,
                "  {style}{status}{style:#} {:<8} {}{time}",
                stage.stage.name(),
                stage.summary
            )?;
            for finding in &stage.findings {
                let (severity, style) = match finding.severity {
                    Severity::Error => ("error", FAIL),
                    Severity::Warning => ("warning", RULE),
                    Severity::Info => ("info", DIM),
                };
                let mut lines = finding.message.lines();
                writeln!(
                    out,
                    "       {style}{severity}{style:#} {RULE}{}{RULE:#}: {}",
                    finding.rule,
                    lines.next().unwrap_or("")
                )?;
                for line in lines {
                    writeln!(out, "         {line}")?;
                }
                let location = finding.location.as_ref().map(ToString::to_string);
                if finding.examples.is_empty()
                    && let Some(location) = location.filter(|l| !l.is_empty())
                {
                    writeln!(out, "         {DIM}at {location}{DIM:#}")?;
                }
                for example in &finding.examples {
                    writeln!(
                        out,
                        "         {DIM}at {}:{DIM:#} {}",
                        example.location, example.message
                    )?;
                }
            }
        }
        match &verdict.reason {
            None => writeln!(out, "  => {PASS}approved{PASS:#}")?,
            Some(reason) => writeln!(out, "  => {FAIL}REJECTED{FAIL:#}: {reason}")?,
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Writes the summary of a `run`: the counts, and under each plugin's failures by rule the
/// first few failures, each with the event's input line.
pub fn write_summary(out: &mut impl Write, run: &RunSummary) -> io::Result<()> {
    let summary = &run.summary;
    writeln!(
        out,
        "events in: {}, emitted: {}, dropped: {}, invalid input lines: {}",
        summary.events_in, summary.emitted, summary.dropped, summary.invalid_input
    )?;
    for (position, (name, counts)) in summary.per_plugin.iter().enumerate() {
        writeln!(
            out,
            "  {} ({}): succeeded {}, dropped {}, failed {}, on-event failed {}, captured {}, instances replaced {}",
            name,
            position + 1,
            counts.succeeded,
            counts.dropped,
            counts.failed,
            counts.on_event_failed,
            counts.captured,
            counts.instances_replaced
        )?;
        if !counts.tasks.is_empty() {
            let tasks: Vec<String> = counts
                .tasks
                .iter()
                .map(|(task, c)| format!("{task} {} runs ({} failed)", c.runs, c.failed))
                .collect();
            writeln!(out, "      scheduled tasks: {}", tasks.join(", "))?;
        }
        let examples = run.failures.get(name);
        for (rule, count) in &counts.failures_by_rule {
            writeln!(out, "      {count} x {RULE}{rule}{RULE:#}")?;
            for example in examples.and_then(|e| e.get(rule)).into_iter().flatten() {
                let event = match (&example.event, &example.uuid) {
                    (Some(event), Some(uuid)) => format!(" ({event}, uuid {uuid})"),
                    (Some(event), None) => format!(" ({event})"),
                    (None, Some(uuid)) => format!(" (uuid {uuid})"),
                    (None, None) => String::new(),
                };
                writeln!(
                    out,
                    "        {DIM}{}{}:{DIM:#} {}",
                    one_line(&example.input),
                    one_line(&shorten(&event, 120)),
                    one_line(&shorten(example.message.lines().next().unwrap_or(""), 300))
                )?;
            }
            if *count > FAILURES_SHOWN as u64 {
                writeln!(
                    out,
                    "        {DIM}… and {} more{DIM:#}",
                    count - FAILURES_SHOWN as u64
                )?;
            }
        }
        if let Some(state) = counts.health {
            let name = match state {
                crate::pipeline::health::HealthState::Healthy => "healthy",
                crate::pipeline::health::HealthState::Degraded => "degraded",
                crate::pipeline::health::HealthState::Disabled => "disabled",
            };
            writeln!(
                out,
                "      health: {name}; {} events passed over while disabled",
                counts.skipped_unhealthy
            )?;
            for t in &counts.health_transitions {
                writeln!(
                    out,
                    "      health: {:?} -> {:?} at event {}",
                    t.from, t.to, t.event
                )?;
            }
        }
    }
    if !summary.adds_up() {
        writeln!(
            out,
            "{FAIL}warning{FAIL:#}: the counts do not add up (a harness bug)"
        )?;
    }
    Ok(())
}
