//! A JavaScript plugin's npm dependencies (`js_deps`) against a registry served on loopback by
//! the test: what the plugin's package-lock.json pins is fetched from the registry (with the
//! token, there only), checked against its SHA-512 and bundled; nothing of it runs; and a
//! `node_modules` the author left in the plugin directory is not what gets bundled. Each way a
//! lock could make the harness fetch elsewhere, or take something unchecked, is refused.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::common::{self, Workspace, stderr, two_events};
use crate::loopback::{Answer, TlsServer};
use crate::npm::{integrity, tarball, use_registry};

const TOKEN: &str = "npm_dependencytokendependencytoken";

/// left-pad as published, plus an install script that would leave `marker` if anything ran it.
fn left_pad(marker: &Path) -> Vec<u8> {
    let manifest = json!({
        "name": "left-pad",
        "version": "1.3.0",
        "main": "index.js",
        "scripts": {"preinstall": format!("touch {}", marker.display()), "install": format!("touch {}", marker.display())},
    })
    .to_string();
    tarball(&[
        ("package.json", Some(manifest.as_bytes())),
        (
            "index.js",
            Some(
                b"module.exports = function leftPad(s, n, c) { s = String(s); while (s.length < n) s = c + s; return s }\n",
            ),
        ),
    ])
}

/// The registry: every `.tgz` path answers `tarball`.
fn registry(tarball: Vec<u8>) -> TlsServer {
    TlsServer::start(move |path, _| {
        if path.ends_with(".tgz") {
            Answer::ok(tarball.clone())
        } else {
            Answer::not_found()
        }
    })
}

/// A PostHog-style plugin that imports left-pad, with `package.json`, the lock `packages`
/// (none: no lock), and a `node_modules/left-pad` of the author's own that must not be bundled.
fn plugin(packages: Option<Value>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| common::write_file(dir.path(), path, text);
    write(
        "plugin.json",
        &json!({"name": "padded", "version": "0.1.0"}).to_string(),
    );
    write(
        "package.json",
        &json!({"name": "padded", "version": "0.1.0", "dependencies": {"left-pad": "1.3.0"}, "devDependencies": {"typescript": "5.0.0"}}).to_string(),
    );
    if let Some(packages) = packages {
        write(
            "package-lock.json",
            &json!({"name": "padded", "lockfileVersion": 3, "packages": packages}).to_string(),
        );
    }
    write(
        "index.js",
        "import leftPad from 'left-pad'\nexport function processEvent(event) {\n  event.properties = { ...event.properties, padded: leftPad('7', 3, '0') }\n  return event\n}\n",
    );
    write(
        "node_modules/left-pad/package.json",
        &json!({"name": "left-pad", "version": "1.3.0", "main": "index.js"}).to_string(),
    );
    write(
        "node_modules/left-pad/index.js",
        "module.exports = function () { return 'HIJACKED' }\n",
    );
    dir
}

/// The lock's packages: left-pad `resolved` at `url` with `integrity`, and a development-only
/// package (never fetched: nothing serves it).
fn packages(url: &str, integrity: &str) -> Value {
    json!({
        "": {"name": "padded", "dependencies": {"left-pad": "1.3.0"}, "devDependencies": {"typescript": "5.0.0"}},
        "node_modules/left-pad": {"version": "1.3.0", "resolved": url, "integrity": integrity},
        "node_modules/typescript": {"version": "5.0.0", "dev": true, "resolved": "https://registry.npmjs.org/typescript/-/typescript-5.0.0.tgz", "integrity": integrity},
    })
}

/// `harness verify PLUGIN` with the registry configured, the token set, and a cache of the
/// workspace's own (so that no tarball comes from an earlier run's cache).
fn verify(ws: &Workspace, server: &TlsServer, plugin: &Path) -> Output {
    use_registry(
        &mut std::process::Command::new(env!("CARGO_BIN_EXE_harness")),
        server,
        TOKEN,
    )
    .arg("verify")
    .arg(plugin)
    .current_dir(ws.path())
    .env_remove("CI")
    .env("HARNESS_CACHE_DIR", ws.path().join("cache"))
    .output()
    .unwrap()
}

#[test]
fn locked_dependencies_are_fetched_checked_and_bundled_and_nothing_of_them_runs() {
    let ws = Workspace::new(&two_events());
    let marker = ws.path().join("install-script-ran");
    let tarball = left_pad(&marker);
    let server = registry(tarball.clone());
    // The lock names the public registry, as npm writes it: fetched from the configured one.
    let dir = plugin(Some(packages(
        "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
        &integrity(&tarball),
    )));
    let event = common::run_event(dir.path(), &common::event("padded", 1), |command| {
        use_registry(command, &server, TOKEN).arg("--deterministic");
    });
    assert_eq!(
        event["properties"]["padded"], "007",
        "the locked left-pad, not the plugin directory's own: {event}"
    );
    assert!(!marker.exists(), "an install script ran");
    let received = server.received();
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/left-pad/-/left-pad-1.3.0.tgz"],
        "only the production package, from the registry"
    );
    assert!(
        received[0]
            .head
            .to_ascii_lowercase()
            .contains(&format!("authorization: bearer {TOKEN}")),
        "the registry gets the token"
    );
}

/// What a lock (or a package) might make the harness do, and the finding that refuses it; no
/// refused tarball is requested anywhere.
#[test]
fn what_a_lock_may_not_make_the_harness_do() {
    let ws = Workspace::new(&two_events());
    let good = left_pad(&ws.path().join("marker"));
    let linked = tarball(&[
        (
            "package.json",
            Some(br#"{"name":"left-pad","version":"1.3.0"}"#),
        ),
        ("index.js", None),
    ]);
    let server = registry(linked.clone());
    let on_registry = format!(
        "https://localhost:{}/left-pad/-/left-pad-1.3.0.tgz",
        server.port
    );
    let elsewhere = format!("https://127.0.0.1:{}/left-pad-1.3.0.tgz", server.port);
    let cases: Vec<(&str, Option<Value>, &str, bool)> = vec![
        (
            "a tarball that is not the locked one",
            Some(packages(&on_registry, &integrity(&good))),
            "does not match its integrity digest",
            true,
        ),
        (
            "a tarball on a host of the author's choosing",
            Some(packages(&elsewhere, &integrity(&linked))),
            "another host; only the registry",
            false,
        ),
        (
            "a tarball over plain http",
            Some(packages(
                "http://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
                &integrity(&linked),
            )),
            "not https",
            false,
        ),
        (
            "a package holding a symlink",
            Some(packages(&on_registry, &integrity(&linked))),
            "is a link",
            true,
        ),
        (
            "a dependency the lock does not pin",
            Some(json!({"": {}})),
            "`left-pad` of package.json is not in it",
            false,
        ),
        (
            "dependencies and no lock",
            None,
            "there is no package-lock.json",
            false,
        ),
    ];
    let mut requests = 0;
    for (what, packages, expected, fetched) in cases {
        let dir = plugin(packages);
        let output = verify(&ws, &server, dir.path());
        let report = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{what}: {report}");
        assert!(!report.contains(TOKEN), "{what}: the token in the report");
        assert!(
            report.contains("load/js-build") && report.contains(expected),
            "{what}: {report}"
        );
        if fetched {
            requests += 1;
        }
        assert_eq!(
            server.received().len(),
            requests,
            "{what}: only tarballs on the registry are requested"
        );
    }
}
