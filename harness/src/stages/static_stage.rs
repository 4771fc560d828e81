//! The static stage, first of all. Nothing of the plugin runs before its verdict is clean:
//!
//! 1. the manifest and, for a crate, its `Cargo.toml`, `Cargo.lock` and dependency graph are
//!    analysed (`cargo metadata` reads them and runs nothing); an error stops here, so a crate
//!    with build code outside the allow-list is never built;
//! 2. a crate is then built in the sandbox (`cargo_build::build_plugin_crate`);
//! 3. the component is analysed without being compiled or instantiated.

use crate::model::{Finding, Location, Severity, Stage, StageReport};
use crate::plugin;
use crate::stages::{Subject, VerifyOptions};
use crate::static_analysis::{StaticInput, analyze};

/// Rule groups that come from reading the component (step 3).
const COMPONENT_GROUPS: [&str; 4] = ["artifact/", "contract/", "capability/", "resources/"];

pub fn run(subject: &mut Subject, options: &VerifyOptions) -> StageReport {
    let (text, manifest) = match plugin::read_manifest(&subject.source) {
        Ok(read) => read,
        Err(error) => {
            return StageReport::new(
                Stage::Static,
                "could not read the manifest".into(),
                vec![Finding::new(error.rule, error.message).at(Location {
                    file: error.file,
                    ..Location::default()
                })],
            );
        }
    };
    let manifest = manifest.ok();
    let cargo_toml = plugin::cargo_toml(&subject.source);
    let manifest_path = subject.source.manifest_path();
    let input = StaticInput {
        manifest_path: &manifest_path,
        manifest_text: &text,
        component_path: None,
        component: None,
        cargo_toml: cargo_toml.as_deref(),
        library_root: options.library_root.as_deref(),
        build_policy: &options.build,
    };
    // 1. Manifest and sources.
    let sources = analyze(&input);
    let has_errors = |findings: &[Finding]| findings.iter().any(|f| f.severity == Severity::Error);
    subject.manifest_text = Some(text.clone());
    subject.manifest = manifest.clone();
    if has_errors(&sources.findings) || manifest.is_none() {
        let summary = format!("{}; nothing was built or run", sources.summary);
        let mut stage = StageReport::new(Stage::Static, summary, sources.findings);
        stage.metrics = sources.metrics;
        return stage;
    }
    // 2. The build (sandboxed), or the component `main` names.
    let artifact = plugin::locate_component(&subject.source, manifest.as_ref(), &options.build);
    let mut findings = sources.findings;
    let mut metrics = sources.metrics;
    let summary = match &artifact {
        Ok(artifact) => {
            // 3. The component.
            let component = analyze(&StaticInput {
                component_path: Some(&artifact.path),
                component: Some(&artifact.bytes),
                cargo_toml: None,
                ..input
            });
            findings.extend(component.findings.into_iter().filter(|f| {
                COMPONENT_GROUPS
                    .iter()
                    .any(|group| f.rule.starts_with(group))
            }));
            metrics.extend(component.metrics);
            let count = |severity| findings.iter().filter(|f| f.severity == severity).count();
            format!(
                "checked plugin.json, {} and the component: {} error(s), {} warning(s), {} note(s)",
                if cargo_toml.is_some() {
                    "the crate's sources (then built sandboxed)"
                } else {
                    "no crate"
                },
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info)
            )
        }
        Err(error) => {
            findings.push(
                Finding::new(error.rule, error.message.clone()).at(Location {
                    file: error.file.clone(),
                    ..Location::default()
                }),
            );
            format!("{}; the component could not be located", sources.summary)
        }
    };
    subject.artifact = artifact.ok();
    let mut stage = StageReport::new(Stage::Static, summary, findings);
    stage.metrics = metrics;
    stage
}
