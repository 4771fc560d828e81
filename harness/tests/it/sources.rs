//! Plugins from git: a repository served on loopback by the test itself (git's "dumb" HTTP
//! protocol, files over HTTP/1.1), public and token-protected. A token never appears in any
//! output, log or report.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

const TOKEN: &str = "glpat-TESTTOKEN-0123456789";

/// A static file server for one bare repository, bound to 127.0.0.1; with `password`, every
/// request needs `Authorization: Basic base64(user:password)` for any user.
struct GitServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GitServer {
    fn start(root: PathBuf, password: Option<&'static str>) -> GitServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let root = root.clone();
                    std::thread::spawn(move || serve(stream, &root, password));
                }
            }
        });
        GitServer {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/plugin.git", self.port)
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
fn serve(stream: TcpStream, root: &Path, password: Option<&str>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut authorized = password.is_none();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                break;
            }
            if let (Some(password), Some(value)) =
                (password, header.strip_prefix("Authorization: Basic "))
            {
                let decoded = decode_base64(value.trim());
                authorized = decoded.rsplit_once(':').is_some_and(|(_, p)| p == password);
            }
        }
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

/// Runs `harness verify SOURCE` with a private cache and corpus.
fn verify(dir: &Path, source: &str, env: &[(&str, &str)]) -> Output {
    std::fs::create_dir_all(dir.join("corpus")).unwrap();
    std::fs::write(
        dir.join("corpus/events.jsonl"),
        format!("{}\n", common::event("e", 1)),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_harness"));
    command
        .args(["verify", "--accept", "--out", "reports", source])
        .current_dir(dir)
        .env("HARNESS_CACHE_DIR", dir.join("cache/components"))
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITLAB_TOKEN");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
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
    let output = verify(dir.path(), &format!("{}#v1", server.url()), &[]);
    let text = all_output(dir.path(), &output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("from-git 0.1.0"), "{text}");
    // Fetching again (the checkout is cached) works too.
    let again = verify(dir.path(), &format!("{}#v1", server.url()), &[]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        all_output(dir.path(), &again)
    );
}

#[test]
fn a_private_repository_needs_the_token_and_the_token_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let bare = plugin_repository(dir.path());
    let server = GitServer::start(bare, Some(TOKEN));

    let refused = verify(dir.path(), &server.url(), &[]);
    let text = all_output(dir.path(), &refused);
    assert_eq!(refused.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("error: {}: git clone failed", server.url())),
        "{text}"
    );

    let with_token = format!("{}?private_token={TOKEN}#v1", server.url());
    let output = verify(dir.path(), &with_token, &[]);
    let text = all_output(dir.path(), &output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(!text.contains(TOKEN), "the token leaked: {text}");
    assert!(
        !text.contains("TESTTOKEN"),
        "part of the token leaked: {text}"
    );

    let wrong = format!("{}?private_token=glpat-WRONG-987654321#v1", server.url());
    let dir2 = tempfile::tempdir().unwrap();
    let refused = verify(dir2.path(), &wrong, &[]);
    let text = all_output(dir2.path(), &refused);
    assert_eq!(refused.status.code(), Some(2), "{text}");
    assert!(
        !text.contains("WRONG-987654321"),
        "the token leaked: {text}"
    );
}
