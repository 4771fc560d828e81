//! `cargo xtask corpus record`: records what posthog-js (in headless Chromium) and posthog-node
//! send, and writes it as corpus events to `corpus/recorded/`.
//!
//! The recording is done by `corpus/recorder/record.js` (its packages pinned by the committed
//! `package-lock.json`, installed here with `npm ci` on first use); the conversion of the raw
//! requests into plugin events is the harness's (`harness::corpus_record`). Needs node 20 or
//! later, npm, and a Chromium (`--chromium`, default `/usr/bin/chromium`); a missing one is
//! a one-line error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde_json::Value;

/// The SDKs recorded, as the recorder names them (in its output, its requests files and ours).
const SDKS: [&str; 2] = ["posthog-js", "posthog-node"];

/// The oldest node the recorder's packages run on.
const NODE_MAJOR: u32 = 20;

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The Chromium (or Chrome) that puppeteer-core drives, headless.
    #[arg(long, default_value = "/usr/bin/chromium")]
    pub chromium: PathBuf,
    /// Where the recorded files go (default: the workspace's `corpus/recorded/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Keep the raw requests the SDKs sent (`<sdk>.requests.jsonl`) in this directory.
    #[arg(long)]
    pub raw: Option<PathBuf>,
    /// The project (team) id of the recorded events.
    #[arg(long, default_value_t = 1)]
    pub team_id: i64,
}

/// Runs `program --version`, and returns what it printed: the check that a tool is there,
/// as a one-line error naming it when it is not.
pub fn tool_version(program: &str, why: &str) -> anyhow::Result<String> {
    let output = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow::anyhow!("`{program}` could not be run ({e}): {why}"))?;
    if !output.status.success() {
        bail!("`{program} --version` failed ({}): {why}", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The major version of a `node --version` answer (`v20.20.2`).
pub fn node_major(version: &str) -> Option<u32> {
    version.strip_prefix('v')?.split('.').next()?.parse().ok()
}

fn run_visibly(command: &mut Command, what: &str) -> anyhow::Result<()> {
    eprintln!("setting up: {what}");
    let status = command
        .status()
        .with_context(|| format!("could not run {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

pub fn run(root: &Path, args: &RecordArgs) -> anyhow::Result<()> {
    let recorder = root.join("corpus/recorder");
    let node = tool_version(
        "node",
        "`corpus record` runs posthog-node and posthog-js with node 20 or later",
    )?;
    match node_major(&node) {
        Some(major) if major >= NODE_MAJOR => {}
        _ => bail!("node {node} is too old: `corpus record` needs node {NODE_MAJOR} or later"),
    }
    if !args.chromium.is_file() {
        bail!(
            "{}: no Chromium there (`corpus record` drives one, headless; install Debian's `chromium` or pass --chromium PATH)",
            args.chromium.display()
        );
    }
    if !recorder.join("node_modules/.package-lock.json").is_file() {
        tool_version("npm", "`corpus record` installs its packages with npm")?;
        run_visibly(
            Command::new("npm")
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(&recorder),
            "npm ci in corpus/recorder (posthog-js, posthog-node, puppeteer-core, as package-lock.json pins them)",
        )?;
    }
    let temporary;
    let raw = match &args.raw {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
            dir.clone()
        }
        None => {
            temporary = tempfile::tempdir().context("a temporary directory")?;
            temporary.path().to_owned()
        }
    };
    eprintln!(
        "recording: posthog-js in {} and posthog-node ({node}), against a capture endpoint on 127.0.0.1",
        args.chromium.display()
    );
    let output = Command::new("node")
        .arg(recorder.join("record.js"))
        .arg("--out")
        .arg(&raw)
        .arg("--chromium")
        .arg(&args.chromium)
        .current_dir(&recorder)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("could not run node")?;
    if !output.status.success() {
        bail!("corpus/recorder/record.js failed ({})", output.status);
    }
    let versions: Value = serde_json::from_slice(&output.stdout)
        .context("corpus/recorder/record.js printed no versions")?;
    let version_of = |name: &str| -> anyhow::Result<String> {
        versions[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("corpus/recorder/record.js printed no {name} version"))
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("corpus").join(harness::corpus::RECORDED_DIR));
    std::fs::create_dir_all(&out).with_context(|| out.display().to_string())?;
    let shown = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let schemas = harness::schema::EventSchemas::load(&root.join("schemas"))?;
    let options = harness::corpus_record::RecordOptions {
        team_id: args.team_id,
    };
    let mut files = serde_json::Map::new();
    for sdk in SDKS {
        let requests = raw.join(format!("{sdk}.requests.jsonl"));
        let recorded = harness::corpus_record::convert_file(&requests, &options)?;
        if recorded.events.is_empty() {
            bail!("{}: {sdk} sent no events", requests.display());
        }
        let name = format!("{sdk}-{}.jsonl", version_of(sdk)?);
        let text = harness::corpus_import::to_jsonl(&recorded.events);
        if text.len() > harness::corpus_record::MAX_RECORDED_BYTES {
            bail!(
                "{name}: {} bytes, over the {} KiB a recorded file may have (every plugin runs over the whole corpus)",
                text.len(),
                harness::corpus_record::MAX_RECORDED_BYTES >> 10
            );
        }
        // The previous recording of this SDK, at another version, goes.
        for entry in std::fs::read_dir(&out).with_context(|| out.display().to_string())? {
            let path = entry?.path();
            let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if let Some(file_name) = file_name
                && file_name.starts_with(&format!("{sdk}-"))
                && file_name.ends_with(".jsonl")
                && file_name != name
            {
                std::fs::remove_file(&path).with_context(|| path.display().to_string())?;
                println!("removed  {}", shown(&path));
            }
        }
        let path = out.join(&name);
        std::fs::write(&path, &text).with_context(|| path.display().to_string())?;
        let mut types: BTreeMap<&str, usize> = BTreeMap::new();
        for event in &recorded.events {
            *types
                .entry(event["event"].as_str().unwrap_or_default())
                .or_default() += 1;
        }
        let invalid = recorded
            .events
            .iter()
            .enumerate()
            .filter_map(|(index, event)| {
                let violations = schemas.validate(event);
                violations
                    .first()
                    .map(|v| format!("{}:{}: {v}", name, index + 1))
            })
            .collect::<Vec<_>>();
        println!(
            "{:>5} events  {}  from {} requests ({} with events), {} surrogates replaced",
            recorded.events.len(),
            shown(&path),
            recorded.requests,
            recorded.event_requests,
            recorded.surrogates_replaced
        );
        let summary: Vec<String> = types.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!("         {}", summary.join(", "));
        for line in &invalid {
            println!("warning: does not match the event schemas: {line}");
        }
        files.insert(
            name,
            serde_json::json!({ "events": recorded.events.len(), "types": types }),
        );
    }
    let mut manifest = versions
        .as_object()
        .cloned()
        .context("the recorder's versions are not an object")?;
    manifest.retain(|key, _| !key.ends_with("_requests"));
    manifest.insert("files".into(), Value::Object(files));
    let path = out.join("recording.json");
    let text = serde_json::to_string_pretty(&Value::Object(manifest))? + "\n";
    std::fs::write(&path, text).with_context(|| path.display().to_string())?;
    println!("wrote    {}", shown(&path));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_is_one_line_naming_it() {
        let error = tool_version("no-such-node-for-the-recorder", "it is needed")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("`no-such-node-for-the-recorder` could not be run ("),
            "{error}"
        );
        assert!(error.ends_with("): it is needed"), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }

    #[test]
    fn node_versions_are_read_by_their_major() {
        assert_eq!(node_major("v20.20.2"), Some(20));
        assert_eq!(node_major("v18.0.0"), Some(18));
        assert_eq!(node_major("20.1"), None);
        assert_eq!(node_major("vX"), None);
    }
}
