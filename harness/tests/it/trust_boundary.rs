//! The gate's trust boundary, attack by attack (issue #12): everything a plugin author
//! controls (manifest, sources, crates, component) tried as a hostile author would, through
//! the `harness` binary or the library. Token scoping is in `sources`.

use crate::common::{Workspace, harness, stderr, two_events};

use std::path::Path;

use serde_json::{Value, json};

/// `plugins/<name>/plugin.json` in `ws` rewritten by `change`.
fn edit_manifest(ws: &Workspace, name: &str, change: impl FnOnce(&mut Value)) {
    let path = ws.path().join("plugins").join(name).join("plugin.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    change(&mut manifest);
    std::fs::write(&path, manifest.to_string()).unwrap();
}

fn run_events(ws: &Workspace, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "--input", "corpus/events.jsonl"];
    args.extend_from_slice(extra);
    harness(&args, ws.path())
}

#[test]
fn a_manifest_loosened_after_approval_does_not_run() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    let approved = harness(&["verify", "--accept", "--approve"], ws.path());
    assert_eq!(approved.status.code(), Some(0), "{}", stderr(&approved));
    let lock = std::fs::read_to_string(ws.path().join("plugins/library.lock")).unwrap();
    assert!(lock.contains("manifest_sha256"), "{lock}");
    assert!(
        lock.contains("corpusSha256"),
        "the lock records the verification: {lock}"
    );
    // As approved, it runs.
    let ran = run_events(&ws, &["plugins/good"]);
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));

    // The attack: more memory, more fuel and every host, with the component untouched.
    edit_manifest(&ws, "good", |m| {
        m["limits"] = json!({"memoryMiB": 512, "fuelPerEvent": 500_000_000u64});
    });
    let refused = run_events(&ws, &["plugins/good"]);
    assert_eq!(refused.status.code(), Some(2));
    let text = stderr(&refused);
    assert!(
        text.contains("the manifest of `good` changed since it was approved"),
        "{text}"
    );
    assert!(
        text.contains("memory 64 MiB approved, 512 MiB now"),
        "{text}"
    );
    assert!(refused.stdout.is_empty(), "no event ran");

    // The near miss: only the description changed, which changes no behaviour.
    edit_manifest(&ws, "good", |m| {
        m.as_object_mut().unwrap().remove("limits");
        m["description"] = json!("reworded");
    });
    let ran = run_events(&ws, &["plugins/good"]);
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
}

#[test]
fn approve_and_run_agree_on_where_the_lock_is() {
    // A plugin outside the library: `--approve` records it in the library's lock, and `run`
    // finds it there (before, `run` looked beside the plugin's own directory).
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    let outside = ws.path().join("elsewhere");
    std::fs::rename(ws.path().join("plugins/good"), &outside).unwrap();
    let approved = harness(&["verify", "--accept", "--approve", "elsewhere"], ws.path());
    assert_eq!(approved.status.code(), Some(0), "{}", stderr(&approved));
    assert!(ws.path().join("plugins/library.lock").is_file());
    assert!(!ws.path().join("library.lock").exists());
    let ran = run_events(&ws, &["elsewhere"]);
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
}

/// `main` values that point out of the plugin directory or at something that is not a file:
/// each rejected quickly by a named rule, and verify goes on with the other plugins.
#[test]
fn main_pointing_anywhere_is_rejected_with_a_rule() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    let fifo = ws.path().join("plugins/fifo-main");
    std::fs::create_dir_all(&fifo).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(fifo.join("plugin.wasm"))
        .status()
        .unwrap();
    assert!(made.success());
    let secret = ws.path().join("outside.wasm");
    std::fs::copy(ws.path().join("plugins/good/plugin.wasm"), &secret).unwrap();
    let link = ws.path().join("plugins/link-main");
    std::fs::create_dir_all(&link).unwrap();
    std::os::unix::fs::symlink(&secret, link.join("plugin.wasm")).unwrap();
    let cases: [(&str, &str, &str); 5] = [
        ("dev-zero", "/dev/zero", "manifest/main"),
        ("absolute", secret.to_str().unwrap(), "manifest/main"),
        ("dot-dot", "../../outside.wasm", "manifest/main"),
        ("fifo-main", "plugin.wasm", "manifest/main"),
        ("link-main", "plugin.wasm", "manifest/main"),
    ];
    for (name, main, _) in &cases {
        let dir = ws.path().join("plugins").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("plugin.json"),
            json!({"name": name, "version": "0.1.0", "main": main}).to_string(),
        )
        .unwrap();
    }
    let started = std::time::Instant::now();
    let output = harness(&["verify", "--accept", "--json"], ws.path());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "verify hung"
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    for (name, _, rule) in cases {
        let verdict = report["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["plugin"] == name)
            .unwrap_or_else(|| panic!("no verdict for {name}"));
        assert_eq!(verdict["approved"], false, "{name}");
        let rules: Vec<&str> = verdict["stages"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(rules.contains(&rule), "{name}: {rules:?}");
    }
    // The near miss: the good plugin, whose `main` is inside its directory, is approved.
    let good = report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["plugin"] == "good")
        .unwrap();
    assert_eq!(good["approved"], true);
}

#[test]
fn a_name_that_is_not_kebab_case_never_reaches_a_log_line() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("crafted", json!({"mode": "pass"}));
    let injected = "x\n::error title=pwned::owned\n\u{1b}[31m";
    edit_manifest(&ws, "crafted", |m| m["name"] = json!(injected));
    let output = harness(&["verify", "--accept"], ws.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("manifest/schema"), "{text}");
    assert!(
        !text
            .lines()
            .any(|line| line.starts_with("::error title=pwned")),
        "a workflow command on its own line: {text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "an escape sequence reached stderr"
    );
    let markdown = std::fs::read_to_string(ws.path().join("target/harness/report.md")).unwrap();
    assert!(
        !markdown.lines().any(|line| line.starts_with("::error")),
        "{markdown}"
    );
}

#[test]
fn two_plugins_with_one_name_are_a_harness_error() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("twin-a", json!({"mode": "pass"}));
    ws.add_misbehaving("twin-b", json!({"mode": "pass"}));
    edit_manifest(&ws, "twin-b", |m| m["name"] = json!("twin-a"));
    let output = harness(&["verify", "--accept", "--approve"], ws.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("a second plugin named `twin-a`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn output_that_cannot_be_written_is_exit_2_never_a_silent_0() {
    let ws = Workspace::new(&two_events());
    ws.add_misbehaving("good", json!({"mode": "pass"}));
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["verify", "--accept", "--json"])
        .current_dir(ws.path())
        .env_remove("CI")
        .stdout(full())
        .output()
        .unwrap();
    assert_eq!(
        verify.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stderr).contains("writing to stdout"));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "run",
            "--allow-unapproved",
            "--input",
            "corpus/events.jsonl",
            "plugins/good",
        ])
        .current_dir(ws.path())
        .stdout(full())
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The near miss: the same run to a writable stdout exits 0.
    let ok = run_events(&ws, &["--allow-unapproved", "plugins/good"]);
    assert_eq!(ok.status.code(), Some(0));
}

/// A crate plugin whose build script writes a marker file, records the environment it sees,
/// and fails the build if it can see a token or reach `port` on loopback; it depends on
/// nothing but std (so it builds offline).
fn hostile_crate(dir: &Path, marker: &Path, env_dump: &Path, port: u16) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"hostile-build\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\n[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    std::fs::write(
        dir.join("build.rs"),
        format!(
            "fn main() {{\n    let _ = std::fs::write({marker:?}, \"ran\");\n    let vars: Vec<String> = std::env::vars().map(|(k, v)| format!(\"{{k}}={{v}}\")).collect();\n    let _ = std::fs::write({env_dump:?}, vars.join(\"\\n\"));\n    for key in [\"GITHUB_TOKEN\", \"GITLAB_TOKEN\"] {{\n        if std::env::var(key).is_ok() {{ panic!(\"TOKEN VISIBLE: {{key}}\"); }}\n    }}\n    if std::net::TcpStream::connect((\"127.0.0.1\", {port})).is_ok() {{ panic!(\"NETWORK VISIBLE\"); }}\n    if std::fs::read_dir(\"/root/.ssh\").is_ok() || std::fs::metadata(\"/etc/shadow\").is_ok() {{ panic!(\"HOST FILES VISIBLE\"); }}\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("plugin.json"),
        json!({"name": "hostile-build", "version": "0.1.0"}).to_string(),
    )
    .unwrap();
    let lock = std::process::Command::new(env!("CARGO"))
        .args(["generate-lockfile", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(lock.status.success(), "{lock:?}");
}

#[test]
fn a_build_script_outside_the_allow_list_never_runs_before_a_verdict() {
    let ws = Workspace::new(&two_events());
    let marker = ws.path().join("marker");
    let env_dump = ws.path().join("env");
    hostile_crate(
        &ws.path().join("plugins/hostile-build"),
        &marker,
        &env_dump,
        9,
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["verify", "--accept", "--json"])
        .current_dir(ws.path())
        .env_remove("CI")
        .env("GITHUB_TOKEN", "ghp_secret_token_value")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = &report["verdicts"][0]["stages"][0]["findings"];
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "source/build-script"),
        "{findings}"
    );
    assert!(!marker.exists(), "the build script ran before the verdict");
}

#[test]
fn an_allowed_build_script_runs_sandboxed_without_tokens_or_network() {
    if !harness::cargo_build::sandbox_available() {
        // Without bubblewrap the build must be refused unless trusted.
        let ws = Workspace::new(&two_events());
        let marker = ws.path().join("marker");
        hostile_crate(
            &ws.path().join("plugins/hostile-build"),
            &marker,
            &ws.path().join("env"),
            9,
        );
        let output = harness(
            &["verify", "--accept", "--allow-build-code", "hostile-build"],
            ws.path(),
        );
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr(&output).contains("load/unsandboxed"),
            "{}",
            stderr(&output)
        );
        assert!(!marker.exists());
        return;
    }
    let ws = Workspace::new(&two_events());
    let marker = ws.path().join("marker");
    let env_dump = ws.path().join("env");
    // A server on the host's loopback: the build script must not reach it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    hostile_crate(
        &ws.path().join("plugins/hostile-build"),
        &marker,
        &env_dump,
        port,
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["verify", "--accept", "--allow-build-code", "hostile-build"])
        .current_dir(ws.path())
        .env_remove("CI")
        .env("GITHUB_TOKEN", "ghp_secret_token_value")
        .env("GITLAB_TOKEN", "glpat_secret_token_value")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    // The build script ran in the sandbox: the workspace is read-only there, so its marker
    // and its view of the environment never reached the host's file system.
    assert!(
        !marker.exists(),
        "the sandboxed build wrote outside its target directory: {text}"
    );
    assert!(!env_dump.exists(), "{text}");
    assert!(!text.contains("ghp_secret_token_value"), "{text}");
    for leak in ["TOKEN VISIBLE", "NETWORK VISIBLE", "HOST FILES VISIBLE"] {
        assert!(!text.contains(leak), "{leak}: {text}");
    }
    // The build itself succeeded (the crate exports nothing, which a later rule rejects).
    assert!(!text.contains("load/build"), "{text}");
    assert!(text.contains("contract/missing-export"), "{text}");
    drop(listener);
}
