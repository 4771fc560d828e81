//! The load stage: compile and link the component (located by the static stage, or here when
//! it is run alone), check its exports against the contract. Nothing runs yet.

use std::sync::Arc;

use crate::model::{Finding, Location, Stage, StageReport};
use crate::plugin::{self, PluginSource};
use crate::stages::{Subject, VerifyOptions};

pub fn run(subject: &mut Subject, options: &VerifyOptions) -> StageReport {
    match load(subject, options) {
        Ok(report) => report,
        Err(error) => StageReport::new(
            Stage::Load,
            "could not load the plugin".into(),
            vec![Finding::new(error.rule, error.message).at(Location {
                file: error.file,
                ..Location::default()
            })],
        ),
    }
}

fn load(subject: &mut Subject, options: &VerifyOptions) -> Result<StageReport, plugin::LoadError> {
    // The static stage has usually read the manifest and located (built) the component.
    let manifest = match subject.manifest.clone() {
        Some(manifest) => manifest,
        None => {
            let (text, manifest) = plugin::read_manifest(&subject.source)?;
            subject.manifest_text = Some(text);
            let manifest = manifest?;
            subject.manifest = Some(manifest.clone());
            manifest
        }
    };
    let artifact = match subject.artifact.clone() {
        Some(artifact) => artifact,
        None => {
            let artifact =
                plugin::locate_component(&subject.source, Some(&manifest), &options.build)?;
            subject.artifact = Some(artifact.clone());
            artifact
        }
    };
    let plugin = plugin::load_artifact(&subject.source, manifest, &artifact, &options.load)?;
    let built = if artifact.built && matches!(subject.source, PluginSource::Directory(_)) {
        format!("built in {:.1} s; ", artifact.build_time.as_secs_f64())
    } else {
        String::new()
    };
    let mut stage = StageReport::new(
        Stage::Load,
        format!(
            "{built}component {} KiB, sha256 {}…; exports {}; compiled in {} ms{}",
            plugin.component_bytes.div_ceil(1024),
            &plugin.sha256[..12],
            plugin.exports.names().join(", "),
            plugin.compile_time.as_millis(),
            if plugin.compile_cache_hit {
                " (cached)"
            } else {
                ""
            },
        ),
        Vec::new(),
    );
    stage
        .metrics
        .insert("componentBytes".into(), plugin.component_bytes.into());
    stage.metrics.insert(
        "compileMs".into(),
        (plugin.compile_time.as_secs_f64() * 1000.0).into(),
    );
    subject.plugin = Some(Arc::new(plugin));
    Ok(stage)
}
