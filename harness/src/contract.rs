//! The plugin contract (`wit/plugin.wit`, package `posthog:plugin@0.1.0`) as the harness checks
//! it: export names and their exact signatures, and the capability interfaces.

use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Component, Type};

pub const PACKAGE: &str = "posthog:plugin@0.1.0";

/// An export the contract defines, with its signature written the way [`render_func`] writes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportSpec {
    pub name: &'static str,
    pub signature: &'static str,
    pub required: bool,
}

pub const SETUP: ExportSpec = ExportSpec {
    name: "setup",
    signature: "func(list<tuple<string, string>>) -> result<_, string>",
    required: false,
};
pub const PROCESS_EVENT: ExportSpec = ExportSpec {
    name: "process-event",
    signature: "func(string) -> result<option<string>, string>",
    required: false,
};
pub const ON_EVENT: ExportSpec = ExportSpec {
    name: "on-event",
    signature: "func(string) -> result<_, string>",
    required: false,
};
/// PostHog's `exportEvents`: a batch of final events (a JSON array); `retry` asks for the batch
/// again later, `failed` gives it up.
pub const EXPORT_EVENTS: ExportSpec = ExportSpec {
    name: "export-events",
    signature: "func(string) -> result<_, variant { retry(string), failed(string) }>",
    required: false,
};
pub const TEARDOWN: ExportSpec = ExportSpec {
    name: "teardown",
    signature: "func()",
    required: false,
};

pub const RUN_EVERY_MINUTE: ExportSpec = ExportSpec {
    name: "run-every-minute",
    signature: "func() -> result<_, string>",
    required: false,
};
pub const RUN_EVERY_HOUR: ExportSpec = ExportSpec {
    name: "run-every-hour",
    signature: "func() -> result<_, string>",
    required: false,
};
pub const RUN_EVERY_DAY: ExportSpec = ExportSpec {
    name: "run-every-day",
    signature: "func() -> result<_, string>",
    required: false,
};

pub const EXPORTS: [ExportSpec; 8] = [
    SETUP,
    PROCESS_EVENT,
    ON_EVENT,
    EXPORT_EVENTS,
    TEARDOWN,
    RUN_EVERY_MINUTE,
    RUN_EVERY_HOUR,
    RUN_EVERY_DAY,
];

/// The exports that give the harness something to call besides setup and teardown.
pub const CALLABLE: [ExportSpec; 6] = [
    PROCESS_EVENT,
    ON_EVENT,
    EXPORT_EVENTS,
    RUN_EVERY_MINUTE,
    RUN_EVERY_HOUR,
    RUN_EVERY_DAY,
];

/// A scheduled task (PostHog's `runEveryMinute`, `runEveryHour`, `runEveryDay`): due at the start
/// of each minute, hour or day (UTC) on the plugin's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Schedule {
    #[serde(rename = "runEveryMinute")]
    Minute,
    #[serde(rename = "runEveryHour")]
    Hour,
    #[serde(rename = "runEveryDay")]
    Day,
}

impl Schedule {
    pub const ALL: [Schedule; 3] = [Schedule::Minute, Schedule::Hour, Schedule::Day];

    pub fn export(self) -> ExportSpec {
        match self {
            Schedule::Minute => RUN_EVERY_MINUTE,
            Schedule::Hour => RUN_EVERY_HOUR,
            Schedule::Day => RUN_EVERY_DAY,
        }
    }

    /// PostHog's name for the task.
    pub fn posthog_name(self) -> &'static str {
        match self {
            Schedule::Minute => "runEveryMinute",
            Schedule::Hour => "runEveryHour",
            Schedule::Day => "runEveryDay",
        }
    }

    pub fn period_seconds(self) -> u64 {
        match self {
            Schedule::Minute => 60,
            Schedule::Hour => 3_600,
            Schedule::Day => 86_400,
        }
    }

    /// The first start of a period strictly after `unix_seconds` (Unix time is UTC, so a day
    /// starts at midnight UTC).
    pub fn next_after(self, unix_seconds: u64) -> u64 {
        let period = self.period_seconds();
        (unix_seconds / period + 1) * period
    }
}

/// Types the contract's worlds define themselves; a component imports them as plain types
/// (`batch-exporter`'s `export-error`).
pub const WORLD_TYPES: [&str; 1] = ["export-error"];

/// The capability interfaces, by name; `log` is always allowed.
pub const CAPABILITIES: [&str; 7] = [
    "log",
    "attachments",
    "storage",
    "cache",
    "capture",
    "http",
    "geoip",
];

/// The interfaces every plugin may import without declaring them.
pub const ALWAYS_ALLOWED: [&str; 2] = ["log", "attachments"];

/// A component's exported functions, each as `(name, rendered signature)`, in export order.
/// Exports that are not functions are rendered as their kind.
pub fn exported_functions(component: &Component) -> Vec<(String, String)> {
    let engine = component.engine();
    component
        .component_type()
        .exports(engine)
        .map(|(name, item)| {
            let rendered = match item.ty {
                ComponentItem::ComponentFunc(func) => render_func(&func),
                ComponentItem::CoreFunc(_) => "core function".into(),
                ComponentItem::Module(_) => "core module".into(),
                ComponentItem::Component(_) => "component".into(),
                ComponentItem::ComponentInstance(_) => "instance".into(),
                ComponentItem::Type(_) => "type".into(),
                ComponentItem::Resource(_) => "resource".into(),
            };
            (name.to_owned(), rendered)
        })
        .collect()
}

/// A function type in WIT syntax without parameter names: `func(string) -> result<_, string>`.
pub fn render_func(func: &ComponentFunc) -> String {
    let params: Vec<String> = func.params().map(|(_, ty)| render_type(&ty)).collect();
    let results: Vec<String> = func.results().map(|ty| render_type(&ty)).collect();
    match results.as_slice() {
        [] => format!("func({})", params.join(", ")),
        [one] => format!("func({}) -> {one}", params.join(", ")),
        many => format!("func({}) -> ({})", params.join(", "), many.join(", ")),
    }
}

/// A value type in WIT syntax.
pub fn render_type(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(list) => format!("list<{}>", render_type(&list.ty())),
        Type::Tuple(tuple) => {
            let items: Vec<String> = tuple.types().map(|t| render_type(&t)).collect();
            format!("tuple<{}>", items.join(", "))
        }
        Type::Option(option) => format!("option<{}>", render_type(&option.ty())),
        Type::Result(result) => {
            let ok = result.ok().map_or("_".into(), |t| render_type(&t));
            match result.err() {
                Some(err) => format!("result<{ok}, {}>", render_type(&err)),
                None if ok == "_" => "result".into(),
                None => format!("result<{ok}>"),
            }
        }
        Type::Record(_) => "record".into(),
        Type::Variant(variant) => {
            let cases: Vec<String> = variant
                .cases()
                .map(|case| match case.ty {
                    Some(ty) => format!("{}({})", case.name, render_type(&ty)),
                    None => case.name.to_owned(),
                })
                .collect();
            format!("variant {{ {} }}", cases.join(", "))
        }
        Type::Enum(_) => "enum".into(),
        Type::Flags(_) => "flags".into(),
        Type::Own(_) => "own<resource>".into(),
        Type::Borrow(_) => "borrow<resource>".into(),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
        Type::Map(_) => "map".into(),
        Type::FixedLengthList(_) => "fixed-length-list".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::Schedule;

    #[test]
    fn tasks_are_due_at_the_start_of_the_next_period() {
        // 2024-01-01T00:00:00Z, and 59 s past it.
        let midnight = 1_704_067_200;
        assert_eq!(Schedule::Minute.next_after(midnight), midnight + 60);
        assert_eq!(Schedule::Minute.next_after(midnight + 59), midnight + 60);
        assert_eq!(Schedule::Hour.next_after(midnight + 59), midnight + 3_600);
        assert_eq!(Schedule::Day.next_after(midnight - 1), midnight);
        assert_eq!(Schedule::Day.next_after(midnight), midnight + 86_400);
    }
}
