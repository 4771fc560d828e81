//! Rendering results for people (stderr) and machines (JSON on stdout). Only this module turns
//! verdicts and summaries into text.

use std::io::{self, Write};

use crate::pipeline::Summary;
use crate::verify::{Severity, StageStatus, Verdict};

/// Writes verdicts as the human report: per plugin its stages, findings and verdict.
pub fn write_verdicts(out: &mut impl Write, verdicts: &[Verdict]) -> io::Result<()> {
    for verdict in verdicts {
        let version = verdict.version.as_deref().unwrap_or("?");
        writeln!(
            out,
            "{} {} ({})",
            verdict.plugin,
            version,
            verdict.source.display()
        )?;
        for stage in &verdict.stages {
            let status = match stage.status {
                StageStatus::Passed => "pass",
                StageStatus::Failed => "FAIL",
                StageStatus::Skipped => "skip",
            };
            let time = if stage.status == StageStatus::Skipped {
                String::new()
            } else {
                format!(" [{:.0} ms]", stage.duration_ms)
            };
            writeln!(
                out,
                "  {status} {:<7} {}{time}",
                stage.stage.name(),
                stage.summary
            )?;
            for finding in &stage.findings {
                let severity = match finding.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "info",
                };
                let mut lines = finding.message.lines();
                writeln!(
                    out,
                    "       {severity} {}: {}",
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
                    writeln!(out, "         at {location}")?;
                }
                for example in &finding.examples {
                    writeln!(out, "         at {}: {}", example.location, example.message)?;
                }
            }
        }
        match &verdict.reason {
            None => writeln!(out, "  => approved")?,
            Some(reason) => writeln!(out, "  => REJECTED: {reason}")?,
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Writes the summary of a pipeline run.
pub fn write_summary(out: &mut impl Write, summary: &Summary) -> io::Result<()> {
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
        for (rule, count) in &counts.failures_by_rule {
            writeln!(out, "      {count} x {rule}")?;
        }
    }
    if !summary.adds_up() {
        writeln!(out, "warning: the counts do not add up (a harness bug)")?;
    }
    Ok(())
}
