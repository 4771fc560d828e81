//! The component, read and validated with `wasmparser` in one pass and never executed: its
//! exports against the contract's signatures, its imports (see [`super::imports`]), the sizes
//! of what it declares (core functions, linear memories, tables) against the limits, its
//! producers section, and its data segments and custom sections scanned for credentials.

use std::collections::BTreeMap;
use std::path::Path;

use wasmparser::component_types::{
    ComponentDefinedType, ComponentEntityType, ComponentFuncType, ComponentValType,
};
use wasmparser::types::Types;
use wasmparser::{
    Encoding, FuncValidatorAllocations, KnownCustom, MemoryType, Parser, Payload, PrimitiveValType,
    TableType, ValidPayload, Validator,
};

use super::manifest::Declared;
use super::secrets::{SecretMatch, find_secrets};
use super::{Sink, at, human_bytes, imports, rule, sanitize};
use crate::contract::{self, EXPORTS};
use crate::model::limits::{CEILING, DEFAULT};
use crate::model::{Example, Location};

/// The largest component file the harness accepts (compiling time and memory grow with it;
/// the example plugins are about 200 KiB).
pub const MAX_COMPONENT_BYTES: u64 = 16 << 20;
/// The most core functions a component may define, across its core modules (the example
/// plugins define about 1,000).
pub const MAX_CORE_FUNCTIONS: u64 = 100_000;
/// The most elements a table may start with: the runtime's table limit.
const MAX_TABLE_ELEMENTS: u64 = DEFAULT.table_elements;

/// Rendered types are cut at this length; rendering visits at most this many types.
const MAX_RENDERED_CHARS: usize = 300;
const MAX_RENDER_STEPS: usize = 500;
/// Producers entries kept (name and version each cut short).
const MAX_PRODUCERS: usize = 20;
/// Example offsets kept per kind of secret.
const SECRET_EXAMPLES: usize = 3;

/// What the summary line says about the component.
pub(super) struct Facts {
    pub contract_exports: Vec<String>,
    pub capabilities_imported: Vec<String>,
}

/// What one core module declares.
#[derive(Default)]
struct ModuleFacts {
    functions: u64,
    memories: Vec<MemoryType>,
    tables: Vec<TableType>,
}

/// A byte range of the file to scan for secrets, and what it is.
struct Region {
    start: usize,
    end: usize,
    what: String,
}

/// Everything one pass over the file found.
#[derive(Default)]
struct Walk {
    /// The top level's encoding (module or component), once the header is read.
    encoding: Option<Encoding>,
    /// The first validation or parse error, with its offset; the walk stops there.
    error: Option<(String, usize)>,
    /// The top-level component's types, after a complete, valid walk.
    types: Option<Types>,
    modules: Vec<ModuleFacts>,
    /// Names of the top-level component's imports and exports, in order.
    imports: Vec<String>,
    exports: Vec<String>,
    producers: Vec<(String, String, String)>,
    regions: Vec<Region>,
}

/// Checks the component; returns what the summary names, or `None` when it is not a valid
/// component.
pub(super) fn check(
    bytes: &[u8],
    path: Option<&Path>,
    declared: &Declared,
    sink: &mut Sink,
) -> Option<Facts> {
    let file_location = Location {
        file: path.map(Path::to_owned),
        ..Location::default()
    };
    sink.metric("componentBytes", bytes.len());
    let size = bytes.len() as u64;
    if size > MAX_COMPONENT_BYTES {
        sink.add(
            rule::RESOURCES_COMPONENT_SIZE,
            format!(
                "the component is {}, more than the {} the harness accepts: build in release mode with `opt-level = \"s\"`, LTO and `strip = true`, and drop heavy dependencies",
                human_bytes(size),
                human_bytes(MAX_COMPONENT_BYTES)
            ),
            file_location.clone(),
        );
    }
    if !bytes.starts_with(b"\0asm") {
        sink.add(
            rule::ARTIFACT_INVALID,
            "not a WebAssembly file (it does not start with the `\\0asm` header): build the plugin with `cargo build --target wasm32-wasip2 --release`",
            file_location,
        );
        check_secrets(bytes, &[], path, sink);
        return None;
    }

    let walk = walk(bytes);
    let complete = walk.error.is_none();
    // An incomplete walk may have missed sections: scan the whole file instead.
    let whole_file = [Region {
        start: 0,
        end: bytes.len(),
        what: "the file".into(),
    }];
    let regions = if complete {
        walk.regions.as_slice()
    } else {
        &whole_file
    };

    if walk.encoding == Some(Encoding::Module) || Parser::is_core_wasm(bytes) {
        sink.add(
            rule::ARTIFACT_CORE_MODULE,
            "a core WebAssembly module, not a component: build with `--target wasm32-wasip2` (wasm32-wasip1 and wasm32-unknown-unknown produce core modules), or wrap the module with `wasm-tools component new`",
            file_location,
        );
        check_secrets(bytes, regions, path, sink);
        return None;
    }
    let (Some(types), None) = (&walk.types, &walk.error) else {
        let (message, offset) = walk
            .error
            .clone()
            .unwrap_or_else(|| ("the component ends early".into(), bytes.len()));
        sink.add(
            rule::ARTIFACT_INVALID,
            format!(
                "the component is not valid WebAssembly: {} (at byte offset {offset}); rebuild it, and check that the file was copied whole",
                sanitize(&message, 200)
            ),
            file_location,
        );
        check_secrets(bytes, regions, path, sink);
        return None;
    };

    let contract_exports = check_exports(types, &walk.exports, path, sink);
    let import_kinds: Vec<(String, &'static str)> = walk
        .imports
        .iter()
        .map(|name| {
            let kind = types
                .component_item_for_import(name)
                .map_or("item", |item| entity_kind(&item.ty));
            (name.clone(), kind)
        })
        .collect();
    let capabilities_imported = imports::check(&import_kinds, path, declared, sink);
    sink.metric("imports", walk.imports.clone());
    sink.metric("exports", walk.exports.clone());
    sink.metric("capabilitiesImported", capabilities_imported.clone());

    check_resources(size, &walk.modules, path, declared, sink);
    report_producers(&walk.producers, path, sink);
    check_secrets(bytes, regions, path, sink);
    Some(Facts {
        contract_exports,
        capabilities_imported: capabilities_imported
            .into_iter()
            .map(str::to_owned)
            .collect(),
    })
}

/// Validates and reads the file in one pass (nested core modules and components included).
fn walk(bytes: &[u8]) -> Walk {
    let mut walk = Walk::default();
    let mut validator = Validator::new();
    let mut allocations: Option<FuncValidatorAllocations> = None;
    // The encoding of each module or component being read, and the core module's index.
    let mut stack: Vec<(Encoding, Option<usize>)> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let result = payload.and_then(|payload| {
            match validator.payload(&payload)? {
                ValidPayload::Func(function, body) => {
                    let mut function =
                        function.into_validator(allocations.take().unwrap_or_default());
                    let result = function.validate(&body);
                    allocations = Some(function.into_allocations());
                    result?;
                }
                ValidPayload::End(types) if stack.len() == 1 => walk.types = Some(types),
                _ => {}
            }
            read_payload(&payload, bytes, &mut stack, &mut walk)
        });
        if let Err(error) = result {
            walk.error = Some((error.message().to_owned(), error.offset()));
            walk.types = None;
            break;
        }
    }
    walk
}

/// Records what one (already validated) payload says.
fn read_payload(
    payload: &Payload<'_>,
    bytes: &[u8],
    stack: &mut Vec<(Encoding, Option<usize>)>,
    walk: &mut Walk,
) -> wasmparser::Result<()> {
    let top_level_component = stack.len() == 1 && stack[0].0 == Encoding::Component;
    let module = stack.last().and_then(|(_, index)| *index);
    match payload {
        Payload::Version { encoding, .. } => {
            if stack.is_empty() {
                walk.encoding = Some(*encoding);
            }
            let index = (*encoding == Encoding::Module).then(|| {
                walk.modules.push(ModuleFacts::default());
                walk.modules.len() - 1
            });
            stack.push((*encoding, index));
        }
        Payload::End(_) => {
            stack.pop();
        }
        Payload::FunctionSection(reader) => {
            if let Some(module) = module {
                walk.modules[module].functions += u64::from(reader.count());
            }
        }
        Payload::MemorySection(reader) => {
            if let Some(module) = module {
                for memory in reader.clone() {
                    walk.modules[module].memories.push(memory?);
                }
            }
        }
        Payload::TableSection(reader) => {
            if let Some(module) = module {
                for table in reader.clone() {
                    walk.modules[module].tables.push(table?.ty);
                }
            }
        }
        Payload::DataSection(reader) => {
            for (segment, data) in reader.clone().into_iter().enumerate() {
                let data = data?;
                let start = offset_in(bytes, data.data);
                walk.regions.push(Region {
                    start,
                    end: start + data.data.len(),
                    what: format!(
                        "data segment {segment} of core module {}",
                        module.unwrap_or_default()
                    ),
                });
            }
        }
        Payload::CustomSection(reader) => {
            let start = offset_in(bytes, reader.data());
            walk.regions.push(Region {
                start,
                end: start + reader.data().len(),
                what: format!("custom section `{}`", sanitize(reader.name(), 40)),
            });
            if let KnownCustom::Producers(producers) = reader.as_known() {
                for field in producers {
                    let field = field?;
                    for value in field.values {
                        let value = value?;
                        let entry = (
                            sanitize(field.name, 40),
                            sanitize(value.name, 40),
                            sanitize(value.version, 40),
                        );
                        if walk.producers.len() < MAX_PRODUCERS && !walk.producers.contains(&entry)
                        {
                            walk.producers.push(entry);
                        }
                    }
                }
            }
        }
        Payload::ComponentImportSection(reader) if top_level_component => {
            for import in reader.clone() {
                walk.imports.push(import?.name.name.to_owned());
            }
        }
        Payload::ComponentExportSection(reader) if top_level_component => {
            for export in reader.clone() {
                walk.exports.push(export?.name.name.to_owned());
            }
        }
        _ => {}
    }
    Ok(())
}

/// Where `part` (a slice of `bytes`) starts in `bytes`.
fn offset_in(bytes: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(bytes.as_ptr() as usize)
        .min(bytes.len())
}

/// Checks each contract export's type and that there is something to call; returns the
/// contract exports present, in contract order.
fn check_exports(
    types: &Types,
    exports: &[String],
    path: Option<&Path>,
    sink: &mut Sink,
) -> Vec<String> {
    let mut present = Vec::new();
    for spec in EXPORTS {
        let Some(item) = types.component_item_for_export(spec.name) else {
            continue;
        };
        present.push(spec.name.to_owned());
        let found = match &item.ty {
            ComponentEntityType::Func(id) => render_component_func(types, &types[*id]),
            other => entity_kind(other).to_owned(),
        };
        if found != spec.signature {
            sink.add(
                rule::CONTRACT_EXPORT_SIGNATURE,
                format!(
                    "export `{}` has the wrong type: expected `{}`, found `{found}`; implement the contract's world from wit/plugin.wit (the SDK's macros do)",
                    spec.name, spec.signature
                ),
                at(path, format!("export:{}", spec.name)),
            );
        }
    }
    if !present
        .iter()
        .any(|name| contract::CALLABLE.iter().any(|spec| spec.name == name))
    {
        let found = if exports.is_empty() {
            "nothing".to_owned()
        } else {
            exports
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        sink.add(
            rule::CONTRACT_MISSING_EXPORT,
            format!(
                "the component exports none of `process-event`, `on-event`, `export-events` and `run-every-minute`/`-hour`/`-day` (it exports {found}), so the harness has nothing to call: export the `transform`, `exporter`, `transform-and-export`, `batch-exporter` or a scheduled-task world of wit/plugin.wit"
            ),
            Location {
                file: path.map(Path::to_owned),
                ..Location::default()
            },
        );
    }
    for name in exports {
        if !EXPORTS.iter().any(|spec| spec.name == name) {
            sink.add(
                rule::CONTRACT_UNKNOWN_EXPORT,
                format!(
                    "the component exports `{name}`, which the contract does not define: the harness never calls it"
                ),
                at(path, format!("export:{name}")),
            );
        }
    }
    present
}

/// What kind of item an import or export is, in words.
fn entity_kind(ty: &ComponentEntityType) -> &'static str {
    match ty {
        ComponentEntityType::Module(_) => "core module",
        ComponentEntityType::Func(_) => "func",
        ComponentEntityType::Value(_) => "value",
        ComponentEntityType::Type { .. } => "type",
        ComponentEntityType::Instance(_) => "instance",
        ComponentEntityType::Component(_) => "component",
    }
}

/// A component function type in WIT syntax without parameter names, as
/// [`crate::contract::render_func`] writes one: `func(string) -> result<_, string>`.
fn render_component_func(types: &Types, func: &ComponentFuncType) -> String {
    let mut renderer = Renderer {
        types,
        out: String::new(),
        steps: 0,
    };
    renderer
        .out
        .push_str(if func.async_ { "async func(" } else { "func(" });
    for (index, (_, ty)) in func.params.iter().enumerate() {
        if index > 0 {
            renderer.out.push_str(", ");
        }
        renderer.value(ty);
    }
    renderer.out.push(')');
    if let Some(result) = &func.result {
        renderer.out.push_str(" -> ");
        renderer.value(result);
    }
    renderer.out
}

/// Writes types into `out`, stopping at a length and a number of steps: type definitions can
/// nest deeply and share subterms, so a naive rendering can be exponentially long.
struct Renderer<'a> {
    types: &'a Types,
    out: String,
    steps: usize,
}

impl Renderer<'_> {
    fn exhausted(&mut self) -> bool {
        self.steps += 1;
        if self.steps > MAX_RENDER_STEPS || self.out.len() > MAX_RENDERED_CHARS {
            if !self.out.ends_with('…') {
                self.out.push('…');
            }
            return true;
        }
        false
    }

    fn value(&mut self, ty: &ComponentValType) {
        if self.exhausted() {
            return;
        }
        match ty {
            ComponentValType::Primitive(primitive) => self.out.push_str(primitive_name(*primitive)),
            ComponentValType::Type(id) => {
                let types = self.types;
                self.defined(&types[*id]);
            }
        }
    }

    fn list(&mut self, items: impl IntoIterator<Item = ComponentValType>) {
        for (index, item) in items.into_iter().enumerate() {
            if index > 0 {
                self.out.push_str(", ");
            }
            self.value(&item);
        }
    }

    fn defined(&mut self, ty: &ComponentDefinedType) {
        match ty {
            ComponentDefinedType::Primitive(primitive) => {
                self.out.push_str(primitive_name(*primitive))
            }
            ComponentDefinedType::Record(_) => self.out.push_str("record"),
            ComponentDefinedType::Variant(variant) => {
                self.out.push_str("variant { ");
                for (index, (name, case)) in variant.cases.iter().enumerate() {
                    if index > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push_str(name.as_str());
                    if let Some(ty) = &case.ty {
                        self.out.push('(');
                        self.value(ty);
                        self.out.push(')');
                    }
                }
                self.out.push_str(" }");
            }
            ComponentDefinedType::Enum(_) => self.out.push_str("enum"),
            ComponentDefinedType::Flags(_) => self.out.push_str("flags"),
            ComponentDefinedType::Own(_) => self.out.push_str("own<resource>"),
            ComponentDefinedType::Borrow(_) => self.out.push_str("borrow<resource>"),
            ComponentDefinedType::Future { .. } => self.out.push_str("future"),
            ComponentDefinedType::Stream { .. } => self.out.push_str("stream"),
            ComponentDefinedType::Map { .. } => self.out.push_str("map"),
            ComponentDefinedType::FixedLengthList { .. } => self.out.push_str("fixed-length-list"),
            ComponentDefinedType::List { element, .. } => {
                self.out.push_str("list<");
                self.value(element);
                self.out.push('>');
            }
            ComponentDefinedType::Tuple(tuple) => {
                self.out.push_str("tuple<");
                self.list(tuple.types.iter().copied());
                self.out.push('>');
            }
            ComponentDefinedType::Option { ty, .. } => {
                self.out.push_str("option<");
                self.value(ty);
                self.out.push('>');
            }
            ComponentDefinedType::Result { ok, err, .. } => match (ok, err) {
                (None, None) => self.out.push_str("result"),
                (ok, Some(err)) => {
                    self.out.push_str("result<");
                    match ok {
                        Some(ok) => self.value(ok),
                        None => self.out.push('_'),
                    }
                    self.out.push_str(", ");
                    self.value(err);
                    self.out.push('>');
                }
                (Some(ok), None) => {
                    self.out.push_str("result<");
                    self.value(ok);
                    self.out.push('>');
                }
            },
        }
    }
}

fn primitive_name(primitive: PrimitiveValType) -> &'static str {
    match primitive {
        PrimitiveValType::Bool => "bool",
        PrimitiveValType::S8 => "s8",
        PrimitiveValType::U8 => "u8",
        PrimitiveValType::S16 => "s16",
        PrimitiveValType::U16 => "u16",
        PrimitiveValType::S32 => "s32",
        PrimitiveValType::U32 => "u32",
        PrimitiveValType::S64 => "s64",
        PrimitiveValType::U64 => "u64",
        PrimitiveValType::F32 => "f32",
        PrimitiveValType::F64 => "f64",
        PrimitiveValType::Char => "char",
        PrimitiveValType::String => "string",
        PrimitiveValType::ErrorContext => "error-context",
    }
}

/// Bytes of a memory's `pages` pages.
fn memory_bytes(memory: &MemoryType, pages: u64) -> u64 {
    pages.saturating_mul(1u64 << memory.page_size_log2().min(32))
}

/// Reports the component's figures and checks them against the limits.
fn check_resources(
    size: u64,
    modules: &[ModuleFacts],
    path: Option<&Path>,
    declared: &Declared,
    sink: &mut Sink,
) {
    let memory_limit = declared.limits.memory_bytes;
    let functions: u64 = modules.iter().map(|m| m.functions).sum();
    let mut largest_initial = 0u64;
    let mut largest_maximum: Option<u64> = None;
    let mut unbounded = false;
    let mut largest_table = 0u64;
    for (module_index, module) in modules.iter().enumerate() {
        for (memory_index, memory) in module.memories.iter().enumerate() {
            let initial = memory_bytes(memory, memory.initial);
            largest_initial = largest_initial.max(initial);
            match memory.maximum {
                Some(maximum) => {
                    let maximum = memory_bytes(memory, maximum);
                    largest_maximum = Some(largest_maximum.unwrap_or(0).max(maximum));
                }
                None => unbounded = true,
            }
            if initial > memory_limit {
                sink.add(
                    rule::RESOURCES_MEMORY,
                    format!(
                        "linear memory {memory_index} of core module {module_index} starts at {} ({} pages), over the plugin's memory limit of {}{}: make the initial memory smaller (less static data, or `-C link-arg=--initial-memory=<bytes>`){}",
                        human_bytes(initial),
                        memory.initial,
                        human_bytes(memory_limit),
                        if memory_limit < CEILING.memory_bytes { "" } else { " (the ceiling)" },
                        if memory_limit < CEILING.memory_bytes {
                            format!(" or ask for more with `limits.memoryMiB` (at most {})", CEILING.memory_bytes >> 20)
                        } else {
                            String::new()
                        }
                    ),
                    at(path, format!("module:{module_index}/memory:{memory_index}")),
                );
            }
        }
        for (table_index, table) in module.tables.iter().enumerate() {
            largest_table = largest_table.max(table.initial);
            if table.initial > MAX_TABLE_ELEMENTS {
                sink.add(
                    rule::RESOURCES_TABLE,
                    format!(
                        "table {table_index} of core module {module_index} starts with {} elements, over the limit of {}",
                        table.initial, MAX_TABLE_ELEMENTS
                    ),
                    at(path, format!("module:{module_index}/table:{table_index}")),
                );
            }
        }
    }
    if functions > MAX_CORE_FUNCTIONS {
        sink.add(
            rule::RESOURCES_FUNCTIONS,
            format!(
                "the component defines {functions} core functions, more than the {MAX_CORE_FUNCTIONS} the harness accepts: build in release mode with LTO and drop unused dependencies"
            ),
            Location {
                file: path.map(Path::to_owned),
                ..Location::default()
            },
        );
    }
    let maximum = match (largest_maximum, unbounded) {
        (_, true) => "no maximum".to_owned(),
        (Some(maximum), false) => format!("at most {}", human_bytes(maximum)),
        (None, false) => "no memory".to_owned(),
    };
    let memories: usize = modules.iter().map(|m| m.memories.len()).sum();
    sink.add(
        rule::RESOURCES_FIGURES,
        format!(
            "{}: {} core {} defining {functions} functions; {} linear {}, the largest starting at {} ({maximum}; the limit is {}); tables of up to {largest_table} elements (the limit is {MAX_TABLE_ELEMENTS})",
            human_bytes(size),
            modules.len(),
            if modules.len() == 1 { "module" } else { "modules" },
            memories,
            if memories == 1 { "memory" } else { "memories" },
            human_bytes(largest_initial),
            human_bytes(memory_limit),
        ),
        Location {
            file: path.map(Path::to_owned),
            ..Location::default()
        },
    );
    sink.metric("coreModules", modules.len());
    sink.metric("coreFunctions", functions);
    sink.metric("memoryInitialBytes", largest_initial);
    sink.metric(
        "memoryMaximumBytes",
        if unbounded { None } else { largest_maximum },
    );
    sink.metric("memoryLimitBytes", memory_limit);
    sink.metric("tableElements", largest_table);
}

/// Reports the producers section: language, SDKs and the tools that processed the component.
fn report_producers(producers: &[(String, String, String)], path: Option<&Path>, sink: &mut Sink) {
    if producers.is_empty() {
        return;
    }
    let mut by_field: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (field, name, version) in producers {
        let entry = if version.is_empty() {
            name.clone()
        } else {
            format!("{name} {version}")
        };
        by_field.entry(field.as_str()).or_default().push(entry);
    }
    let order = |field: &str| match field {
        "language" => 0,
        "sdk" => 1,
        "processed-by" => 2,
        _ => 3,
    };
    let mut fields: Vec<(&str, Vec<String>)> = by_field.into_iter().collect();
    fields.sort_by_key(|(field, _)| order(field));
    let described: Vec<String> = fields
        .iter()
        .map(|(field, entries)| format!("{field}: {}", entries.join(", ")))
        .collect();
    sink.add(
        rule::ARTIFACT_PRODUCERS,
        format!("producers section: {}", described.join("; ")),
        Location {
            file: path.map(Path::to_owned),
            ..Location::default()
        },
    );
    let metric: serde_json::Map<String, serde_json::Value> = fields
        .into_iter()
        .map(|(field, entries)| (field.to_owned(), entries.into()))
        .collect();
    sink.metric("producers", metric);
}

/// Scans `regions` of `bytes` (or all of it, when `regions` is empty) for credentials; one
/// finding per kind, with the first few offsets.
fn check_secrets(bytes: &[u8], regions: &[Region], path: Option<&Path>, sink: &mut Sink) {
    let whole = [Region {
        start: 0,
        end: bytes.len(),
        what: "the file".into(),
    }];
    let regions = if regions.is_empty() {
        &whole[..]
    } else {
        regions
    };
    let mut by_kind: BTreeMap<&'static str, Vec<(SecretMatch, &str)>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for region in regions {
        let Some(part) = bytes.get(region.start..region.end) else {
            continue;
        };
        for found in find_secrets(part, region.start) {
            if seen.insert(found.offset) {
                by_kind
                    .entry(found.kind)
                    .or_default()
                    .push((found, region.what.as_str()));
            }
        }
    }
    for (kind, matches) in by_kind {
        let (first, where_first) = &matches[0];
        let more = match matches.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let finding = sink.add(
            rule::ARTIFACT_EMBEDDED_SECRET,
            format!(
                "a {kind} (`{}`) is embedded in the component at byte offset {} ({where_first}){more}: anyone with the component can read it, so revoke it, and take credentials from a `secret` config field instead",
                first.preview, first.offset
            ),
            at(path, format!("offset:{}", first.offset)),
        );
        finding.occurrences = matches.len() as u64;
        finding.examples = matches
            .iter()
            .take(SECRET_EXAMPLES)
            .map(|(found, what)| Example {
                location: at(path, format!("offset:{}", found.offset)),
                message: format!(
                    "`{}` at byte offset {} ({what})",
                    found.preview, found.offset
                ),
            })
            .collect();
    }
}
