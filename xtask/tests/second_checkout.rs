//! xtask finds the workspace at run time: run from a second checkout (here, a bare workspace
//! in a temporary directory) with the same binary, `cargo xtask new` writes into that
//! checkout, never into the one the binary was built from.

use std::path::Path;
use std::process::Command;

#[test]
fn new_writes_into_the_checkout_it_runs_in() {
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("Cargo.toml"),
        "[workspace]\nmembers = []\nresolver = \"3\"\n",
    )
    .unwrap();
    std::fs::create_dir(other.path().join("plugins")).unwrap();
    let name = format!("second-checkout-{}", std::process::id());
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["new", &name])
        .current_dir(other.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        other
            .path()
            .join("plugins")
            .join(&name)
            .join("plugin.json")
            .is_file()
    );
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins")
        .join(&name);
    assert!(!built_in.exists(), "wrote into {}", built_in.display());
}

#[test]
fn new_refuses_a_name_the_workspace_already_uses() {
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("Cargo.toml"),
        "[workspace]\nmembers = []\nresolver = \"3\"\n",
    )
    .unwrap();
    let plugin = other.path().join("plugins/existing");
    std::fs::create_dir_all(&plugin).unwrap();
    std::fs::write(plugin.join("plugin.json"), r#"{"name": "taken-name"}"#).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["new", "taken-name"])
        .current_dir(other.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already a package or plugin"), "{stderr}");
    assert!(!other.path().join("plugins/taken-name").exists());
}
