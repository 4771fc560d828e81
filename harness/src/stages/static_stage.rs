//! The static stage, first of all: the manifest, the component and (for a crate) its
//! dependencies are analysed without running anything. An error here stops verification: a
//! dangerous or broken plugin is refused before any of its code runs.

use crate::plugin;
use crate::static_analysis::{StaticInput, analyze};
use crate::verify::{Finding, Location, Stage, StageReport, Subject, VerifyOptions, report};

pub fn run(subject: &mut Subject, options: &VerifyOptions) -> StageReport {
    let (text, manifest) = match plugin::read_manifest(&subject.source) {
        Ok(read) => read,
        Err(error) => {
            return report(
                Stage::Static,
                "could not read the manifest".into(),
                vec![Finding::error(error.rule, error.message).at(Location {
                    file: error.file,
                    ..Location::default()
                })],
            );
        }
    };
    let manifest = manifest.ok();
    // Building a crate plugin produces the artifact to analyse; nothing is instantiated.
    let artifact = plugin::locate_component(&subject.source, manifest.as_ref());
    let cargo_toml = plugin::cargo_toml(&subject.source);
    let manifest_path = subject.source.manifest_path();
    let static_report = analyze(&StaticInput {
        manifest_path: &manifest_path,
        manifest_text: &text,
        component_path: artifact.as_ref().ok().map(|a| a.path.as_path()),
        component: artifact.as_ref().ok().map(|a| a.bytes.as_slice()),
        cargo_toml: cargo_toml.as_deref(),
        library_root: options.library_root.as_deref(),
    });
    let mut findings = static_report.findings;
    // The manifest parsed by the static rules may still be unusable for the harness (a field
    // of the wrong type that the schema also reports); the load stage reports that.
    if let Err(error) = &artifact
        && manifest.is_some()
    {
        findings.push(
            Finding::error(error.rule, error.message.clone()).at(Location {
                file: error.file.clone(),
                ..Location::default()
            }),
        );
    }
    subject.manifest_text = Some(text);
    subject.manifest = manifest;
    subject.artifact = artifact.ok();
    let mut stage = report(Stage::Static, static_report.summary, findings);
    stage.metrics = static_report.metrics;
    stage
}
