//! The one rule table: every rule id the code can emit is in it, and `--list-rules` lists the
//! whole table. A finding whose rule is not in the table also fails every debug build at run
//! time (`Finding::new`); these tests catch the ids no test happens to reach.

use std::collections::BTreeSet;
use std::path::Path;

use harness::instance::FailureKind;
use harness::model::rules;

/// Rule groups: the first part of every id.
const GROUPS: [&str; 13] = [
    "manifest",
    "artifact",
    "contract",
    "capability",
    "resources",
    "source",
    "load",
    "run",
    "schema",
    "budget",
    "property",
    "snapshot",
    "bench",
];

/// Every `"group/name"` string literal in the crate's sources.
fn literal_rule_ids() -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices('"') {
                let rest = &text[i + 1..];
                let Some(end) = rest.find('"') else { continue };
                let candidate = &rest[..end];
                let Some((group, name)) = candidate.split_once('/') else {
                    continue;
                };
                if GROUPS.contains(&group)
                    && !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    ids.insert(candidate.to_owned());
                }
            }
        }
    }
    ids
}

#[test]
fn every_rule_id_in_the_code_is_in_the_table() {
    let literals = literal_rule_ids();
    assert!(literals.len() > 40, "found only {literals:?}");
    let missing: Vec<&String> = literals
        .iter()
        .filter(|id| rules::get(id).is_none())
        .collect();
    assert!(missing.is_empty(), "not in the rule table: {missing:?}");
}

#[test]
fn every_call_failure_has_its_rules_in_the_table() {
    for kind in FailureKind::ALL {
        assert!(rules::get(kind.rule()).is_some(), "{}", kind.rule());
        assert!(
            rules::get(kind.on_event_rule()).is_some(),
            "{}",
            kind.on_event_rule()
        );
        assert_eq!(kind.on_event_rule(), format!("{}-on-event", kind.rule()));
    }
}

#[test]
fn list_rules_lists_the_whole_table_with_next_steps() {
    let listed = harness::report::rule_list();
    for rule in rules::all() {
        assert!(listed.contains(rule.id), "{} not listed", rule.id);
        assert!(
            listed.contains(rule.next_step),
            "{} has no next step",
            rule.id
        );
    }
    for id in [
        "budget/fuel-p99",
        "budget/fuel-max",
        "budget/super-linear",
        "run/trap-on-event",
    ] {
        assert!(listed.contains(id), "{id}");
    }
}

#[test]
fn a_rule_id_missing_from_the_table_is_caught() {
    // The near miss of the scan above: a made-up id is not in the table.
    assert!(rules::get("run/made-up").is_none());
    assert!(rules::get("run/trap").is_some());
}
