//! npm sources against a registry served on loopback by the test: the token goes to the
//! registry's host only, the tarball must match its integrity digest, and what was unpacked
//! is verified like a local plugin.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::common::{Workspace, built_component, fixture_dir, stderr, two_events};
use crate::loopback::{Answer, TlsServer};

const TOKEN: &str = "npm_registrytokenregistrytoken";

/// The fetcher fixture packed as npm packs a package: `package/plugin.json`, `package/plugin.wasm`.
fn package_tarball() -> Vec<u8> {
    let fixture = fixture_dir("fetcher");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("plugin.json")).unwrap())
            .unwrap();
    manifest["main"] = json!("plugin.wasm");
    let wasm = std::fs::read(built_component(&fixture)).unwrap();
    tarball(&[
        ("plugin.json", Some(manifest.to_string().as_bytes())),
        ("plugin.wasm", Some(&wasm)),
    ])
}

/// A gzipped npm tarball of `files` under `package/`, as npm packs a package; a `None`
/// contents is a symlink (to `/etc/passwd`).
pub fn tarball(files: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        match contents {
            Some(bytes) => {
                header.set_size(bytes.len() as u64);
                builder
                    .append_data(&mut header, format!("package/{path}"), *bytes)
                    .unwrap();
            }
            None => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder
                    .append_link(&mut header, format!("package/{path}"), "/etc/passwd")
                    .unwrap();
            }
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &builder.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

pub fn integrity(bytes: &[u8]) -> String {
    let digest = Sha512::digest(bytes);
    format!(
        "sha512-{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, digest)
    )
}

/// A registry holding `fetcher@0.1.0` (tarball on the registry), `moved@0.1.0` (tarball on
/// another host: 127.0.0.1 rather than localhost) and `tampered@0.1.0` (an integrity digest
/// that is not its tarball's).
fn registry() -> TlsServer {
    let tarball = package_tarball();
    TlsServer::start(move |path, port| {
        let packument = |name: &str, host: &str, integrity: String| {
            let version = json!({
                "name": name,
                "version": "0.1.0",
                "dist": {
                    "integrity": integrity,
                    "tarball": format!("https://{host}:{port}/{name}/-/{name}-0.1.0.tgz"),
                },
            });
            Answer::ok(
                json!({"name": name, "dist-tags": {"latest": "0.1.0"}, "versions": {"0.1.0": version}})
                    .to_string()
                    .into_bytes(),
            )
        };
        match path {
            "/fetcher" => packument("fetcher", "localhost", integrity(&tarball)),
            "/moved" => packument("moved", "127.0.0.1", integrity(&tarball)),
            "/tampered" => packument("tampered", "localhost", integrity(b"something else")),
            p if p.ends_with(".tgz") => Answer::ok(tarball.clone()),
            _ => Answer::not_found(),
        }
    })
}

/// Points `command` at `server` as the npm registry (its certificate trusted) with `token`.
pub fn use_registry<'a>(
    command: &'a mut std::process::Command,
    server: &TlsServer,
    token: &str,
) -> &'a mut std::process::Command {
    command
        .env(
            "NPM_CONFIG_REGISTRY",
            format!("https://localhost:{}/", server.port),
        )
        .env("NPM_CONFIG_CAFILE", server.ca())
        .env("NPM_TOKEN", token)
}

fn verify_npm(ws: &Workspace, server: &TlsServer, spec: &str) -> Output {
    use_registry(
        &mut std::process::Command::new(env!("CARGO_BIN_EXE_harness")),
        server,
        TOKEN,
    )
    .args(["verify", spec])
    .current_dir(ws.path())
    .env_remove("CI")
    .env("HARNESS_CACHE_DIR", ws.path().join("cache/components"))
    .output()
    .unwrap()
}

fn authorized(server: &TlsServer, path_start: &str) -> Vec<bool> {
    server
        .received()
        .iter()
        .filter(|r| r.path.starts_with(path_start))
        .map(|r| {
            r.head
                .to_ascii_lowercase()
                .contains(&format!("authorization: bearer {TOKEN}"))
        })
        .collect()
}

#[test]
fn an_npm_package_is_fetched_checked_and_verified_with_the_token_on_the_registry_only() {
    let server = registry();
    let ws = Workspace::new(&two_events());
    let output = verify_npm(&ws, &server, "npm:fetcher@0.1.0");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "a verdict, not a harness error: {}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("fetcher"), "{}", stderr(&output));
    // The packument and the tarball, both on the registry: the token went with each.
    assert_eq!(authorized(&server, "/fetcher"), vec![true, true]);
    assert!(!stderr(&output).contains(TOKEN));

    // A tarball on another host is fetched without the token.
    let moved = verify_npm(&ws, &server, "npm:moved");
    assert!(
        matches!(moved.status.code(), Some(0 | 1)),
        "{}",
        stderr(&moved)
    );
    assert_eq!(authorized(&server, "/moved"), vec![true, false]);
}

#[test]
fn a_tarball_that_does_not_match_its_integrity_is_refused_and_not_unpacked() {
    let server = registry();
    let ws = Workspace::new(&two_events());
    let output = verify_npm(&ws, &server, "npm:tampered@0.1.0");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("npm:tampered@0.1.0: the tarball does not match its integrity digest"),
        "{}",
        stderr(&output)
    );
    let npm_cache = ws.path().join("cache/npm");
    let unpacked = std::fs::read_dir(&npm_cache)
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert_eq!(unpacked, 0, "nothing left in {}", npm_cache.display());
    assert!(!Path::new(&npm_cache).join("tampered-0.1.0").exists());
}
