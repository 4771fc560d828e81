//! The glue behind the export macros: keeps the plugin's state for the life of the instance and
//! converts between the WIT signatures (JSON text) and the typed traits. Not part of the API.

use std::any::Any;
use std::cell::RefCell;

use crate::{BatchExport, Config, Event, Export, ExportError, Plugin, Transform};

thread_local! {
    // A component instance holds exactly one plugin.
    static STATE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

pub fn setup<P: Plugin>(config: Vec<(String, String)>) -> Result<(), String> {
    let config: Config = config.into_iter().collect();
    let plugin = P::setup(&config).map_err(|e| e.to_string())?;
    STATE.with(|state| *state.borrow_mut() = Some(Box::new(plugin)));
    Ok(())
}

/// Runs `f` on the plugin, setting it up with an empty config if the host never called `setup`.
fn with_plugin<P: Plugin, R>(f: impl FnOnce(&mut P) -> Result<R, String>) -> Result<R, String> {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        if state.is_none() {
            let plugin = P::setup(&Config::default()).map_err(|e| e.to_string())?;
            *state = Some(Box::new(plugin));
        }
        let plugin = state
            .as_mut()
            .and_then(|boxed| boxed.downcast_mut::<P>())
            .ok_or("plugin state has the wrong type")?;
        f(plugin)
    })
}

/// How an instance reads events: lazily ([`Event::from_json`]), which pays off when a plugin
/// reads a few properties, or whole (`serde_json`'s parse), cheaper when it reads them all (a
/// lazy read also finds each property's place first). Whether the plugin read the whole map is
/// seen after each lazy call; a plugin reading it whole is read whole from then on, lazily again
/// every [`PROBE_EVERY`]th event in case that changed. The plugin sees the same event either
/// way, and returns the same bytes; only the fuel differs. The component's glue keeps one for
/// its instance; the native benchmarks keep one per plugin, to do the same work.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventReader {
    whole: bool,
    since_lazy: u32,
}

pub const PROBE_EVERY: u32 = 32;

thread_local! {
    static READER: std::cell::Cell<EventReader> = const {
        std::cell::Cell::new(EventReader { whole: false, since_lazy: 0 })
    };
}

impl EventReader {
    /// Whether the next event is read lazily.
    pub fn lazy(&self) -> bool {
        !self.whole || self.since_lazy + 1 >= PROBE_EVERY
    }

    /// Reads `json` and calls `f` with the event; `f` also says of the event after the plugin
    /// had it (if it still has it) whether its properties were read whole ([`read_whole`]).
    pub fn read<R>(
        &mut self,
        json: &str,
        f: impl FnOnce(Event) -> Result<(R, Option<bool>), String>,
    ) -> Result<R, String> {
        let lazy = self.lazy();
        let event = if lazy {
            Event::from_json(json)
        } else {
            Event::from_json_whole(json)
        }
        .map_err(|e| e.to_string())?;
        let had_properties = event.properties.is_some();
        let (result, after) = f(event)?;
        if let Some(whole) = after.filter(|_| lazy && had_properties) {
            self.whole = whole;
        }
        self.since_lazy = if lazy { 0 } else { self.since_lazy + 1 };
        Ok(result)
    }

    /// `plugin`'s `process-event` on the event `json`, read by this reader: the event it
    /// returns as JSON, or `None` to drop it.
    pub fn process_event<P: Transform>(
        &mut self,
        plugin: &mut P,
        json: &str,
    ) -> Result<Option<String>, String> {
        self.read(json, |event| {
            let out = plugin.process_event(event).map_err(|e| e.to_string())?;
            Ok((
                out.as_ref().map(Event::to_json),
                out.as_ref().and_then(read_whole),
            ))
        })
    }
}

/// Whether the plugin read `event`'s properties whole (`None`: it has none).
fn read_whole(event: &Event) -> Option<bool> {
    event.properties.as_ref().map(crate::Properties::read_whole)
}

/// `f` with this instance's reader.
fn with_reader<R>(f: impl FnOnce(&mut EventReader) -> R) -> R {
    let mut reader = READER.get();
    let result = f(&mut reader);
    READER.set(reader);
    result
}

pub fn process_event<P: Transform>(event: String) -> Result<Option<String>, String> {
    with_plugin::<P, _>(|plugin| with_reader(|reader| reader.process_event(plugin, &event)))
}

pub fn on_event<P: Export>(event: String) -> Result<(), String> {
    with_plugin::<P, _>(|plugin| {
        with_reader(|reader| {
            reader.read(&event, |event| {
                plugin.on_event(&event).map_err(|e| e.to_string())?;
                Ok(((), read_whole(&event)))
            })
        })
    })
}

pub fn export_events<P: BatchExport>(events: String) -> Result<(), ExportError> {
    let values: Vec<serde_json::Value> = serde_json::from_str(&events)
        .map_err(|e| ExportError::Failed(format!("the batch is not a JSON array: {e}")))?;
    let events = values
        .into_iter()
        .map(|value| Event::from_json(&value.to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ExportError::Failed(e.to_string()))?;
    let mut result = Ok(());
    with_plugin::<P, _>(|plugin| {
        result = plugin.export_events(&events);
        Ok(())
    })
    .map_err(ExportError::Failed)?;
    result
}

pub fn run_task<P: Plugin>(task: fn(&mut P) -> Result<(), crate::Error>) -> Result<(), String> {
    with_plugin::<P, _>(|plugin| task(plugin).map_err(|e| e.to_string()))
}

pub fn teardown<P: Plugin>() {
    STATE.with(|state| {
        if let Some(plugin) = state
            .borrow_mut()
            .as_mut()
            .and_then(|boxed| boxed.downcast_mut::<P>())
        {
            plugin.teardown();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// Reads every property (through the `Map`) or only `a`, as asked.
    struct Reader;

    thread_local! {
        static WHOLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    impl Plugin for Reader {
        fn setup(_: &Config) -> Result<Self, Error> {
            Ok(Reader)
        }
    }

    impl Transform for Reader {
        fn process_event(&mut self, mut event: Event) -> Result<Option<Event>, Error> {
            let properties = event.properties_mut();
            if WHOLE.get() {
                let count = properties.iter().count();
                properties.insert("count".into(), count.into());
            } else {
                let a = properties.get("a").cloned().unwrap_or_default();
                properties.insert("a2".into(), a);
            }
            Ok(Some(event))
        }
    }

    /// Whether each of `n` calls read its event lazily, and that every output is the same.
    fn lazily(whole: bool, n: usize) -> Vec<bool> {
        WHOLE.set(whole);
        READER.set(EventReader::default());
        let json = r#"{"event":"e","distinct_id":"d","properties":{"a":1,"b":[2]}}"#;
        let expected = process_event::<Reader>(json.into()).unwrap();
        (0..n)
            .map(|_| {
                let lazy = READER.get().lazy();
                let out = process_event::<Reader>(json.into()).unwrap();
                assert_eq!(out, expected);
                lazy
            })
            .collect()
    }

    #[test]
    fn a_plugin_reading_whole_maps_gets_whole_parses_and_a_lazy_read_every_probe() {
        let calls = lazily(true, 2 * PROBE_EVERY as usize);
        let lazy: Vec<usize> = (0..calls.len()).filter(|&i| calls[i]).collect();
        // The call that learned it came before these; then one lazy read per PROBE_EVERY.
        assert_eq!(
            lazy,
            [PROBE_EVERY as usize - 1, 2 * PROBE_EVERY as usize - 1]
        );
    }

    #[test]
    fn a_plugin_reading_one_property_stays_lazy() {
        assert!(lazily(false, 40).into_iter().all(|lazy| lazy));
    }
}
