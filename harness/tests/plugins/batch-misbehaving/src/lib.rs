//! Test fixture: a batch exporter that answers every batch as its `mode` config says: `ok`,
//! `retry` (asks for every batch again, forever), `fail` (gives every batch up), `trap`
//! (panics), `retry-once` (asks for each batch once more, then takes it).

use posthog_plugin_sdk::{BatchExport, Config, Error, Event, ExportError, Plugin, log};

pub struct BatchMisbehaving {
    mode: String,
    seen: std::collections::BTreeSet<String>,
}

impl Plugin for BatchMisbehaving {
    fn setup(config: &Config) -> Result<Self, Error> {
        Ok(BatchMisbehaving {
            mode: config.get_or("mode", "ok").to_owned(),
            seen: Default::default(),
        })
    }
}

impl BatchExport for BatchMisbehaving {
    fn export_events(&mut self, events: &[Event]) -> Result<(), ExportError> {
        let first = events.first().map(Event::to_json).unwrap_or_default();
        log::debug(&format!("a batch of {} events", events.len()));
        match self.mode.as_str() {
            "ok" => Ok(()),
            "retry" => Err(ExportError::retry("the destination is down")),
            "fail" => Err(ExportError::failed("the destination refuses this batch")),
            "trap" => panic!("planted panic in export-events"),
            "retry-once" if self.seen.insert(first) => Err(ExportError::retry("once more")),
            "retry-once" => Ok(()),
            other => Err(ExportError::failed(format!("unknown mode {other}"))),
        }
    }
}

posthog_plugin_sdk::batch_export!(BatchMisbehaving);
