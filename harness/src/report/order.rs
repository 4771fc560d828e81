//! `harness order`'s report.

use std::fmt::Write as _;

use crate::order::OrderReport;

/// The human report.
pub fn human(report: &OrderReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "order: {} over {} events",
        report.plugins.join(" → "),
        report.events
    );
    for v in &report.violations {
        let _ = writeln!(
            out,
            "error: {} (position {}) requires `{}`, which {} (position {}) provides after it",
            v.plugin, v.position, v.property, v.provider, v.provider_position
        );
    }
    for pair in &report.pairs {
        if pair.events_changed > 0 {
            let _ = writeln!(
                out,
                "order-dependent: {} ({}) and {} ({}): swapping them changes {} event{} (e.g. {})",
                pair.a,
                pair.first,
                pair.b,
                pair.first + 1,
                pair.events_changed,
                if pair.events_changed == 1 { "" } else { "s" },
                pair.examples.join(", ")
            );
        } else {
            let _ = writeln!(
                out,
                "independent: {} ({}) and {} ({})",
                pair.a,
                pair.first,
                pair.b,
                pair.first + 1
            );
        }
    }
    let _ = writeln!(
        out,
        "{} order-dependent pair{} of {}, {} requires violation{}",
        report.dependent_pairs().count(),
        if report.dependent_pairs().count() == 1 {
            ""
        } else {
            "s"
        },
        report.pairs.len(),
        report.violations.len(),
        if report.violations.len() == 1 {
            ""
        } else {
            "s"
        },
    );
    out
}
