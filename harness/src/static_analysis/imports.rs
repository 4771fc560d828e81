//! A component's imports judged against the contract and the manifest: each import is a
//! capability interface of `posthog:plugin@0.1.0` or part of the WASI subset the harness links
//! (cli, io, clocks, random at 0.2.x); filesystem, sockets and http are forbidden, anything
//! else unknown. Capability imports and `capabilities` in `plugin.json` must match both ways.

use std::path::Path;

use super::manifest::Declared;
use super::{Sink, at, rule, sanitize};
use crate::contract::CAPABILITIES;

/// The contract's interfaces are imported as `posthog:plugin/<interface>@` this version.
pub(super) const CONTRACT_VERSION: &str = "0.1.0";
const CONTRACT_PACKAGE: &str = "posthog:plugin";

/// What an import is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ImportClass {
    /// A contract interface (`log`, `storage`, ...).
    Capability(&'static str),
    /// Part of the allowed WASI subset.
    Wasi,
    /// A type the contract's worlds define (`export-error` of `batch-exporter`), which a
    /// component imports as a plain type: it reaches nothing.
    ContractType,
    /// A WASI package plugins may not use; the text says what it would reach.
    Forbidden(&'static str),
    /// Neither; the text says why, for the author.
    Unknown(String),
}

/// Classifies an import by its name and kind (`instance`, `func`, ...).
pub(super) fn classify(name: &str, kind: &str) -> ImportClass {
    let (path, version) = match name.split_once('@') {
        Some((path, version)) => (path, Some(version)),
        None => (name, None),
    };
    if kind == "type" && crate::contract::WORLD_TYPES.contains(&name) {
        return ImportClass::ContractType;
    }
    let Some((package, interface)) = path.split_once('/') else {
        return ImportClass::Unknown(format!(
            "a plain {kind} import, not an interface: plugins may import only the contract's interfaces ({}) and WASI",
            contract_interfaces()
        ));
    };
    match package {
        CONTRACT_PACKAGE => {
            let Some(capability) = CAPABILITIES.iter().find(|c| **c == interface) else {
                return ImportClass::Unknown(format!(
                    "the contract has no interface `{}` (it has {})",
                    sanitize(interface, 40),
                    contract_interfaces()
                ));
            };
            if version != Some(CONTRACT_VERSION) {
                return ImportClass::Unknown(format!(
                    "the contract is {CONTRACT_PACKAGE}@{CONTRACT_VERSION}, not {}: rebuild against wit/plugin.wit (or the SDK) of this harness",
                    version.map_or_else(
                        || "unversioned".to_owned(),
                        |v| format!("@{}", sanitize(v, 40))
                    )
                ));
            }
            if kind != "instance" {
                return ImportClass::Unknown(format!(
                    "the contract's `{capability}` is an interface, but this import is a {kind}"
                ));
            }
            ImportClass::Capability(capability)
        }
        "wasi:filesystem" => ImportClass::Forbidden("files: plugins have no filesystem"),
        "wasi:sockets" => ImportClass::Forbidden("the network: plugins have no sockets"),
        "wasi:http" => ImportClass::Forbidden(
            "the network: plugins reach HTTP only through the contract's `http` capability, limited to the hosts plugin.json lists",
        ),
        "wasi:cli" | "wasi:io" | "wasi:clocks" | "wasi:random" => {
            let allowed_interface = package != "wasi:cli"
                || matches!(
                    interface,
                    "environment" | "exit" | "stdin" | "stdout" | "stderr"
                )
                || interface.starts_with("terminal-");
            if !allowed_interface {
                return ImportClass::Unknown(format!(
                    "`{package}/{}` is not in the WASI subset plugins may use (cli environment, exit, stdin, stdout, stderr, terminal-*; io; clocks; random)",
                    sanitize(interface, 40)
                ));
            }
            let version_ok = version.is_some_and(|v| {
                semver::Version::parse(v).is_ok_and(|v| v.major == 0 && v.minor == 2)
            });
            if !version_ok {
                return ImportClass::Unknown(format!(
                    "the harness links WASI 0.2 (wasmtime 48), not {}: build with the `wasm32-wasip2` target",
                    version.map_or_else(
                        || "an unversioned interface".to_owned(),
                        |v| format!("@{}", sanitize(v, 40))
                    )
                ));
            }
            ImportClass::Wasi
        }
        other => ImportClass::Unknown(format!(
            "`{}` is neither the contract ({CONTRACT_PACKAGE}) nor the WASI subset the harness links (wasi:cli, wasi:io, wasi:clocks, wasi:random)",
            sanitize(other, 60)
        )),
    }
}

fn contract_interfaces() -> String {
    CAPABILITIES.join(", ")
}

/// Checks the imports (name and kind, in order) against the contract and the declared
/// capabilities; returns the capabilities imported, in contract order.
pub(super) fn check(
    imports: &[(String, &'static str)],
    component_path: Option<&Path>,
    declared: &Declared,
    sink: &mut Sink,
) -> Vec<&'static str> {
    let mut imported: Vec<&'static str> = Vec::new();
    for (name, kind) in imports {
        let pointer = format!("import:{name}");
        match classify(name, kind) {
            ImportClass::Capability(capability) => {
                imported.push(capability);
                let declared_here = declared.capabilities.as_ref().is_none_or(|capabilities| {
                    crate::contract::ALWAYS_ALLOWED.contains(&capability)
                        || capabilities.names().contains(&capability)
                });
                if !declared_here {
                    sink.add(
                        rule::CAPABILITY_UNDECLARED_IMPORT,
                        format!(
                            "the component imports `{name}`, but plugin.json does not declare the `{capability}` capability: declare it ({}) or stop using it",
                            declaration_example(capability)
                        ),
                        at(component_path, pointer),
                    );
                }
            }
            ImportClass::Wasi | ImportClass::ContractType => {}
            ImportClass::Forbidden(what) => {
                sink.add(
                    rule::CAPABILITY_FORBIDDEN_IMPORT,
                    format!(
                        "the component imports `{name}`, which would reach {what}; remove the code that uses it (often a dependency's file or network access)"
                    ),
                    at(component_path, pointer),
                );
            }
            ImportClass::Unknown(why) => {
                sink.add(
                    rule::CAPABILITY_UNKNOWN_IMPORT,
                    format!("the component imports `{name}`: {why}"),
                    at(component_path, pointer),
                );
            }
        }
    }
    imported.sort_by_key(|c| CAPABILITIES.iter().position(|k| k == c));
    imported.dedup();
    if let Some(capabilities) = &declared.capabilities {
        for capability in capabilities.names() {
            if !imported.contains(&capability) {
                sink.add(
                    rule::CAPABILITY_UNUSED_DECLARATION,
                    format!(
                        "plugin.json declares the `{capability}` capability, but the component never imports `{CONTRACT_PACKAGE}/{capability}@{CONTRACT_VERSION}`: remove it from `capabilities` (a plugin asks only for what it uses)"
                    ),
                    at(Some(&declared.manifest_path), format!("/capabilities/{capability}")),
                );
            }
        }
    }
    imported
}

fn declaration_example(capability: &str) -> &'static str {
    match capability {
        "http" => r#""capabilities": {"http": {"hosts": ["api.example.com"]}}"#,
        "storage" => r#""capabilities": {"storage": true}"#,
        "cache" => r#""capabilities": {"cache": true}"#,
        "capture" => r#""capabilities": {"capture": true}"#,
        "geoip" => r#""capabilities": {"geoip": true}"#,
        _ => "in `capabilities`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_classified_by_package_interface_and_version() {
        let class = |name: &str| classify(name, "instance");
        assert_eq!(
            class("posthog:plugin/log@0.1.0"),
            ImportClass::Capability("log")
        );
        assert_eq!(
            class("posthog:plugin/http@0.1.0"),
            ImportClass::Capability("http")
        );
        assert_eq!(class("wasi:cli/environment@0.2.6"), ImportClass::Wasi);
        assert_eq!(class("wasi:cli/terminal-stdout@0.2.0"), ImportClass::Wasi);
        assert_eq!(class("wasi:io/streams@0.2.6"), ImportClass::Wasi);
        assert_eq!(class("wasi:clocks/wall-clock@0.2.3"), ImportClass::Wasi);
        assert_eq!(class("wasi:random/insecure-seed@0.2.6"), ImportClass::Wasi);
        assert!(matches!(
            class("wasi:filesystem/types@0.2.6"),
            ImportClass::Forbidden(_)
        ));
        assert!(matches!(
            class("wasi:sockets/tcp@0.2.6"),
            ImportClass::Forbidden(_)
        ));
        assert!(matches!(
            class("wasi:http/outgoing-handler@0.2.6"),
            ImportClass::Forbidden(_)
        ));
        for unknown in [
            "posthog:plugin/storage@0.2.0",
            "posthog:plugin/storage",
            "posthog:plugin/secrets@0.1.0",
            "wasi:cli/run@0.2.6",
            "wasi:io/streams@0.3.0",
            "wasi:keyvalue/store@0.2.0",
            "acme:evil/backdoor@1.0.0",
            "env",
        ] {
            assert!(
                matches!(class(unknown), ImportClass::Unknown(_)),
                "{unknown}"
            );
        }
        assert!(matches!(
            classify("posthog:plugin/log@0.1.0", "func"),
            ImportClass::Unknown(_)
        ));
        // The batch exporter's own type, and only as a type.
        assert_eq!(classify("export-error", "type"), ImportClass::ContractType);
        assert!(matches!(
            classify("export-error", "func"),
            ImportClass::Unknown(_)
        ));
        assert!(matches!(
            classify("other-type", "type"),
            ImportClass::Unknown(_)
        ));
    }
}
