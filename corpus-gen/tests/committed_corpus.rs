//! The committed corpus is what the generator makes from the default seed, byte for byte: a
//! change to the generator that changes the corpus shows up here, not as a silent diff the next
//! time someone runs `cargo xtask corpus generate`.

use std::path::{Path, PathBuf};

use posthog_corpus_gen::{DEFAULT_SEED, EDGE_CASES, FILES, generate, write};

/// `corpus/` at the workspace root (this crate lives one level below it).
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

/// The first line where `a` and `b` differ, 1-based, with both versions, to make a failure
/// readable (the files are too large for `assert_eq!` to print usefully).
fn first_difference(a: &str, b: &str) -> String {
    let (mut a_lines, mut b_lines) = (a.lines(), b.lines());
    for line in 1.. {
        match (a_lines.next(), b_lines.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => return "no line differs (line endings or a final newline do)".into(),
            (x, y) => {
                return format!("line {line}:\n  generated: {x:?}\n  committed: {y:?}");
            }
        }
    }
    unreachable!()
}

#[test]
fn the_default_seed_regenerates_the_committed_corpus_byte_for_byte() {
    let dir = corpus_dir();
    let files = generate(DEFAULT_SEED);
    assert_eq!(files.len(), FILES.len());
    for file in &files {
        let path = dir.join(file.name);
        let committed = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run `cargo xtask corpus generate`)",
                path.display()
            )
        });
        if committed != file.contents.as_bytes() {
            let committed = String::from_utf8_lossy(&committed);
            panic!(
                "corpus/{} differs from what seed {DEFAULT_SEED} generates, at {}",
                file.name,
                first_difference(&file.contents, &committed)
            );
        }
    }
}

#[test]
fn every_jsonl_file_in_corpus_is_generated_or_the_hand_written_edge_cases() {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus/")
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".jsonl"))
        .collect();
    names.sort();
    let mut expected: Vec<String> = FILES.iter().map(|f| f.name.to_owned()).collect();
    expected.push(EDGE_CASES.to_owned());
    expected.sort();
    assert_eq!(names, expected);
    assert!(FILES.iter().all(|f| f.name != EDGE_CASES));
}

#[test]
fn writing_leaves_other_files_alone_and_writes_what_generate_returns() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let edge_cases = dir.path().join(EDGE_CASES);
    std::fs::write(&edge_cases, "hand-written\n").unwrap();
    let written = write(dir.path(), 7).expect("the corpus is written");
    assert_eq!(written, generate(7));
    for file in &written {
        let on_disk = std::fs::read_to_string(dir.path().join(file.name)).unwrap();
        assert_eq!(on_disk, file.contents, "{}", file.name);
        assert_eq!(on_disk.lines().count(), file.events, "{}", file.name);
    }
    assert_eq!(
        std::fs::read_to_string(&edge_cases).unwrap(),
        "hand-written\n"
    );
}
