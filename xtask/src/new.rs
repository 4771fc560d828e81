//! `cargo xtask new NAME [--kind transform|export|batch-export|scheduled]`: a new plugin under `plugins/NAME/` from
//! the templates in `xtask/templates/`: Cargo.toml, plugin.json (version 0.1.0), src/lib.rs
//! using the SDK with a unit test, and an empty `snapshots/` that the first
//! `cargo xtask verify --accept plugins/NAME` fills.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use harness::manifest::is_plugin_name;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Changes events (`process-event`, the SDK's `transform!`).
    Transform,
    /// Sees every final event, to send it somewhere (`on-event`, the SDK's `export!`).
    Export,
    /// Gets final events in buffered batches, with retries (`export-events`, the SDK's
    /// `batch_export!`; PostHog's `exportEvents`).
    BatchExport,
    /// A transform with an hourly scheduled task (`run-every-hour`, the SDK's `scheduled!`;
    /// PostHog's `runEveryHour`).
    Scheduled,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name, in kebab-case (`my-plugin`): its directory, crate and manifest name.
    pub name: String,
    /// What the plugin does with events.
    #[arg(long, value_enum, default_value_t = Kind::Transform)]
    pub kind: Kind,
}

const CARGO_TOML: &str = include_str!("../templates/Cargo.toml.tmpl");
const PLUGIN_JSON: &str = include_str!("../templates/plugin.json.tmpl");
const TRANSFORM_RS: &str = include_str!("../templates/transform.rs.tmpl");
const EXPORT_RS: &str = include_str!("../templates/export.rs.tmpl");
const BATCH_EXPORT_RS: &str = include_str!("../templates/batch-export.rs.tmpl");
const SCHEDULED_RS: &str = include_str!("../templates/scheduled.rs.tmpl");

/// `my-plugin` → `MyPlugin`.
fn type_name(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn render(template: &str, name: &str, kind: Kind) -> String {
    let description = match kind {
        Kind::Transform => format!("TODO: what {name} does to events."),
        Kind::Export | Kind::BatchExport => format!("TODO: where {name} sends events."),
        Kind::Scheduled => format!("TODO: what {name} does every hour."),
    };
    let extra = match kind {
        // A pass-through transform gives the same event when applied twice; the property
        // stage checks the declaration.
        Kind::Transform | Kind::Scheduled => ",\n  \"idempotent\": true",
        Kind::Export | Kind::BatchExport => "",
    };
    template
        .replace("{{name}}", name)
        .replace("{{type_name}}", &type_name(name))
        .replace("{{description}}", &description)
        .replace("{{extra}}", extra)
        .replace(
            "{{sdk_features}}",
            match kind {
                Kind::BatchExport => " = { workspace = true, features = [\"batch-export\"] }",
                Kind::Transform | Kind::Export | Kind::Scheduled => ".workspace = true",
            },
        )
}

/// Writes the new plugin into `plugins_dir/NAME`; refuses a name that is not kebab-case, a
/// name in `taken` (the workspace's packages and plugins) and a directory that exists.
/// Returns the plugin's directory.
pub fn scaffold(
    plugins_dir: &Path,
    name: &str,
    kind: Kind,
    taken: &[String],
) -> anyhow::Result<PathBuf> {
    if !is_plugin_name(name) {
        bail!("`{name}` is not a kebab-case name (like `my-plugin`, at most 64 characters)");
    }
    if taken.iter().any(|t| t == name) {
        bail!("`{name}` is already a package or plugin of this workspace; pick another name");
    }
    let dir = plugins_dir.join(name);
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    let lib = match kind {
        Kind::Transform => TRANSFORM_RS,
        Kind::Export => EXPORT_RS,
        Kind::BatchExport => BATCH_EXPORT_RS,
        Kind::Scheduled => SCHEDULED_RS,
    };
    std::fs::create_dir_all(dir.join("src"))
        .and_then(|()| std::fs::create_dir_all(dir.join("snapshots")))
        .with_context(|| format!("creating {}", dir.display()))?;
    for (file, template) in [
        ("Cargo.toml", CARGO_TOML),
        ("plugin.json", PLUGIN_JSON),
        ("src/lib.rs", lib),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, render(template, name, kind))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir)
}

/// The names a new plugin may not take: every package of the workspace at `root` (from
/// `cargo metadata`) and every plugin manifest's name under `plugins/`.
pub fn taken_names(root: &Path) -> anyhow::Result<Vec<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let mut names: Vec<String> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    if let Ok(entries) = std::fs::read_dir(root.join("plugins")) {
        for entry in entries.flatten() {
            let manifest = entry.path().join("plugin.json");
            if let Ok(text) = std::fs::read_to_string(&manifest)
                && let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
                && let Some(name) = value["name"].as_str()
            {
                names.push(name.to_owned());
            }
        }
    }
    Ok(names)
}

/// `cargo xtask new`.
pub fn run(root: &Path, args: &NewArgs) -> anyhow::Result<()> {
    let taken = taken_names(root)?;
    let dir = scaffold(&root.join("plugins"), &args.name, args.kind, &taken)?;
    let shown = dir.strip_prefix(root).unwrap_or(&dir).display().to_string();
    eprintln!(
        "created {shown}\nnext: cargo xtask verify --accept {shown} (records its snapshots), then \
         add it to plugins/pipeline.toml if it belongs in the library's pipeline"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!("xtask-new-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn names_must_be_kebab_case() {
        for good in ["demo", "my-plugin", "geo-ip2"] {
            assert!(is_plugin_name(good), "{good}");
        }
        for bad in [
            "",
            "Demo",
            "my_plugin",
            "-demo",
            "demo-",
            "my--plugin",
            "2fa",
            "a b",
        ] {
            assert!(!is_plugin_name(bad), "{bad:?}");
        }
        assert_eq!(type_name("my-plugin2"), "MyPlugin2");
    }

    #[test]
    fn a_transform_is_rendered_with_manifest_crate_and_empty_snapshots() {
        let temp = TempDir::new("transform");
        let dir = scaffold(&temp.0, "my-plugin", Kind::Transform, &[]).unwrap();
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("plugin.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["name"], "my-plugin");
        assert_eq!(manifest["version"], "0.1.0");
        assert_eq!(manifest["idempotent"], true);
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"my-plugin\""), "{cargo}");
        assert!(
            cargo.contains("posthog-plugin-sdk.workspace = true"),
            "{cargo}"
        );
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(
            lib.contains("posthog_plugin_sdk::transform!(MyPlugin);"),
            "{lib}"
        );
        assert!(lib.contains("#[test]"), "{lib}");
        assert!(!lib.contains("{{"), "{lib}");
        let snapshots: Vec<_> = std::fs::read_dir(dir.join("snapshots")).unwrap().collect();
        assert!(snapshots.is_empty());
    }

    #[test]
    fn an_export_uses_the_export_macro() {
        let temp = TempDir::new("export");
        let dir = scaffold(&temp.0, "sink", Kind::Export, &[]).unwrap();
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("posthog_plugin_sdk::export!(Sink);"), "{lib}");
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("plugin.json")).unwrap())
                .unwrap();
        assert!(manifest.get("idempotent").is_none());
    }

    #[test]
    fn a_scheduled_plugin_exports_its_hourly_task() {
        let temp = TempDir::new("scheduled");
        let dir = scaffold(&temp.0, "hourly-sync", Kind::Scheduled, &[]).unwrap();
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(
            lib.contains("posthog_plugin_sdk::scheduled!(HourlySync, run_every_hour);"),
            "{lib}"
        );
        assert!(lib.contains("impl Scheduled for HourlySync"), "{lib}");
        assert!(!lib.contains("{{"), "{lib}");
    }

    #[test]
    fn a_batch_export_uses_the_batch_export_macro() {
        let temp = TempDir::new("batch-export");
        let dir = scaffold(&temp.0, "warehouse", Kind::BatchExport, &[]).unwrap();
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(
            lib.contains("posthog_plugin_sdk::batch_export!(Warehouse);"),
            "{lib}"
        );
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("features = [\"batch-export\"]"), "{cargo}");
        assert!(!lib.contains("{{"), "{lib}");
    }

    #[test]
    fn an_existing_directory_or_a_bad_name_is_refused() {
        let temp = TempDir::new("refuse");
        std::fs::create_dir_all(temp.0.join("taken")).unwrap();
        let err = scaffold(&temp.0, "taken", Kind::Transform, &[]).unwrap_err();
        assert!(err.to_string().contains("exists already"), "{err}");
        let err = scaffold(&temp.0, "Not_Kebab", Kind::Transform, &[]).unwrap_err();
        assert!(err.to_string().contains("kebab-case"), "{err}");
        assert!(!temp.0.join("Not_Kebab").exists());
        let err = scaffold(&temp.0, "harness", Kind::Transform, &["harness".into()]).unwrap_err();
        assert!(err.to_string().contains("already a package"), "{err}");
        assert!(!temp.0.join("harness").exists());
        assert!(!is_plugin_name(&"a".repeat(65)));
    }
}
