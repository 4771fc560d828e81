//! passthrough: every event passes unchanged. The harness side of the passthrough case of
//! `benches/vm2/bench.sh`, the counterpart of `benches/vm2/passthrough.js`: what is measured is
//! the sandbox (the call into the component, the event crossing as JSON both ways), not plugin
//! logic. A transform only, so that the pipeline makes one call per event (a plugin that also
//! exports `on-event` gets a second call with the event serialised again).

use posthog_plugin_sdk::{Config, Error, Event, Plugin, Transform};

pub struct Passthrough;

impl Plugin for Passthrough {
    fn setup(_config: &Config) -> Result<Self, Error> {
        Ok(Passthrough)
    }
}

impl Transform for Passthrough {
    fn process_event(&mut self, event: Event) -> Result<Option<Event>, Error> {
        Ok(Some(event))
    }
}

posthog_plugin_sdk::transform!(Passthrough);
