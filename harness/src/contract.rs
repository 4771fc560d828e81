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

pub const EXPORTS: [ExportSpec; 5] = [SETUP, PROCESS_EVENT, ON_EVENT, EXPORT_EVENTS, TEARDOWN];

/// Types the contract's worlds define themselves; a component imports them as plain types
/// (`batch-exporter`'s `export-error`).
pub const WORLD_TYPES: [&str; 1] = ["export-error"];

/// The capability interfaces, by name; `log` is always allowed.
pub const CAPABILITIES: [&str; 6] = ["log", "attachments", "storage", "cache", "capture", "http"];

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
