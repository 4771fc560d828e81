//! Selecting the plugins a CI job verifies: only those changed since a git revision
//! (`--changed BASE`), and a deterministic share of them (`--partition K/N`) so that several
//! machines split a large library.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::HarnessError;

/// `K/N`: the K-th of N shares, K counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not K/N (for example 2/4)"))?;
        let index: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("`{k}` is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("`{text}`: K must be between 1 and N"));
        }
        Ok(Partition { index, count })
    }
}

impl Partition {
    /// This share of `plugins`: sorted by path, every N-th starting at the K-th. The same
    /// list always splits the same way, and the shares together are the whole list.
    pub fn select(&self, mut plugins: Vec<PathBuf>) -> Vec<PathBuf> {
        plugins.sort();
        plugins
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % self.count == self.index - 1)
            .map(|(_, plugin)| plugin)
            .collect()
    }
}

/// The plugins with a file changed since `base` (committed, staged, unstaged or untracked).
/// A change outside every plugin's directory (the harness, the SDK, the contract, the corpus,
/// the schemas) can change every verdict, so then all plugins are kept.
pub fn changed_since(base: &str, plugins: Vec<PathBuf>) -> Result<Vec<PathBuf>, HarnessError> {
    if base.starts_with('-') {
        return Err(HarnessError::Other(format!(
            "--changed: `{base}` is not a revision: it starts with `-`, and git would read it as \
             an option"
        )));
    }
    let root = git(Path::new("."), &["rev-parse", "--show-toplevel"])?;
    let root = PathBuf::from(root.trim());
    let mut changed: Vec<PathBuf> = Vec::new();
    for args in [
        // The revision after `--end-of-options` (never an option), the paths after `--`.
        vec!["diff", "--name-only", "--end-of-options", base, "--"],
        vec![
            "diff",
            "--name-only",
            "--cached",
            "--end-of-options",
            base,
            "--",
        ],
        vec!["ls-files", "--others", "--exclude-standard"],
    ] {
        changed.extend(git(&root, &args)?.lines().map(|line| root.join(line)));
    }
    let plugin_dirs: Vec<(PathBuf, PathBuf)> = plugins
        .into_iter()
        .map(|p| (p.canonicalize().unwrap_or_else(|_| p.clone()), p))
        .collect();
    let outside_plugins = changed.iter().any(|file| {
        !plugin_dirs.iter().any(|(dir, _)| file.starts_with(dir))
            && !file.ends_with("library.lock")
            && !file.starts_with(root.join("target"))
    });
    Ok(plugin_dirs
        .into_iter()
        .filter(|(dir, _)| outside_plugins || changed.iter().any(|file| file.starts_with(dir)))
        .map(|(_, plugin)| plugin)
        .collect())
}

fn git(dir: &Path, args: &[&str]) -> Result<String, HarnessError> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| HarnessError::Other(format!("--changed: could not run git: {e}")))?;
    if !output.status.success() {
        return Err(HarnessError::Other(format!(
            "--changed: git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_and_cover_the_list_exactly_once() {
        assert!("0/3".parse::<Partition>().is_err());
        assert!("4/3".parse::<Partition>().is_err());
        assert!("x/3".parse::<Partition>().is_err());
        let plugins: Vec<PathBuf> = (0..10).map(|i| PathBuf::from(format!("p{i}"))).collect();
        let mut all = Vec::new();
        for k in 1..=3 {
            let share = format!("{k}/3")
                .parse::<Partition>()
                .unwrap()
                .select(plugins.clone());
            assert!(share.len() >= 3 && share.len() <= 4);
            all.extend(share);
        }
        all.sort();
        let mut expected = plugins.clone();
        expected.sort();
        assert_eq!(all, expected);
        // Order of the input does not matter.
        let reversed: Vec<PathBuf> = plugins.iter().rev().cloned().collect();
        let p: Partition = "2/3".parse().unwrap();
        assert_eq!(p.select(reversed), p.select(plugins));
    }
}
