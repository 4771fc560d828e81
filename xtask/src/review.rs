//! `cargo xtask review`: each pending snapshot (`<name>.snap.new`, written by `cargo xtask
//! verify` when a plugin's output changed, or by an insta test) shown as a unified diff against
//! the accepted one, then accepted (`y`), rejected (`n`, the pending file is deleted), all the
//! rest accepted (`a`), or left for later (`q`). `--accept-all` accepts without asking. The
//! snapshot logic lives in `harness::stages::snapshot`; this is the conversation.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use harness::stages::snapshot::{PendingSnapshot, pending_snapshots};

#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// Plugin directories or snapshot directories to look in (default: every plugin under
    /// plugins/, and the insta snapshots of harness/tests/).
    pub paths: Vec<PathBuf>,
    /// Accept every pending snapshot without asking.
    #[arg(long)]
    pub accept_all: bool,
}

/// What the reviewer answered for one snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Accept,
    Reject,
    AcceptAll,
    Quit,
}

fn parse_answer(text: &str) -> Option<Answer> {
    match text.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Some(Answer::Accept),
        "n" | "no" => Some(Answer::Reject),
        "a" | "all" => Some(Answer::AcceptAll),
        "q" | "quit" => Some(Answer::Quit),
        _ => None,
    }
}

/// The directories to search by default: every plugin of the library and the test snapshots.
fn default_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = harness::verify::library_plugins(&root.join("plugins")).unwrap_or_default();
    dirs.push(root.join("harness/tests/snapshots"));
    dirs
}

pub fn run(root: &Path, args: &ReviewArgs) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let dirs = if args.paths.is_empty() {
        default_dirs(root)
    } else {
        args.paths.iter().map(|p| cwd.join(p)).collect()
    };
    let pending = pending_snapshots(&dirs);
    let mut err = std::io::stderr().lock();
    if pending.is_empty() {
        writeln!(err, "no pending snapshots")?;
        return Ok(());
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let (mut accepted, mut rejected) = (0, 0);
    let mut accept_rest = args.accept_all;
    for (index, snapshot) in pending.iter().enumerate() {
        let shown = display(root, &snapshot.pending);
        if !accept_rest {
            writeln!(err, "\n[{}/{}] {shown}", index + 1, pending.len())?;
            match snapshot.diff() {
                Ok(diff) if diff.is_empty() => writeln!(err, "(no change in content)")?,
                Ok(diff) => write!(err, "{diff}")?,
                Err(error) => writeln!(err, "error: {error}")?,
            }
        }
        let answer = if accept_rest {
            Answer::Accept
        } else {
            loop {
                write!(
                    err,
                    "accept? [y]es, [n]o (delete it), [a]ccept this and all the rest, [q]uit: "
                )?;
                err.flush()?;
                match lines.next() {
                    None => break Answer::Quit,
                    Some(line) => {
                        if let Some(answer) = parse_answer(&line.context("reading stdin")?) {
                            break answer;
                        }
                    }
                }
            }
        };
        match answer {
            Answer::Accept | Answer::AcceptAll => {
                accept(snapshot)?;
                accepted += 1;
                accept_rest |= answer == Answer::AcceptAll;
            }
            Answer::Reject => {
                snapshot
                    .reject()
                    .with_context(|| format!("deleting {shown}"))?;
                rejected += 1;
            }
            Answer::Quit => break,
        }
    }
    let left = pending.len() - accepted - rejected;
    writeln!(
        err,
        "\naccepted {accepted}, rejected {rejected}, {left} still pending"
    )?;
    Ok(())
}

fn accept(snapshot: &PendingSnapshot) -> anyhow::Result<()> {
    snapshot
        .accept()
        .with_context(|| format!("accepting {}", snapshot.pending.display()))
}

/// A path relative to the workspace root, when it is inside it.
fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_one_letter_or_the_word() {
        assert_eq!(parse_answer("y\n"), Some(Answer::Accept));
        assert_eq!(parse_answer(" No "), Some(Answer::Reject));
        assert_eq!(parse_answer("a"), Some(Answer::AcceptAll));
        assert_eq!(parse_answer("q"), Some(Answer::Quit));
        assert_eq!(parse_answer("maybe"), None);
    }
}
