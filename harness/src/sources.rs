//! Where plugins come from besides a local directory: git repositories (and npm packages,
//! [`crate::npm`]). A git source is a URL
//! (`https://`, `http://`, `ssh://`, `git://`, `file://`, or `git+` before any of them) with an
//! optional `#rev`; it is cloned into a cache directory and then verified like a local plugin
//! (the repository's root holds `plugin.json`).
//!
//! Private sources work as in PostHog, with credentials scoped exactly, and only ever over
//! `https://`:
//! - `GITHUB_TOKEN` is sent to the host `github.com` only (not `github.com.evil.io`, not a
//!   subdomain);
//! - `GITLAB_TOKEN` to `gitlab.com` and to the hosts listed in `GITLAB_HOSTS` (comma-separated,
//!   exact, case-insensitive), never to a host merely containing "gitlab";
//! - `?private_token=TOKEN` in the URL, or `user:password@` user info, go to that URL's host.
//!
//! The host is the one the WHATWG URL parser sees ([`crate::fixtures::url_host`]), and git is
//! given that parser's serialization of the URL, so git connects to the host the decision was
//! made for (`https://github.com\@evil.com` is `https://github.com/@evil.com` for both).
//! A token or user info on a URL that is not `https://` is refused with an error, before any
//! request: it would travel in clear text. (An `ssh://` user name, with no password, is kept:
//! it is not a secret.)
//!
//! Credentials never appear on a command line (other users can read a process's arguments):
//! user info is removed from the URL given to git, and the credential reaches git through its
//! environment (`GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_0`/`GIT_CONFIG_VALUE_0` holding an
//! `http.extraHeader`), so it is not stored in the checkout's `.git/config` or handed to a
//! credential helper either. Git runs with `GIT_TERMINAL_PROMPT=0`, an askpass that answers
//! nothing, and without `GITHUB_TOKEN`, `GITLAB_TOKEN` and `NPM_TOKEN` in its environment.
//! Every user-supplied URL and revision is passed after `--end-of-options`, and a revision
//! starting with `-` is refused, so `#--upload-pack=...` cannot become an option.
//!
//! No credential appears in any output, log or report: every message is passed through
//! [`GitSource::redact`], and URLs are shown with [`crate::fixtures::redact_url`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::error::HarnessError;
use crate::plugin::PluginSource;

/// What git sends to authenticate: `Authorization: Basic base64(user:secret)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: String,
    pub secret: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("user", &"***")
            .field("secret", &"***")
            .finish()
    }
}

impl Credential {
    /// A token for `url`'s host, with the user name that host expects beside a token.
    fn token(url: &str, token: String) -> Credential {
        let user = if crate::fixtures::url_host(url).as_deref() == Some("github.com") {
            "x-access-token"
        } else {
            "oauth2"
        };
        Credential {
            user: user.to_owned(),
            secret: token,
        }
    }

    fn basic(&self) -> String {
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", self.user, self.secret),
        )
    }
}

/// The token from the environment that `url` may be sent, if any: `GITHUB_TOKEN` for exactly
/// `https://github.com`, `GITLAB_TOKEN` for exactly `https://gitlab.com` and the hosts listed
/// in `GITLAB_HOSTS`. `env` reads a variable (`std::env::var` outside tests). Nothing over any
/// scheme but `https`.
pub fn token_for(url: &str, env: impl Fn(&str) -> Option<String>) -> Option<Credential> {
    let parsed = url::Url::parse(url).ok()?;
    if parsed.scheme() != "https" {
        return None;
    }
    let host = crate::fixtures::url_host(url)?;
    let variable = if host == "github.com" {
        "GITHUB_TOKEN"
    } else if host == "gitlab.com"
        || env("GITLAB_HOSTS").is_some_and(|hosts| {
            hosts.split(',').any(|listed| {
                let listed = listed.trim();
                let listed = listed
                    .strip_prefix('[')
                    .and_then(|l| l.strip_suffix(']'))
                    .unwrap_or(listed);
                !listed.is_empty() && listed.eq_ignore_ascii_case(&host)
            })
        })
    {
        "GITLAB_TOKEN"
    } else {
        return None;
    };
    let token = env(variable).filter(|t| !t.is_empty())?;
    Some(Credential::token(url, token))
}

/// A git URL with its revision and credential taken apart.
#[derive(Clone, PartialEq, Eq)]
pub struct GitSource {
    /// The URL given to git: normalized (WHATWG), without `git+`, `#rev`, `private_token`
    /// and user info (but an `ssh://` user name).
    pub url: String,
    pub rev: Option<String>,
    credential: Option<Credential>,
}

impl std::fmt::Debug for GitSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitSource")
            .field("url", &self.url)
            .field("rev", &self.rev)
            .field("credential", &self.credential.as_ref().map(|_| "***"))
            .finish()
    }
}

const SCHEMES: [&str; 5] = ["https://", "http://", "ssh://", "git://", "file://"];

/// Variables git must not inherit: a token is given to git only when it is meant for the URL.
const SECRET_VARIABLES: [&str; 3] = ["GITHUB_TOKEN", "GITLAB_TOKEN", "NPM_TOKEN"];

impl GitSource {
    /// Reads a command-line argument as a git source; `Ok(None)` when it is a local path. An
    /// error when the source would send a credential in clear text, or its revision could be
    /// read as an option.
    pub fn parse(arg: &str) -> Result<Option<GitSource>, HarnessError> {
        GitSource::parse_with(arg, |name| std::env::var(name).ok())
    }

    /// [`GitSource::parse`] with the environment read through `env`.
    pub fn parse_with(
        arg: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<GitSource>, HarnessError> {
        let rest = arg.strip_prefix("git+").unwrap_or(arg);
        if !SCHEMES.iter().any(|scheme| rest.starts_with(scheme)) {
            return Ok(None);
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
                            token = Some(value.to_owned()).filter(|t| !t.is_empty());
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
        // How errors name the source: no token, user info or query values.
        let shown = GitSource {
            url: url.clone(),
            rev: rev.clone(),
            credential: None,
        }
        .display();
        let refuse = |why: String| Err(HarnessError::Other(format!("{shown}: {why}")));
        if let Some(rev) = &rev
            && rev.starts_with('-')
        {
            return refuse(format!(
                "the revision `{rev}` starts with `-`: git would read it as an option"
            ));
        }
        let Ok(mut parsed) = url::Url::parse(&url) else {
            return refuse("not a valid URL".to_owned());
        };
        let scheme = parsed.scheme().to_owned();
        if token.is_some() && scheme != "https" {
            return refuse(format!(
                "refusing to send `private_token` over {scheme}://: the token would travel in \
                 clear text (use https://)"
            ));
        }
        let user_info = !parsed.username().is_empty() || parsed.password().is_some();
        let mut credential = None;
        if user_info {
            match scheme.as_str() {
                "https" if token.is_some() => {
                    return refuse(
                        "both user info and `private_token`: give one credential".to_owned(),
                    );
                }
                "https" => {
                    credential = Some(Credential {
                        user: percent_decode(parsed.username()),
                        secret: percent_decode(parsed.password().unwrap_or("")),
                    });
                    if parsed.set_username("").is_err() || parsed.set_password(None).is_err() {
                        return refuse("the user info cannot be taken out of the URL".to_owned());
                    }
                }
                // An ssh user name (`ssh://git@host/...`) is not a secret; ssh keys authenticate.
                "ssh" if parsed.password().is_none() => {}
                "ssh" => {
                    return refuse(
                        "refusing a password in an ssh:// URL (git would put it on a command \
                         line; use an ssh key)"
                            .to_owned(),
                    );
                }
                _ => {
                    return refuse(format!(
                        "refusing credentials (user info) over {scheme}://: they would travel \
                         in clear text (use https://)"
                    ));
                }
            }
        }
        // Git is given the URL as the WHATWG parser serializes it, so that it connects to the
        // host the credential was scoped to.
        let url = parsed.to_string();
        let credential = match token {
            Some(token) => Some(Credential::token(&url, token)),
            None => credential.or_else(|| token_for(&url, &env)),
        };
        Ok(Some(GitSource {
            url,
            rev,
            credential,
        }))
    }

    /// The source as it may be shown: no token, user info or query values.
    pub fn display(&self) -> String {
        let url = crate::fixtures::redact_url(&self.url);
        match &self.rev {
            Some(rev) => format!("{url}#{rev}"),
            None => url,
        }
    }

    /// `text` with the credential (its secret, its base64 form, and the user name when it is
    /// the secret: `https://TOKEN@host`) replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let Some(credential) = &self.credential else {
            return text.to_owned();
        };
        let text = text.replace(&credential.basic(), "***");
        let secret = if credential.secret.is_empty() {
            &credential.user
        } else {
            &credential.secret
        };
        if secret.is_empty() {
            text
        } else {
            text.replace(secret.as_str(), "***")
        }
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
    /// checkout. Errors name the source without its credential.
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
            self.git(
                Path::new("."),
                &["clone", "--quiet", "--end-of-options", &self.url, &target],
            )?;
        }
        let rev = self.rev.as_deref().unwrap_or("origin/HEAD");
        // A branch name means the remote's branch, not a stale local one.
        let remote_branch = format!("origin/{rev}");
        let target = if self
            .git(
                &dir,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    &remote_branch,
                ],
            )
            .is_ok()
        {
            remote_branch
        } else {
            rev.to_owned()
        };
        self.git(
            &dir,
            &[
                "checkout",
                "--quiet",
                "--detach",
                "--end-of-options",
                &target,
            ],
        )?;
        Ok(dir)
    }

    /// The git command for `args` in `dir`: the credential, if any, in its environment (never
    /// its arguments), no prompt, and no token it is not meant to have.
    pub fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "true");
        for variable in SECRET_VARIABLES {
            command.env_remove(variable);
        }
        if let Some(credential) = &self.credential {
            command
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env(
                    "GIT_CONFIG_VALUE_0",
                    format!("Authorization: Basic {}", credential.basic()),
                );
        }
        command
    }

    fn git(&self, dir: &Path, args: &[&str]) -> Result<String, HarnessError> {
        let output = self.command(dir, args).output().map_err(|e| {
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

/// `%XX` sequences decoded (user info in a URL is percent-encoded).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolves a command-line argument: an npm or git source is fetched first, anything else is a local
/// path (`PluginSource::resolve`).
pub fn resolve(arg: &Path) -> Result<PluginSource, HarnessError> {
    if let Some(npm) = arg
        .to_str()
        .map(crate::npm::NpmSource::parse)
        .transpose()?
        .flatten()
    {
        let dir = npm.fetch()?;
        return PluginSource::resolve(&dir).map_err(|_| {
            HarnessError::Other(format!(
                "{}: the package has no plugin.json at its root",
                npm.display()
            ))
        });
    }
    match arg.to_str().map(GitSource::parse).transpose()?.flatten() {
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

#[cfg(test)]
mod tests {
    use super::*;

    const GITHUB: &str = "ghp-SECRET-GITHUB";
    const GITLAB: &str = "glpat-SECRET-GITLAB";

    /// An environment holding both tokens, and `GITLAB_HOSTS` when given.
    fn env(gitlab_hosts: Option<&str>) -> impl Fn(&str) -> Option<String> {
        let gitlab_hosts = gitlab_hosts.map(str::to_owned);
        move |name| match name {
            "GITHUB_TOKEN" => Some(GITHUB.to_owned()),
            "GITLAB_TOKEN" => Some(GITLAB.to_owned()),
            "NPM_TOKEN" => Some("npm-SECRET".to_owned()),
            "GITLAB_HOSTS" => gitlab_hosts.clone(),
            _ => None,
        }
    }

    #[test]
    fn tokens_from_the_environment_go_to_their_exact_host_over_https_only() {
        let listed = Some("gitlab.example.com, Git.Corp.Example");
        // (url, GITLAB_HOSTS, the token sent)
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("https://github.com/x/y.git", None, Some(GITHUB)),
            ("https://GitHub.com/x/y.git", None, Some(GITHUB)),
            ("https://github.com:443/x", None, Some(GITHUB)),
            ("http://github.com/x/y.git", None, None),
            ("https://api.github.com/x", None, None),
            ("https://github.com.evil.io/x", None, None),
            ("https://evil.com\\.github.com/x", None, None),
            ("https://evil.com/github.com", None, None),
            ("https://github.com@evil.com/x", None, None),
            ("ssh://git@github.com/x/y.git", None, None),
            ("git://github.com/x/y.git", None, None),
            ("https://gitlab.com/x", None, Some(GITLAB)),
            ("http://gitlab.com/x", None, None),
            ("https://mygitlab-phish.example/x", None, None),
            ("https://gitlab.com.evil.io/x", None, None),
            ("https://gitlab.example.com/x", None, None),
            ("https://gitlab.example.com/x", listed, Some(GITLAB)),
            ("https://GITLAB.example.com:8443/x", listed, Some(GITLAB)),
            ("https://git.corp.example/x", listed, Some(GITLAB)),
            ("http://gitlab.example.com/x", listed, None),
            ("https://evil.gitlab.example.com/x", listed, None),
            ("https://example.com/x", listed, None),
            ("https://example.com/x", Some(""), None),
            ("https://127.0.0.1:8443/x", Some("127.0.0.1"), Some(GITLAB)),
            ("https://[::1]/x", Some("[::1]"), Some(GITLAB)),
        ];
        for (url, hosts, expected) in cases {
            let got = token_for(url, env(*hosts));
            assert_eq!(
                got.as_ref().map(|c| c.secret.as_str()),
                *expected,
                "{url} with GITLAB_HOSTS={hosts:?}"
            );
        }
        assert_eq!(
            token_for("https://github.com/x", env(None)).unwrap().user,
            "x-access-token"
        );
        assert_eq!(
            token_for("https://gitlab.com/x", env(None)).unwrap().user,
            "oauth2"
        );
        // An empty token is no token.
        assert!(token_for("https://github.com/x", |_| Some(String::new())).is_none());
    }

    #[test]
    fn git_urls_are_told_from_paths_and_taken_apart() {
        assert_eq!(
            GitSource::parse_with("plugins/url-normalizer", env(None)).unwrap(),
            None
        );
        let source = GitSource::parse_with(
            "git+https://example.com/p.git?private_token=s3cr3t&x=1#v1.2",
            env(None),
        )
        .unwrap()
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
    fn git_is_given_the_url_the_credential_was_scoped_to() {
        let parse = |arg: &str| GitSource::parse_with(arg, env(None)).unwrap().unwrap();
        // The WHATWG parser reads `\` as `/`: the host is github.com, and git is told so.
        let source = parse("https://github.com\\@evil.com/x");
        assert_eq!(source.url, "https://github.com/@evil.com/x");
        assert_eq!(source.credential.unwrap().secret, GITHUB);
        let source = parse("https://evil.com\\.github.com/x");
        assert_eq!(source.url, "https://evil.com/.github.com/x");
        assert_eq!(source.credential, None);
        // User info is taken out of the URL and becomes the credential.
        let source = parse("https://me:p%40ss@github.com/x/y.git#main");
        assert_eq!(source.url, "https://github.com/x/y.git");
        let credential = source.credential.clone().unwrap();
        assert_eq!(
            (credential.user.as_str(), credential.secret.as_str()),
            ("me", "p@ss")
        );
        assert!(!format!("{source:?}").contains("p@ss"));
        // A token as the user name is redacted too.
        let source = parse("https://tok3n-as-user@example.com/x");
        assert_eq!(source.url, "https://example.com/x");
        assert_eq!(source.redact("denied for tok3n-as-user"), "denied for ***");
        // An ssh user name is not a secret and stays.
        let source = parse("ssh://git@github.com/x/y.git");
        assert_eq!(source.url, "ssh://git@github.com/x/y.git");
        assert_eq!(source.credential, None);
    }

    #[test]
    fn credentials_that_would_travel_in_clear_text_and_option_like_revisions_are_refused() {
        // (source, what the error says)
        let cases = [
            (
                "http://example.com/p.git?private_token=SECRET-1",
                "clear text",
            ),
            (
                "git+http://example.com/p.git?a=1&private_token=SECRET-1#v1",
                "clear text",
            ),
            (
                "git://example.com/p.git?private_token=SECRET-1",
                "clear text",
            ),
            ("http://me:SECRET-1@example.com/p.git", "clear text"),
            ("http://SECRET-1@example.com/p.git", "clear text"),
            ("git://me:SECRET-1@example.com/p.git", "clear text"),
            ("ssh://me:SECRET-1@example.com/p.git", "ssh key"),
            (
                "https://me:SECRET-1@example.com/p.git?private_token=SECRET-1",
                "one credential",
            ),
            (
                "https://example.com/p.git#--upload-pack=touch /tmp/x",
                "starts with `-`",
            ),
            ("https://example.com/p.git#-uX", "starts with `-`"),
            (
                "https://example.com/p.git#--output=/tmp/x",
                "starts with `-`",
            ),
        ];
        for (source, why) in cases {
            let error = GitSource::parse_with(source, env(Some("example.com")))
                .expect_err(source)
                .to_string();
            assert!(error.contains(why), "{source}: {error}");
            assert!(
                !error.contains("SECRET"),
                "{source}: the secret leaked: {error}"
            );
        }
    }

    #[test]
    fn the_git_command_carries_the_credential_in_its_environment_only() {
        let source = GitSource::parse_with("https://me:SECRET-PW@gitlab.com/x.git#v1", env(None))
            .unwrap()
            .unwrap();
        let command = source.command(
            Path::new("."),
            &[
                "clone",
                "--quiet",
                "--end-of-options",
                &source.url,
                "target",
            ],
        );
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(
            args.iter()
                .all(|a| !a.contains("SECRET") && !a.contains("me:")),
            "{args:?}"
        );
        let envs: std::collections::BTreeMap<String, Option<String>> = command
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect();
        for removed in SECRET_VARIABLES {
            assert_eq!(envs.get(removed), Some(&None), "{removed} is removed");
        }
        assert_eq!(envs["GIT_TERMINAL_PROMPT"].as_deref(), Some("0"));
        assert_eq!(
            envs["GIT_CONFIG_KEY_0"].as_deref(),
            Some("http.extraHeader")
        );
        // The user's own credential, not GITLAB_TOKEN although the host is gitlab.com.
        let basic =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "me:SECRET-PW");
        assert_eq!(
            envs["GIT_CONFIG_VALUE_0"].as_deref(),
            Some(format!("Authorization: Basic {basic}").as_str())
        );
        // Without a credential, no header and still no inherited token.
        let public = GitSource::parse_with("https://example.com/x.git", env(None))
            .unwrap()
            .unwrap();
        let command = public.command(Path::new("."), &["fetch"]);
        let names: Vec<String> = command
            .get_envs()
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n.starts_with("GIT_CONFIG")),
            "{names:?}"
        );
    }
}
