//! The schema stage: every event the plugin emitted over the corpus (left by the corpus stage)
//! checked against the event schemas (`schemas/`) and against the output schema the plugin
//! declares in its manifest. The corpus itself was checked once, before any plugin.

use serde_json::Value;

use crate::corpus::SourcedEvent;
use crate::model::{Finding, Location, Stage, StageReport};
use crate::pipeline::Disposition;
use crate::stages::{Subject, VerifyOptions};

pub fn run(subject: &mut Subject, options: &VerifyOptions) -> StageReport {
    let Some(schemas) = &options.schemas else {
        return StageReport::skipped(Stage::Schema, "no event schemas were given");
    };
    let Some(plugin) = &subject.plugin else {
        return StageReport::skipped(Stage::Schema, "the plugin did not load");
    };
    if subject.corpus_results.len() != options.corpus.events.len() {
        return StageReport::skipped(Stage::Schema, "the corpus stage did not run");
    }
    let declared = match schemas.plugin_schemas(&plugin.manifest, plugin.source.dir()) {
        Ok(declared) => declared,
        Err(message) => {
            return StageReport::new(
                Stage::Schema,
                "the plugin's declared schemas cannot be used".into(),
                vec![
                    Finding::new("schema/declared-invalid", message).at(Location {
                        file: Some(plugin.source.manifest_path()),
                        pointer: Some("/schemas".into()),
                        ..Location::default()
                    }),
                ],
            );
        }
    };
    let outputs: Vec<(&SourcedEvent, &Value)> = options
        .corpus
        .events
        .iter()
        .zip(&subject.corpus_results)
        .flat_map(|(source, ingested)| ingested.results().map(move |result| (source, result)))
        .filter_map(|(source, result)| match &result.disposition {
            Disposition::Emitted { event } => Some((source, event)),
            Disposition::Dropped { .. } => None,
        })
        .collect();
    let findings = crate::schema::output_findings(schemas, &declared, &outputs);
    let mut against = vec![format!("{} event schemas", schemas.files().len())];
    if let Some(output) = declared.output_file() {
        against.push(format!("the declared output schema {output}"));
    }
    let mut stage = StageReport::new(
        Stage::Schema,
        format!(
            "{} output events checked against {}",
            outputs.len(),
            against.join(" and ")
        ),
        findings,
    );
    stage
        .metrics
        .insert("outputsChecked".into(), outputs.len().into());
    stage
}
