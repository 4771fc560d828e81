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

pub fn process_event<P: Transform>(event: String) -> Result<Option<String>, String> {
    let event = Event::from_json(&event).map_err(|e| e.to_string())?;
    with_plugin::<P, _>(|plugin| {
        let out = plugin.process_event(event).map_err(|e| e.to_string())?;
        Ok(out.map(|event| event.to_json()))
    })
}

pub fn on_event<P: Export>(event: String) -> Result<(), String> {
    let event = Event::from_json(&event).map_err(|e| e.to_string())?;
    with_plugin::<P, _>(|plugin| plugin.on_event(&event).map_err(|e| e.to_string()))
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
