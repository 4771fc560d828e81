//! A crate plugin's dependency graph, read with `cargo metadata` (resolved for
//! `wasm32-wasip2`, normal and build dependencies, not dev-dependencies): each dependency's
//! licence against the allow-list, git dependencies, path dependencies outside the library
//! root, and the crates that run code on the build machine (build scripts and proc-macros):
//! an error unless the crate is on the allow-list (`cargo_build::BUILD_CODE_ALLOW_LIST`) or
//! allowed by the maintainer's build policy. The graph is read `--locked`: a crate plugin
//! without a Cargo.lock that matches its Cargo.toml is not pinned and is refused.

use std::collections::BTreeMap;
use std::path::Path;

use cargo_metadata::{Metadata, Package, PackageId};

use super::license::{DEFAULT_ALLOWED_LICENSES, license_allowed};
use super::{Sink, at, rule, sanitize};
use crate::cargo_build::{BuildPolicy, reachable, runs_build_code};
use crate::model::Location;

/// Crate names listed in the build-script note before "and N more".
const MAX_LISTED: usize = 40;

/// Checks the dependency graph of the crate at `cargo_toml`; returns how many dependencies
/// it has, or `None` when the graph could not be read.
pub(super) fn check(
    cargo_toml: &Path,
    library_root: Option<&Path>,
    policy: &BuildPolicy,
    sink: &mut Sink,
) -> Option<usize> {
    let metadata = crate::cargo_build::locked_metadata(cargo_toml);
    let metadata = match metadata {
        Ok(metadata) => metadata,
        Err(error) => {
            let message = error.to_string();
            if message.contains("--locked was passed") {
                sink.add(
                    rule::SOURCE_LOCKFILE,
                    format!(
                        "the crate's Cargo.lock is missing or does not match Cargo.toml, so the build is not pinned: commit a Cargo.lock (cargo generate-lockfile) with the plugin ({})",
                        sanitize(
                            message
                                .lines()
                                .find(|l| l.contains("lock"))
                                .unwrap_or("")
                                .trim(),
                            200
                        )
                    ),
                    Location {
                        file: Some(cargo_toml.to_owned()),
                        ..Location::default()
                    },
                );
                return None;
            }
            let first_line = message
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("cargo metadata failed");
            sink.add(
                rule::SOURCE_METADATA,
                format!(
                    "cannot read the crate's dependency graph, so licences and sources were not checked: {}",
                    sanitize(first_line.trim(), 300)
                ),
                Location {
                    file: Some(cargo_toml.to_owned()),
                    ..Location::default()
                },
            );
            return None;
        }
    };
    check_metadata(&metadata, cargo_toml, library_root, policy, sink)
}

/// The checks on a dependency graph already read.
fn check_metadata(
    metadata: &Metadata,
    cargo_toml: &Path,
    library_root: Option<&Path>,
    policy: &BuildPolicy,
    sink: &mut Sink,
) -> Option<usize> {
    let file = Location {
        file: Some(cargo_toml.to_owned()),
        ..Location::default()
    };
    let wanted = cargo_toml
        .canonicalize()
        .unwrap_or_else(|_| cargo_toml.to_owned());
    let Some(root) = metadata
        .packages
        .iter()
        .find(|p| p.manifest_path.as_std_path() == wanted)
    else {
        sink.add(
            rule::SOURCE_METADATA,
            "cargo metadata does not list this crate as a package (is it a virtual workspace manifest?), so its dependencies were not checked",
            file,
        );
        return None;
    };
    let packages: BTreeMap<&PackageId, &Package> =
        metadata.packages.iter().map(|p| (&p.id, p)).collect();
    let dependencies = reachable(metadata, &root.id);
    let root_dir = library_root
        .map(Path::to_owned)
        .unwrap_or_else(|| metadata.workspace_root.clone().into_std_path_buf());
    let root_dir = root_dir.canonicalize().unwrap_or(root_dir);

    let mut build_scripts = Vec::new();
    if runs_build_code(root) {
        build_scripts.push(root.name.to_string());
    }
    for id in &dependencies {
        let Some(package) = packages.get(id) else {
            continue;
        };
        let crate_name = format!("{} {}", package.name, package.version);
        let pointer = format!("dependency:{}@{}", package.name, package.version);
        match &package.license {
            Some(expression) => match license_allowed(expression, DEFAULT_ALLOWED_LICENSES) {
                Ok(true) => {}
                Ok(false) => {
                    sink.add(
                        rule::SOURCE_LICENSE_NOT_ALLOWED,
                        format!(
                            "dependency `{crate_name}` is licensed `{}`, which the allow-list ({}) does not satisfy: replace the dependency, or ask for its licence to be allowed",
                            sanitize(expression, 120),
                            DEFAULT_ALLOWED_LICENSES.join(", ")
                        ),
                        at(Some(cargo_toml), pointer.clone()),
                    );
                }
                Err(why) => {
                    sink.add(
                        rule::SOURCE_LICENSE_NOT_ALLOWED,
                        format!(
                            "dependency `{crate_name}` has the licence `{}`, which is not an SPDX expression ({why}), so it cannot be checked against the allow-list",
                            sanitize(expression, 120)
                        ),
                        at(Some(cargo_toml), pointer.clone()),
                    );
                }
            },
            None => {
                let how = match &package.license_file {
                    Some(file) => format!(
                        "only a licence file (`{}`), which a person has to read",
                        sanitize(file.as_str(), 120)
                    ),
                    None => "no licence at all".to_owned(),
                };
                sink.add(
                    rule::SOURCE_LICENSE_UNKNOWN,
                    format!(
                        "dependency `{crate_name}` declares {how}: check that its licence allows use in PostHog before installing"
                    ),
                    at(Some(cargo_toml), pointer.clone()),
                );
            }
        }
        match &package.source {
            Some(source) if source.repr.starts_with("git+") => {
                sink.add(
                    rule::SOURCE_GIT_DEPENDENCY,
                    format!(
                        "dependency `{crate_name}` comes from git ({}), not a registry: its code can change under the same version and nobody reviewed a release; depend on a published version",
                        sanitize(source.repr.split('#').next().unwrap_or_default(), 200)
                    ),
                    at(Some(cargo_toml), pointer.clone()),
                );
            }
            Some(_) => {}
            None => {
                let dir = package
                    .manifest_path
                    .parent()
                    .map(|dir| dir.as_std_path().to_owned())
                    .unwrap_or_default();
                let dir = dir.canonicalize().unwrap_or(dir);
                if !dir.starts_with(&root_dir) {
                    sink.add(
                        rule::SOURCE_PATH_DEPENDENCY_OUTSIDE_ROOT,
                        format!(
                            "dependency `{crate_name}` is a path dependency outside {} (at {}): the plugin cannot be built from its own repository; publish the crate or move it inside",
                            if library_root.is_some() { "the library root" } else { "the workspace" },
                            dir.display()
                        ),
                        at(Some(cargo_toml), pointer.clone()),
                    );
                }
            }
        }
        if runs_build_code(package) {
            build_scripts.push(package.name.to_string());
        }
    }
    build_scripts.sort();
    build_scripts.dedup();
    let (allowed, refused): (Vec<String>, Vec<String>) = build_scripts
        .iter()
        .cloned()
        .partition(|name| policy.allows(name));
    let list = |names: &[String]| {
        let listed: Vec<String> = names.iter().take(MAX_LISTED).cloned().collect();
        let more = names.len().saturating_sub(listed.len());
        format!(
            "{}{}",
            listed.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    };
    if !refused.is_empty() {
        sink.add(
            rule::SOURCE_BUILD_SCRIPT,
            format!(
                "{} {} outside the allow-list would run code on the build machine (a build script or a proc-macro) before any verdict: {}; nothing was built. Read the code, then allow it with --allow-build-code CRATE or a --build-policy file",
                refused.len(),
                if refused.len() == 1 { "crate" } else { "crates" },
                list(&refused)
            ),
            file.clone(),
        );
    }
    if !allowed.is_empty() {
        sink.add(
            rule::SOURCE_BUILD_SCRIPT_ALLOWED,
            format!(
                "{} allowed {} run build scripts or proc-macros when the plugin is built (sandboxed where bubblewrap is available): {}",
                allowed.len(),
                if allowed.len() == 1 { "crate" } else { "crates" },
                list(&allowed)
            ),
            file,
        );
    }
    sink.metric("dependencies", dependencies.len());
    sink.metric("buildScripts", build_scripts.len());
    Some(dependencies.len())
}
