//! `harness order`: which adjacent plugins of a pipeline depend on their order (the corpus run
//! as given and with each adjacent pair swapped), and orders that run a plugin before the one
//! that provides a property it `requires`.

use crate::corpus::Corpus;
use crate::diff::{Outcome, run_corpus};
use crate::error::HarnessError;
use crate::manifest::Manifest;
use crate::pipeline::file::{PipelineEntry, load_pipeline};

/// A plugin that runs before the plugin providing a property it requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequiresViolation {
    pub plugin: String,
    pub position: usize,
    pub property: String,
    pub provider: String,
    pub provider_position: usize,
}

/// One adjacent pair (positions `first`, `first + 1`, 1-based) and what swapping it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairResult {
    pub first: usize,
    pub a: String,
    pub b: String,
    /// Events whose final outcome (output or drop) differs when the two are swapped.
    pub events_changed: usize,
    /// Corpus locations of the first few such events.
    pub examples: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct OrderReport {
    pub plugins: Vec<String>,
    pub events: usize,
    pub violations: Vec<RequiresViolation>,
    pub pairs: Vec<PairResult>,
}

impl OrderReport {
    pub fn dependent_pairs(&self) -> impl Iterator<Item = &PairResult> {
        self.pairs.iter().filter(|p| p.events_changed > 0)
    }
}

/// Plugins (name, manifest) in order: every one that requires a property some later plugin
/// provides (and no earlier one does) is a violation.
pub fn requires_violations(manifests: &[(String, Manifest)]) -> Vec<RequiresViolation> {
    let mut violations = Vec::new();
    for (i, (name, manifest)) in manifests.iter().enumerate() {
        for property in &manifest.requires {
            let earlier = manifests[..i]
                .iter()
                .any(|(_, m)| m.provides.contains(property));
            if earlier {
                continue;
            }
            if let Some((j, (provider, _))) = manifests
                .iter()
                .enumerate()
                .skip(i + 1)
                .find(|(_, (_, m))| m.provides.contains(property))
            {
                violations.push(RequiresViolation {
                    plugin: name.clone(),
                    position: i + 1,
                    property: property.clone(),
                    provider: provider.clone(),
                    provider_position: j + 1,
                });
            }
        }
    }
    violations
}

fn outcomes(
    entries: &[PipelineEntry],
    corpus: &Corpus,
    seed: u64,
) -> Result<Vec<Outcome>, HarnessError> {
    // Fresh plugins for every order: storage and caches must not carry over between runs.
    let plugins = load_pipeline(entries, seed)?;
    Ok(run_corpus(plugins, corpus).0)
}

/// Runs the corpus through the pipeline as given and with each adjacent pair swapped.
pub fn analyse(
    entries: &[PipelineEntry],
    corpus: &Corpus,
    seed: u64,
) -> Result<OrderReport, HarnessError> {
    let plugins = load_pipeline(entries, seed)?;
    let manifests: Vec<(String, Manifest)> = plugins
        .iter()
        .map(|p| (p.name.clone(), p.manifest.clone()))
        .collect();
    let mut report = OrderReport {
        plugins: manifests.iter().map(|(n, _)| n.clone()).collect(),
        events: corpus.events.len(),
        violations: requires_violations(&manifests),
        pairs: Vec::new(),
    };
    let base = run_corpus(plugins, corpus).0;
    for i in 0..entries.len().saturating_sub(1) {
        let mut swapped: Vec<PipelineEntry> = entries.to_vec();
        swapped.swap(i, i + 1);
        let other = outcomes(&swapped, corpus, seed)?;
        let differing: Vec<String> = corpus
            .events
            .iter()
            .zip(base.iter().zip(&other))
            .filter(|(_, (a, b))| a.output != b.output)
            .map(|(sourced, _)| sourced.location())
            .collect();
        report.pairs.push(PairResult {
            first: i + 1,
            a: report.plugins[i].clone(),
            b: report.plugins[i + 1].clone(),
            events_changed: differing.len(),
            examples: differing.into_iter().take(5).collect(),
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(requires: &[&str], provides: &[&str]) -> Manifest {
        Manifest {
            requires: requires.iter().map(|s| s.to_string()).collect(),
            provides: provides.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_plugin_before_its_provider_is_a_violation() {
        let plugins = vec![
            ("reader".to_owned(), manifest(&["x"], &[])),
            ("writer".to_owned(), manifest(&[], &["x"])),
        ];
        let violations = requires_violations(&plugins);
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].plugin, "reader");
        assert_eq!(violations[0].provider_position, 2);
        let reversed: Vec<_> = plugins.into_iter().rev().collect();
        assert!(requires_violations(&reversed).is_empty());
    }
}
