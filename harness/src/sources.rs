//! Where plugins come from besides a local directory: git repositories. A git source is a URL
//! (`https://`, `http://`, `ssh://`, `git://`, `file://`, or `git+` before any of them) with an
//! optional `#rev`; it is cloned into a cache directory and then verified like a local plugin
//! (the repository's root holds `plugin.json`).
//!
//! Private sources work as in PostHog: `GITHUB_TOKEN` for github.com, `GITLAB_TOKEN` for GitLab
//! hosts, or `?private_token=TOKEN` appended to the URL. A token is given to git through its
//! environment (never its arguments), and never appears in any output, log or report: every
//! message is passed through [`GitSource::redact`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::error::HarnessError;
use crate::plugin::PluginSource;

/// A git URL with its revision and token taken apart.
#[derive(Clone, PartialEq, Eq)]
pub struct GitSource {
    /// The URL without `git+`, `#rev` and `private_token`.
    pub url: String,
    pub rev: Option<String>,
    token: Option<String>,
}

impl std::fmt::Debug for GitSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitSource")
            .field("url", &self.url)
            .field("rev", &self.rev)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

const SCHEMES: [&str; 5] = ["https://", "http://", "ssh://", "git://", "file://"];

impl GitSource {
    /// Reads a command-line argument as a git source; `None` when it is a local path.
    pub fn parse(arg: &str) -> Option<GitSource> {
        let rest = arg.strip_prefix("git+").unwrap_or(arg);
        if !SCHEMES.iter().any(|scheme| rest.starts_with(scheme)) {
            return None;
        }
        let (rest, rev) = match rest.split_once('#') {
            Some((url, rev)) if !rev.is_empty() => (url, Some(rev.to_owned())),
            Some((url, _)) => (url, None),
            None => (rest, None),
        };
        let (url, token) = match rest.split_once('?') {
            Some((base, query)) => {
                let mut token = None;
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| match pair.strip_prefix("private_token=") {
                        Some(value) => {
                            token = Some(value.to_owned());
                            false
                        }
                        None => !pair.is_empty(),
                    })
                    .collect();
                let url = if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                };
                (url, token)
            }
            None => (rest.to_owned(), None),
        };
        let host = crate::fixtures::url_host(&url).unwrap_or_default();
        let token = token.or_else(|| {
            let variable = if host == "github.com" || host.ends_with(".github.com") {
                "GITHUB_TOKEN"
            } else if host.contains("gitlab") {
                "GITLAB_TOKEN"
            } else {
                return None;
            };
            std::env::var(variable).ok().filter(|t| !t.is_empty())
        });
        Some(GitSource { url, rev, token })
    }

    /// The source as it may be shown: no token, user info or query values.
    pub fn display(&self) -> String {
        let url = crate::fixtures::redact_url(&self.url);
        match &self.rev {
            Some(rev) => format!("{url}#{rev}"),
            None => url,
        }
    }

    /// `text` with the token (and its base64 form) replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let Some(token) = &self.token else {
            return text.to_owned();
        };
        let mut text = text.replace(token.as_str(), "***");
        for user in ["x-access-token", "oauth2"] {
            let encoded = base64(&format!("{user}:{token}"));
            text = text.replace(&encoded, "***");
        }
        text
    }

    /// Where this source is checked out: one directory per URL and revision.
    pub fn checkout_dir(&self) -> PathBuf {
        let key = hex::encode(Sha256::digest(format!(
            "{}#{}",
            self.url,
            self.rev.as_deref().unwrap_or("")
        )));
        crate::plugin::cache_dir()
            .parent()
            .map_or_else(|| PathBuf::from("git"), |p| p.join("git"))
            .join(&key[..16])
    }

    /// Clones (or refreshes) the repository and checks out the revision; returns the
    /// checkout. Errors name the source without its token.
    pub fn fetch(&self) -> Result<PathBuf, HarnessError> {
        let dir = self.checkout_dir();
        if dir.join(".git").is_dir() {
            self.git(&dir, &["fetch", "--quiet", "--tags", "origin"])?;
        } else {
            if let Some(parent) = dir.parent() {
                std::fs::create_dir_all(parent).map_err(|e| HarnessError::io(parent, e))?;
            }
            let _ = std::fs::remove_dir_all(&dir);
            let target = dir.to_string_lossy().into_owned();
            self.git(Path::new("."), &["clone", "--quiet", &self.url, &target])?;
        }
        let rev = self.rev.as_deref().unwrap_or("origin/HEAD");
        // A branch name means the remote's branch, not a stale local one.
        let remote_branch = format!("origin/{rev}");
        let target = if self
            .git(&dir, &["rev-parse", "--verify", "--quiet", &remote_branch])
            .is_ok()
        {
            remote_branch
        } else {
            rev.to_owned()
        };
        self.git(&dir, &["checkout", "--quiet", "--detach", &target])?;
        Ok(dir)
    }

    fn git(&self, dir: &Path, args: &[&str]) -> Result<String, HarnessError> {
        let mut command = Command::new("git");
        command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "true");
        if let Some(token) = &self.token {
            // In the environment, not the arguments: other users can read a process's arguments.
            let user = if self.url.contains("github") {
                "x-access-token"
            } else {
                "oauth2"
            };
            command
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env(
                    "GIT_CONFIG_VALUE_0",
                    format!(
                        "Authorization: Basic {}",
                        base64(&format!("{user}:{token}"))
                    ),
                );
        }
        let output = command.output().map_err(|e| {
            HarnessError::Other(format!("{}: could not run git: {e}", self.display()))
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            return Err(HarnessError::Other(self.redact(&format!(
                "{}: git {} failed: {}",
                self.display(),
                args.first().unwrap_or(&""),
                crate::fixtures::redact_url(last.trim())
            ))));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// Resolves a command-line argument: a git source is fetched first, anything else is a local
/// path (`PluginSource::resolve`).
pub fn resolve(arg: &Path) -> Result<PluginSource, HarnessError> {
    match arg.to_str().and_then(GitSource::parse) {
        Some(git) => {
            let dir = git.fetch()?;
            PluginSource::resolve(&dir).map_err(|_| {
                HarnessError::Other(format!(
                    "{}: the repository has no plugin.json at its root",
                    git.display()
                ))
            })
        }
        None => PluginSource::resolve(arg),
    }
}

/// Standard base64 with padding, for a Basic authorization header.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_are_told_from_paths_and_taken_apart() {
        assert_eq!(GitSource::parse("plugins/url-normalizer"), None);
        let source =
            GitSource::parse("git+https://example.com/p.git?private_token=s3cr3t&x=1#v1.2")
                .unwrap();
        assert_eq!(source.url, "https://example.com/p.git?x=1");
        assert_eq!(source.rev.as_deref(), Some("v1.2"));
        assert_eq!(source.display(), "https://example.com/p.git?x=***#v1.2");
        assert!(!format!("{source:?}").contains("s3cr3t"));
        assert_eq!(
            source.redact("fatal: token s3cr3t refused"),
            "fatal: token *** refused"
        );
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(""), "");
        assert_eq!(base64("f"), "Zg==");
        assert_eq!(base64("fo"), "Zm8=");
        assert_eq!(base64("foo"), "Zm9v");
        assert_eq!(base64("oauth2:abc"), "b2F1dGgyOmFiYw==");
    }
}
