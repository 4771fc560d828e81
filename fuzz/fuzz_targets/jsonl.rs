//! Fuzz target: arbitrary bytes as a JSONL event stream, through the reader `run` and the
//! corpus loader use. Every line must become an event or a `BadLine` naming file and line;
//! nothing may panic, and line numbers must count up from 1.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut last_line = 0;
    let _ = harness::corpus::read_jsonl(Path::new("fuzz.jsonl"), data, |parsed| {
        let line = match parsed {
            Ok(event) => {
                assert!(event.event.is_object());
                event.line
            }
            Err(bad) => bad.line,
        };
        assert!(line > last_line, "line numbers go up");
        last_line = line;
    });
});
