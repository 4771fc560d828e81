//! Events as JSONL: the corpus under `corpus/` and the input of `run`. Every event keeps the
//! file and line it came from, so that every finding can point at it.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::error::HarnessError;

/// One event and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct SourcedEvent {
    pub file: Arc<Path>,
    /// 1-based line number.
    pub line: usize,
    pub event: Value,
}

impl SourcedEvent {
    /// `file:line`, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }

    /// The event's `uuid`, when it has one.
    pub fn uuid(&self) -> Option<&str> {
        self.event.get("uuid").and_then(Value::as_str)
    }
}

/// A line that is not an event: not JSON, or JSON that is not an object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct BadLine {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

/// Parses one JSONL line into an event object. Blank lines are `None`.
pub fn parse_line(file: &Path, line: usize, text: &str) -> Option<Result<Value, BadLine>> {
    parse_line_counted(file, line, text, &mut 0)
}

/// [`parse_line`], adding the unpaired surrogates it replaced to `replaced`.
fn parse_line_counted(
    file: &Path,
    line: usize,
    text: &str,
    replaced: &mut usize,
) -> Option<Result<Value, BadLine>> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    let bad = |message: String| BadLine {
        file: file.to_owned(),
        line,
        message,
    };
    let parsed = serde_json::from_str::<Value>(trimmed).or_else(|error| {
        // posthog-node can send a string with an unpaired UTF-16 surrogate escape; PostHog's
        // capture replaces it with U+FFFD, and so do we (counted by `lone_surrogates`).
        match replace_lone_surrogates(trimmed) {
            Some((repaired, count)) => {
                *replaced += count;
                serde_json::from_str::<Value>(&repaired)
            }
            None => Err(error),
        }
    });
    Some(match parsed {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(bad("not an event: expected a JSON object".into())),
        Err(e) => Err(bad(format!(
            "not JSON: {}",
            e.to_string()
                .rsplit_once(" at line ")
                .map_or(e.to_string(), |(m, _)| m.to_owned())
        ))),
    })
}

/// `text` with every unpaired UTF-16 surrogate escape (`\\ud800` not followed by a low one,
/// or a low one alone) replaced by `\\ufffd`, and how many; `None` when there is none.
pub fn replace_lone_surrogates(text: &str) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let escape_at = |i: usize| -> Option<u16> {
        if bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'u') {
            let hex = std::str::from_utf8(bytes.get(i + 2..i + 6)?).ok()?;
            u16::from_str_radix(hex, 16).ok()
        } else {
            None
        }
    };
    let mut out = String::with_capacity(text.len());
    let mut replaced = 0;
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if !in_string {
            in_string = b == b'"';
        } else if b == b'"' {
            in_string = false;
        } else if b == b'\\' {
            match escape_at(i) {
                Some(0xD800..=0xDBFF) => {
                    if matches!(escape_at(i + 6), Some(0xDC00..=0xDFFF)) {
                        out.push_str(&text[i..i + 12]);
                        i += 12;
                    } else {
                        out.push_str("\\ufffd");
                        replaced += 1;
                        i += 6;
                    }
                    continue;
                }
                Some(0xDC00..=0xDFFF) => {
                    out.push_str("\\ufffd");
                    replaced += 1;
                    i += 6;
                    continue;
                }
                _ => {
                    // Any other escape: copy it whole (so `\\\\u...` stays an escaped backslash).
                    let len = if bytes.get(i + 1) == Some(&b'u') {
                        6
                    } else {
                        2
                    };
                    let end = (i + len).min(bytes.len());
                    out.push_str(&text[i..end]);
                    i = end;
                    continue;
                }
            }
        }
        // Copy one whole UTF-8 character.
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    (replaced > 0).then_some((out, replaced))
}

/// The longest line `read_jsonl` takes (16 MiB; PostHog's capture takes events of a few
/// MiB). A longer line is reported with file and line, skipped without being held in memory,
/// and the lines after it flow on.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Reads JSONL events from `reader`, calling `each` with every event or bad line in order.
/// Reading stops only on an I/O error.
pub fn read_jsonl(
    file: &Path,
    reader: impl BufRead,
    each: impl FnMut(Result<SourcedEvent, BadLine>),
) -> Result<ReadStats, HarnessError> {
    read_jsonl_capped(file, reader, MAX_LINE_BYTES, each)
}

/// What reading a JSONL stream repaired on the way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Unpaired UTF-16 surrogate escapes replaced by U+FFFD.
    pub surrogates_replaced: usize,
}

/// [`read_jsonl`] with another line cap.
pub fn read_jsonl_capped(
    file: &Path,
    mut reader: impl BufRead,
    max_line: usize,
    mut each: impl FnMut(Result<SourcedEvent, BadLine>),
) -> Result<ReadStats, HarnessError> {
    let mut stats = ReadStats::default();
    let shared: Arc<Path> = Arc::from(file);
    let bad = |line: usize, message: String| BadLine {
        file: file.to_owned(),
        line,
        message,
    };
    let mut buffer: Vec<u8> = Vec::new();
    let mut line_number = 0;
    loop {
        buffer.clear();
        // One line, never holding more than `max_line + 1` bytes of it.
        let mut too_long = false;
        let mut ended = false;
        loop {
            let available = match reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(HarnessError::io(file, e)),
            };
            if available.is_empty() {
                ended = true;
                break;
            }
            let (chunk, found_newline) = match available.iter().position(|&b| b == b'\n') {
                Some(at) => (&available[..at], true),
                None => (available, false),
            };
            if !too_long {
                if buffer.len() + chunk.len() > max_line {
                    too_long = true;
                    buffer.clear();
                } else {
                    buffer.extend_from_slice(chunk);
                }
            }
            let consumed = chunk.len() + usize::from(found_newline);
            reader.consume(consumed);
            if found_newline {
                break;
            }
        }
        if ended && buffer.is_empty() && !too_long {
            return Ok(stats);
        }
        line_number += 1;
        if too_long {
            each(Err(bad(
                line_number,
                format!("line longer than {} MiB; skipped", max_line >> 20),
            )));
        } else {
            match std::str::from_utf8(&buffer) {
                Err(_) => each(Err(bad(line_number, "not UTF-8".into()))),
                Ok(text) => {
                    let replaced = &mut stats.surrogates_replaced;
                    if let Some(parsed) = parse_line_counted(file, line_number, text, replaced) {
                        each(parsed.map(|event| SourcedEvent {
                            file: shared.clone(),
                            line: line_number,
                            event,
                        }));
                    }
                }
            }
        }
        if ended {
            return Ok(stats);
        }
    }
}

/// The subdirectory of a corpus holding the events recorded from real SDKs
/// (`cargo xtask corpus record`), loaded after the corpus's own files.
pub const RECORDED_DIR: &str = "recorded";

/// A corpus: every event of every `.jsonl` file in a directory, then of its `recorded/`
/// subdirectory (each sorted by file name, then line).
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    pub events: Vec<SourcedEvent>,
    pub files: Vec<PathBuf>,
}

/// The `.jsonl` files of `dir` (not recursive), sorted.
fn jsonl_files(dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    let entries = std::fs::read_dir(dir).map_err(|e| HarnessError::io(dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    Ok(files)
}

/// Whether a corpus file is one of the recorded subdirectory's.
pub fn is_recorded(file: &Path) -> bool {
    file.parent()
        .and_then(Path::file_name)
        .is_some_and(|parent| parent == RECORDED_DIR)
}

/// A corpus file as the corpus digest and messages name it: its file name, or
/// `recorded/NAME` for a file of the recorded subdirectory.
pub fn file_label(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_recorded(file) {
        format!("{RECORDED_DIR}/{name}")
    } else {
        name
    }
}

impl Corpus {
    /// Loads the `.jsonl` files of `dir` and of `dir/recorded/` (neither recursive). A line
    /// that is not an event is a harness error naming file and line: the corpus must be clean
    /// before plugins are judged. A recorded file may not share its name with one of `dir`'s
    /// (a plugin's snapshot of each is named after the file).
    pub fn load(dir: &Path) -> Result<Corpus, HarnessError> {
        let mut files = jsonl_files(dir)?;
        let recorded = dir.join(RECORDED_DIR);
        if recorded.is_dir() {
            for file in jsonl_files(&recorded)? {
                if files.iter().any(|own| own.file_name() == file.file_name()) {
                    return Err(HarnessError::bad_file(
                        &file,
                        "has the name of a file of the corpus directory; their snapshots would be one file",
                    ));
                }
                files.push(file);
            }
        }
        if files.is_empty() {
            return Err(HarnessError::bad_file(
                dir,
                "no .jsonl files in the corpus directory",
            ));
        }
        let mut corpus = Corpus::default();
        for file in &files {
            corpus.add_file(file)?;
        }
        Ok(corpus)
    }

    /// Adds the events of one JSONL file.
    pub fn add_file(&mut self, file: &Path) -> Result<(), HarnessError> {
        let handle = std::fs::File::open(file).map_err(|e| HarnessError::io(file, e))?;
        let mut first_bad = None;
        read_jsonl(
            file,
            std::io::BufReader::new(handle),
            |parsed| match parsed {
                Ok(event) => self.events.push(event),
                Err(bad) => {
                    first_bad.get_or_insert(bad);
                }
            },
        )?;
        if let Some(bad) = first_bad {
            return Err(HarnessError::BadLine {
                path: bad.file,
                line: bad.line,
                message: bad.message,
            });
        }
        self.files.push(file.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde_json's `raw_value` feature reads an object whose key is its private RawValue token
    /// as the JSON in its string: an event sender (or a plugin's output, parsed the same way)
    /// could hand the pipeline a different value than the text shows. The feature must stay off
    /// in every build of the harness; cargo unifies features across a workspace build, so a
    /// crate built beside the harness (the SDK) enabling it would turn it on here too.
    #[test]
    fn serde_json_private_raw_value_key_is_an_ordinary_key() {
        let line = r#"{"event":"e","properties":{"$serde_json::private::RawValue":"[1,2]"}}"#;
        let event = parse_line(Path::new("in.jsonl"), 1, line).unwrap().unwrap();
        assert_eq!(
            event["properties"],
            serde_json::json!({"$serde_json::private::RawValue": "[1,2]"})
        );
    }

    #[test]
    fn bad_lines_name_file_and_line_and_the_rest_flow_on() {
        let input = "{\"event\":\"a\"}\n\nnot json\n[1]\n{\"event\":\"b\"}\n";
        let mut seen = Vec::new();
        read_jsonl(Path::new("in.jsonl"), input.as_bytes(), |r| seen.push(r)).unwrap();
        assert_eq!(seen.len(), 4);
        assert_eq!(seen[0].as_ref().unwrap().line, 1);
        assert_eq!(
            seen[1].as_ref().unwrap_err().to_string(),
            "in.jsonl:3: not JSON: expected ident"
        );
        assert_eq!(
            seen[2].as_ref().unwrap_err().to_string(),
            "in.jsonl:4: not an event: expected a JSON object"
        );
        assert_eq!(seen[3].as_ref().unwrap().line, 5);
    }

    #[test]
    fn unpaired_surrogates_become_the_replacement_character_as_in_posthog() {
        let line = r#"{"event":"e","properties":{"a":"x\ud800y","b":"\udc00","ok":"\ud83d\ude00","esc":"\\ud800"}}"#;
        let event = parse_line(Path::new("in"), 1, line).unwrap().unwrap();
        assert_eq!(event["properties"]["a"], "x\u{fffd}y");
        assert_eq!(event["properties"]["b"], "\u{fffd}");
        assert_eq!(event["properties"]["ok"], "😀", "a pair is kept");
        assert_eq!(
            event["properties"]["esc"], "\\ud800",
            "an escaped backslash is text"
        );
        assert_eq!(replace_lone_surrogates(line).unwrap().1, 2);
        // The near miss: a line without lone surrogates is not rewritten.
        assert_eq!(replace_lone_surrogates(r#"{"a":"\ud83d\ude00"}"#), None);
    }

    #[test]
    fn a_line_over_the_cap_is_reported_and_the_next_lines_flow_on() {
        let long = format!("{{\"event\":\"{}\"}}", "x".repeat(100));
        let input = format!("{{\"event\":\"a\"}}\n{long}\n{{\"event\":\"b\"}}");
        let mut seen = Vec::new();
        read_jsonl_capped(Path::new("in.jsonl"), input.as_bytes(), 64, |r| {
            seen.push(r)
        })
        .unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].as_ref().unwrap().line, 1);
        let err = seen[1].as_ref().unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("longer than"), "{}", err.message);
        assert_eq!(seen[2].as_ref().unwrap().line, 3);
        // A line of exactly the cap is read.
        let exact = "{\"event\":\"ab\"}";
        let mut count = 0;
        read_jsonl_capped(Path::new("in"), exact.as_bytes(), exact.len(), |r| {
            assert!(r.is_ok());
            count += 1
        })
        .unwrap();
        assert_eq!(count, 1);
    }

    #[test]
    fn a_corpus_with_a_bad_line_is_a_harness_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jsonl"), "{\"event\":\"a\"}\n").unwrap();
        std::fs::write(dir.path().join("b.jsonl"), "{\"event\":\"b\"}\n{oops\n").unwrap();
        let err = Corpus::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("b.jsonl:2: not JSON: key must be a string"),
            "{err}"
        );
    }

    #[test]
    fn the_recorded_subdirectory_is_loaded_after_the_corpus_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.jsonl"), "{\"event\":\"b\"}\n").unwrap();
        std::fs::create_dir(dir.path().join(RECORDED_DIR)).unwrap();
        let recorded = dir.path().join(RECORDED_DIR).join("a.jsonl");
        std::fs::write(&recorded, "{\"event\":\"a\"}\n").unwrap();
        // Not a corpus file: another extension, or deeper.
        std::fs::write(dir.path().join(RECORDED_DIR).join("README.md"), "x").unwrap();
        std::fs::create_dir(dir.path().join("regressions")).unwrap();
        std::fs::write(dir.path().join("regressions/p.jsonl"), "oops\n").unwrap();
        let corpus = Corpus::load(dir.path()).unwrap();
        let names: Vec<&str> = corpus
            .events
            .iter()
            .map(|e| e.event["event"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(file_label(&corpus.files[0]), "b.jsonl");
        assert_eq!(file_label(&corpus.files[1]), "recorded/a.jsonl");
        // The near miss: a recorded file named like a corpus file.
        std::fs::write(dir.path().join(RECORDED_DIR).join("b.jsonl"), "{}\n").unwrap();
        let err = Corpus::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("recorded/b.jsonl: has the name of a file"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_corpus_directory_names_it() {
        let err = Corpus::load(Path::new("/no/such/corpus"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/no/such/corpus: "), "{err}");
    }
}
