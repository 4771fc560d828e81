//! Plugins from git: a repository served on loopback by the test itself (git's "dumb" HTTP
//! protocol, files over HTTP/1.1), public and password-protected, and the server records
//! every request it gets. The tests are attacks: a credential must reach exactly the host it
//! is meant for, over https only, never appear on git's command line or in any output, log or
//! report; a revision must never become an option of git.
//!
//! There is no TLS server here: for `https://127.0.0.1:PORT/` sources git is configured (its
//! global configuration, as a user may) to rewrite that prefix to `http://127.0.0.1:PORT/`.
//! The harness decides on the URL it is given (`https`), git then talks plain HTTP to the
//! recording server, which lets the test see what would have been sent.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

const TOKEN: &str = "glpat-TESTTOKEN-0123456789";

/// A static file server for one bare repository, bound to 127.0.0.1; with `password`, every
/// request needs `Authorization: Basic base64(user:password)` for any user. Every request
/// line and header is recorded (an `Authorization: Basic` value decoded as well).
struct GitServer {
    port: u16,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GitServer {
    fn start(root: PathBuf, password: Option<&'static str>) -> GitServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stopping = stop.clone();
        let recording = seen.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let root = root.clone();
                    let recording = recording.clone();
                    std::thread::spawn(move || serve(stream, &root, password, &recording));
                }
            }
        });
        GitServer {
            port,
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/plugin.git", self.port)
    }

    /// The same repository as an `https://` URL (rewritten to [`GitServer::url`] by the git
    /// configuration [`verify`] gives).
    fn https_url(&self) -> String {
        format!("https://127.0.0.1:{}/plugin.git", self.port)
    }

    /// What was recorded since the last call.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers the requests of one connection (HTTP/1.1 keep-alive) until the client closes it.
fn serve(stream: TcpStream, root: &Path, password: Option<&str>, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut recorded = vec![request_line.trim().to_owned()];
        let mut authorized = password.is_none();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                break;
            }
            recorded.push(header.trim().to_owned());
            if let Some(value) = header.strip_prefix("Authorization: Basic ") {
                let decoded = decode_base64(value.trim());
                authorized |= password
                    .is_some_and(|p| decoded.rsplit_once(':').is_some_and(|(_, got)| got == p));
                recorded.push(format!("(decoded) {decoded}"));
            }
        }
        seen.lock().unwrap().extend(recorded);
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        let path = path.split('?').next().unwrap_or("/");
        let file = path
            .strip_prefix("/plugin.git/")
            .filter(|rest| !rest.contains(".."))
            .map(|rest| root.join(rest));
        let (status, body) = if !authorized {
            (
                "401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"",
                Vec::new(),
            )
        } else {
            match file.and_then(|f| std::fs::read(f).ok()) {
                Some(body) => ("200 OK", body),
                None => ("404 Not Found", Vec::new()),
            }
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&body).is_err() {
            return;
        }
        let _ = stream.flush();
    }
}

fn decode_base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let Some(value) = ALPHABET.iter().position(|a| *a == c) else {
            break;
        };
        bits = (bits << 6) | value as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@localhost",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A bare repository holding a plugin (the misbehaving fixture's component, mode `pass`),
/// tagged `v1`, ready to be served.
fn plugin_repository(dir: &Path) -> PathBuf {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let fixture = common::fixture_dir("misbehaving");
    std::fs::copy(common::built_component(&fixture), work.join("plugin.wasm")).unwrap();
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("plugin.json")).unwrap())
            .unwrap();
    manifest["name"] = json!("from-git");
    manifest["main"] = json!("plugin.wasm");
    std::fs::write(work.join("plugin.json"), manifest.to_string()).unwrap();
    git(&work, &["init", "--quiet"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "plugin"]);
    git(&work, &["tag", "v1"]);
    let bare = dir.join("plugin.git");
    git(dir, &["clone", "--quiet", "--bare", "work", "plugin.git"]);
    git(&bare, &["update-server-info"]);
    bare
}

/// What the harness's git processes were given: one `argv ARG...` line per run, then one
/// `env NAME` line per variable of its environment (names only).
struct GitLog {
    lines: Vec<String>,
}

impl GitLog {
    fn runs(&self) -> usize {
        self.lines.iter().filter(|l| l.starts_with("argv")).count()
    }

    fn argv(&self) -> impl Iterator<Item = &String> {
        self.lines.iter().filter(|l| l.starts_with("argv"))
    }

    fn has_env(&self, name: &str) -> bool {
        self.lines.iter().any(|l| *l == format!("env {name}"))
    }
}

/// A `git` earlier on PATH than the real one, recording its arguments and the names of its
/// environment variables into `dir/git.log`, then running the real git.
fn fake_git(dir: &Path) -> PathBuf {
    let real = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let real = String::from_utf8(real.stdout).unwrap().trim().to_owned();
    assert!(real.starts_with('/'), "git not found on PATH: {real}");
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("git.log");
    let script = format!(
        "#!/bin/sh\n{{\n  printf 'argv'\n  for a in \"$@\"; do printf ' %s' \"$a\"; done\n  \
         printf '\\n'\n  env | sed -n 's/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/env \\1/p'\n}} >> '{}'\n\
         exec '{real}' \"$@\"\n",
        log.display()
    );
    let fake = bin.join("git");
    std::fs::write(&fake, script).unwrap();
    let mut permissions = std::fs::metadata(&fake).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&fake, permissions).unwrap();
    bin
}

/// Runs `harness verify [EXTRA...] SOURCE` in `dir` with a private cache and corpus, the
/// fake git first on PATH, git's global configuration rewriting `https://127.0.0.1:PORT/`
/// to `http://` (`port`), `NPM_TOKEN` set and no other token unless `env` gives one.
fn verify_with(
    dir: &Path,
    extra: &[&str],
    source: &str,
    port: u16,
    env: &[(&str, &str)],
) -> (Output, GitLog) {
    std::fs::create_dir_all(dir.join("corpus")).unwrap();
    std::fs::write(
        dir.join("corpus/events.jsonl"),
        format!("{}\n", common::event("e", 1)),
    )
    .unwrap();
    std::fs::write(
        dir.join("gitconfig"),
        format!("[url \"http://127.0.0.1:{port}/\"]\n\tinsteadOf = https://127.0.0.1:{port}/\n"),
    )
    .unwrap();
    let bin = fake_git(dir);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_harness"));
    command
        .args(["verify", "--accept", "--out", "reports"])
        .args(extra)
        .arg(source)
        .current_dir(dir)
        .env("HARNESS_CACHE_DIR", dir.join("cache/components"))
        .env("PATH", path)
        .env("GIT_CONFIG_GLOBAL", dir.join("gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NPM_TOKEN", "npm-SECRET-NPM")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITLAB_TOKEN")
        .env_remove("GITLAB_HOSTS");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let lines = std::fs::read_to_string(dir.join("git.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    (output, GitLog { lines })
}

fn verify(dir: &Path, source: &str, port: u16, env: &[(&str, &str)]) -> (Output, GitLog) {
    verify_with(dir, &[], source, port, env)
}

fn all_output(dir: &Path, output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    for report in ["report.json", "report.md", "junit.xml", "findings.sarif"] {
        text.push_str(
            &std::fs::read_to_string(dir.join("reports").join(report)).unwrap_or_default(),
        );
    }
    text
}

#[test]
fn a_public_repository_is_cloned_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let bare = plugin_repository(dir.path());
    let server = GitServer::start(bare, None);
    let source = format!("{}#v1", server.url());
    let (output, log) = verify(dir.path(), &source, server.port, &[]);
    let text = all_output(dir.path(), &output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("from-git 0.1.0"), "{text}");
    // The URL and the revision are given to git after `--end-of-options`.
    assert!(
        log.argv()
            .any(|l| l.contains(&format!("clone --quiet --end-of-options {}", server.url()))),
        "{:?}",
        log.lines
    );
    assert!(
        log.argv()
            .any(|l| l.contains("checkout --quiet --detach --end-of-options")),
        "{:?}",
        log.lines
    );
    // Fetching again (the checkout is cached) works too.
    let (again, _) = verify(dir.path(), &source, server.port, &[]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        all_output(dir.path(), &again)
    );
}

/// What one attempt must come to.
enum Expect {
    /// Verified: the credential reached the server.
    Cloned,
    /// Git ran and was refused (401): the credential never reached the server.
    Unauthorized,
    /// Refused by the harness before any request, with this in the error.
    Refused(&'static str),
}

/// One attempt: its name, the source, the environment, and what it must come to.
type Case = (
    &'static str,
    String,
    Vec<(&'static str, &'static str)>,
    Expect,
);

/// Every way of giving a private source a credential, against a server that needs `TOKEN`:
/// the token arrives where (and only where) it is meant to; it is never on git's command
/// line, never in git's environment under its own name, never in any output or report.
#[test]
fn credentials_reach_exactly_their_host_over_https_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let bare = plugin_repository(dir.path());
    let server = GitServer::start(bare, Some(TOKEN));
    let (http, https, port) = (server.url(), server.https_url(), server.port);
    let userinfo = |scheme: &str, user: &str| {
        format!("{scheme}://{user}{TOKEN}@127.0.0.1:{port}/plugin.git#v1")
    };
    let lab = [("GITLAB_TOKEN", TOKEN), ("GITLAB_HOSTS", "127.0.0.1")];
    let cases: Vec<Case> = vec![
        (
            "no credential",
            format!("{http}#v1"),
            vec![],
            Expect::Unauthorized,
        ),
        (
            "private_token over https",
            format!("{https}?private_token={TOKEN}#v1"),
            vec![],
            Expect::Cloned,
        ),
        (
            "user:password over https",
            userinfo("https", "oauth2:"),
            vec![],
            Expect::Cloned,
        ),
        (
            "GITLAB_TOKEN for a host listed in GITLAB_HOSTS, over https",
            format!("{https}#v1"),
            lab.to_vec(),
            Expect::Cloned,
        ),
        (
            "GITLAB_HOSTS with several hosts and spaces",
            format!("{https}#v1"),
            vec![
                ("GITLAB_TOKEN", TOKEN),
                ("GITLAB_HOSTS", " example.com , 127.0.0.1 "),
            ],
            Expect::Cloned,
        ),
        (
            "GITLAB_TOKEN for a host not listed",
            format!("{https}#v1"),
            vec![("GITLAB_TOKEN", TOKEN)],
            Expect::Unauthorized,
        ),
        (
            "GITLAB_TOKEN with look-alike hosts listed",
            format!("{https}#v1"),
            vec![
                ("GITLAB_TOKEN", TOKEN),
                ("GITLAB_HOSTS", "127.0.0.1.evil.io,localhost,gitlab.com"),
            ],
            Expect::Unauthorized,
        ),
        (
            "GITHUB_TOKEN for a host that is not github.com",
            format!("{https}#v1"),
            vec![("GITHUB_TOKEN", TOKEN)],
            Expect::Unauthorized,
        ),
        (
            "GITLAB_TOKEN for a listed host over http",
            format!("{http}#v1"),
            lab.to_vec(),
            Expect::Unauthorized,
        ),
        (
            "private_token over http",
            format!("{http}?private_token={TOKEN}#v1"),
            vec![],
            Expect::Refused("clear text"),
        ),
        (
            "user:password over http",
            userinfo("http", "oauth2:"),
            lab.to_vec(),
            Expect::Refused("clear text"),
        ),
        (
            "a token as user name over http",
            userinfo("http", ""),
            vec![],
            Expect::Refused("clear text"),
        ),
        (
            "a wrong token over https",
            format!("{https}?private_token=glpat-WRONG-987654321#v1"),
            vec![],
            Expect::Unauthorized,
        ),
    ];
    for (name, source, env, expect) in cases {
        let run = tempfile::tempdir().unwrap();
        let (output, log) = verify(run.path(), &source, port, &env);
        let text = all_output(run.path(), &output);
        let seen = server.take();
        let reached = seen.iter().any(|l| l.contains(TOKEN));
        match expect {
            Expect::Cloned => {
                assert_eq!(output.status.code(), Some(0), "{name}: {text}");
                assert!(reached, "{name}: the server never got the token: {seen:?}");
            }
            Expect::Unauthorized => {
                assert_eq!(output.status.code(), Some(2), "{name}: {text}");
                assert!(text.contains("git clone failed"), "{name}: {text}");
                assert!(!reached, "{name}: the token was sent: {seen:?}");
                assert!(log.runs() > 0, "{name}: git never ran");
            }
            Expect::Refused(why) => {
                assert_eq!(output.status.code(), Some(2), "{name}: {text}");
                assert!(text.contains(why), "{name}: {text}");
                assert!(seen.is_empty(), "{name}: a request was made: {seen:?}");
                assert_eq!(log.runs(), 0, "{name}: git ran: {:?}", log.lines);
            }
        }
        for secret in [TOKEN, "TESTTOKEN", "WRONG-987654321", "npm-SECRET"] {
            assert!(!text.contains(secret), "{name}: `{secret}` leaked: {text}");
            assert!(
                log.argv().all(|l| !l.contains(secret)),
                "{name}: `{secret}` on git's command line: {:?}",
                log.lines
            );
        }
        for variable in ["GITHUB_TOKEN", "GITLAB_TOKEN", "NPM_TOKEN"] {
            assert!(!log.has_env(variable), "{name}: git inherited {variable}");
        }
        if log.runs() > 0 {
            assert!(
                log.has_env("GIT_TERMINAL_PROMPT"),
                "{name}: {:?}",
                log.lines
            );
        }
        // Nothing secret is kept in the checkout's configuration either.
        for config in glob_git_configs(&run.path().join("cache")) {
            let config = std::fs::read_to_string(config).unwrap();
            assert!(
                !config.contains(TOKEN),
                "{name}: stored in .git/config: {config}"
            );
        }
    }
}

/// The `.git/config` files of the checkouts under `dir`.
fn glob_git_configs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join("git")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(".git/config"))
        .filter(|p| p.is_file())
        .collect()
}

/// A revision that git would read as an option is refused before git runs; one that merely
/// contains an option after a space is a (missing) revision, never an option.
#[test]
fn a_revision_never_becomes_an_option_of_git() {
    let dir = tempfile::tempdir().unwrap();
    let bare = plugin_repository(dir.path());
    let server = GitServer::start(bare, None);
    let marker = dir.path().join("pwned");
    let m = marker.display();
    // (revision, refused before git runs)
    let cases = [
        (format!("--upload-pack=touch {m}"), true),
        (format!("--output={m}"), true),
        (format!("-o{m}"), true),
        ("--orphan=x".to_owned(), true),
        (format!("v1 --upload-pack=touch {m}"), false),
    ];
    for (rev, refused) in cases {
        let run = tempfile::tempdir().unwrap();
        let source = format!("{}#{rev}", server.url());
        let (output, log) = verify(run.path(), &source, server.port, &[]);
        let text = all_output(run.path(), &output);
        assert_eq!(output.status.code(), Some(2), "{rev}: {text}");
        assert!(!marker.exists(), "{rev}: git ran the injected option");
        if refused {
            assert!(text.contains("starts with `-`"), "{rev}: {text}");
            assert_eq!(log.runs(), 0, "{rev}: git ran: {:?}", log.lines);
        } else {
            assert!(text.contains("git checkout failed"), "{rev}: {text}");
            // Every git command given the revision has it after `--end-of-options`.
            let given: Vec<&String> = log.argv().filter(|l| l.contains(&rev)).collect();
            assert!(given.len() >= 2, "{rev}: {:?}", log.lines);
            assert!(
                given
                    .iter()
                    .all(|l| l.contains(&format!("--end-of-options origin/{rev}"))
                        || l.ends_with(&format!("--end-of-options {rev}"))),
                "{rev}: {:?}",
                log.lines
            );
        }
    }
}

/// `verify --changed=--output=FILE` once made `git diff` write FILE.
#[test]
fn a_changed_base_never_becomes_an_option_of_git() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "--quiet"]);
    std::fs::write(dir.path().join("README"), "x\n").unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "--quiet", "-m", "base"]);
    let plugin = common::misbehaving_dir(json!({}));
    let marker = dir.path().join("pwned");
    let changed = format!("--changed=--output={}", marker.display());
    let (output, _) = verify_with(
        dir.path(),
        &[&changed],
        plugin.path().to_str().unwrap(),
        0,
        &[],
    );
    let text = all_output(dir.path(), &output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("starts with `-`"), "{text}");
    assert!(!marker.exists(), "git diff wrote the file");
}
