//! The static stage, first of all. Nothing of the plugin runs before its verdict is clean:
//!
//! 1. the manifest and, for a crate, its `Cargo.toml`, `Cargo.lock` and dependency graph are
//!    analysed (`cargo metadata` reads them and runs nothing); an error stops here, so a crate
//!    with build code outside the allow-list is never built;
//! 2. a crate is then built in the sandbox (`cargo_build::build_plugin_crate`), a JavaScript
//!    plugin bundled and componentized in it (`js_build::build_js_plugin`);
//! 3. the component is analysed without being compiled or instantiated.

use crate::model::{Finding, Location, Stage, StageReport};
use crate::plugin;
use crate::stages::{Subject, VerifyOptions};
use crate::static_analysis::{Analysis, StaticInput};

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
    let mut analysis = Analysis::manifest(&input);
    analysis.sources(&input);
    subject.manifest_text = Some(text.clone());
    subject.manifest = manifest.clone();
    if analysis.has_errors() || manifest.is_none() {
        let mut report = analysis.finish();
        report.summary.push_str("; nothing was built or run");
        let mut stage = StageReport::new(Stage::Static, report.summary, report.findings);
        stage.metrics = report.metrics;
        return stage;
    }
    // 2. The build (sandboxed), or the component `main` names; 3. the component.
    if (cargo_toml.is_some() || crate::js_build::is_js_plugin(subject.source.dir()))
        && let Some(manifest) = &manifest
    {
        options
            .progress
            .emit(crate::stages::StageProgress::Building {
                plugin: &manifest.name,
            });
    }
    let artifact = plugin::locate_component(&subject.source, manifest.as_ref(), &options.build);
    match &artifact {
        Ok(artifact) => analysis.component(&artifact.bytes, Some(&artifact.path)),
        Err(error) => analysis.add(
            Finding::new(error.rule, error.message.clone()).at(Location {
                file: error.file.clone(),
                ..Location::default()
            }),
        ),
    }
    subject.artifact = artifact.ok();
    let report = analysis.finish();
    let mut stage = StageReport::new(Stage::Static, report.summary, report.findings);
    stage.metrics = report.metrics;
    stage
}
