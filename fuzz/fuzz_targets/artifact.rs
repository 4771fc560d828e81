//! Fuzz target `artifact`: arbitrary bytes as the component, with a fixed valid manifest. The
//! static stage validates and walks the bytes with wasmparser and must report findings, never
//! panic (`harness/tests/static_analysis.rs` runs the same body as a proptest).

#![no_main]

use std::path::Path;

use harness::static_analysis::{StaticInput, analyze, rules};
use libfuzzer_sys::fuzz_target;

const MANIFEST: &str = r#"{"name": "fuzz", "version": "0.1.0", "capabilities": {"storage": true}}"#;

fuzz_target!(|data: &[u8]| {
    let report = analyze(&StaticInput {
        manifest_path: Path::new("plugin.json"),
        manifest_text: MANIFEST,
        component_path: Some(Path::new("plugin.wasm")),
        component: Some(data),
        cargo_toml: None,
        library_root: None,
    });
    for finding in &report.findings {
        assert!(rules().iter().any(|rule| rule.id == finding.rule));
    }
});
