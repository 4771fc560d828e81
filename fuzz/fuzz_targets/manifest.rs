//! Fuzz target `manifest`: arbitrary bytes as `plugin.json` text. The static stage must report
//! findings, never panic (`harness/tests/static_analysis.rs` runs the same body as a proptest).

#![no_main]

use std::path::Path;

use harness::static_analysis::{StaticInput, analyze};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let report = analyze(&StaticInput {
        manifest_path: Path::new("plugin.json"),
        manifest_text: &text,
        component_path: None,
        component: None,
        cargo_toml: None,
        library_root: None,
    });
    assert!(!report.summary.contains('\n'));
});
