//! A JavaScript plugin's npm dependencies, installed by the harness from the plugin's
//! `package-lock.json` for the bundler, never by npm.
//!
//! PostHog's plugin server installed nothing: a plugin could import only what the server
//! provided (`AVAILABLE_IMPORTS`, served here by `js/build.mjs`). The harness goes further and
//! bundles the dependencies a plugin pins, treating everything the author controls (the
//! manifest, the lock file, the tarballs, where they say they are) as hostile:
//! - **Pinned or nothing.** `package.json`'s `dependencies` need a `package-lock.json`
//!   (`lockfileVersion` 2 or 3, as npm 7 and later write) naming each of them; every package
//!   the lock installs has a `resolved` tarball and a SHA-512 `integrity`, and the tarball
//!   must match it. Development-only packages (`dev`, `devOptional`) are not installed.
//! - **Fetched from the registry only.** A `resolved` URL on `registry.npmjs.org` is fetched
//!   from the configured registry (`NPM_CONFIG_REGISTRY`, as npm's `replace-registry-host`
//!   does), one on the registry itself as it is, anything else (another host, plain http, a
//!   git or file dependency, a `link`) is refused: the lock cannot make the harness fetch from
//!   a host of the author's choosing, and `NPM_TOKEN` goes to the registry only
//!   (`npm::Registry`).
//! - **No code runs.** Tarballs are unpacked by `npm::unpack` (files and directories only,
//!   confined, capped); install scripts are never run (nothing here runs anything). Each
//!   package lands at the path its lock key names (`node_modules/a/node_modules/b`), checked to
//!   be made only of package names.
//! - **Only what is locked is bundled.** The packages go to the build's own `node_modules`
//!   and `build.mjs` resolves bare imports there alone, so a `node_modules` the plugin
//!   directory happens to hold is never bundled.
//!
//! Tarballs are cached in the private cache by their SHA-512 and checked again when read.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha512};

use crate::npm::{self, Registry};

/// The largest `package.json` or `package-lock.json` read.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// The most packages one plugin's lock may install.
pub const MAX_PACKAGES: usize = 2_000;
/// The public registry, whose tarball URLs are fetched from the configured registry.
const PUBLIC_REGISTRY_HOST: &str = "registry.npmjs.org";

/// One package the lock installs.
#[derive(Debug, PartialEq, Eq)]
struct Locked {
    /// The lock's key, `node_modules/a/node_modules/@s/b`: where the package goes.
    key: String,
    resolved: String,
    sha512: Vec<u8>,
}

/// Installs the packages `dir/package-lock.json` pins into `work/node_modules`; nothing when
/// `package.json` names no dependencies (then bare imports resolve only to PostHog's provided
/// ones).
pub fn install(
    dir: &Path,
    work: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let Some(package) = read_json(dir, "package.json")? else {
        return Ok(());
    };
    let wanted: Vec<&String> = match package.get("dependencies") {
        Some(Value::Object(dependencies)) => dependencies.keys().collect(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err("package.json: `dependencies` is not an object".to_owned()),
    };
    if wanted.is_empty() {
        return Ok(());
    }
    let lock = read_json(dir, "package-lock.json")?.ok_or_else(|| {
        "package.json names dependencies, but there is no package-lock.json to pin them \
         (`npm install --package-lock-only` writes one)"
            .to_owned()
    })?;
    let packages = locked_packages(&lock, &wanted)?;
    let registry = Registry::from_env(&env)?;
    for package in &packages {
        let url = fetch_url(&registry, &package.key, &package.resolved)?;
        let tarball = tarball(&registry, &url, &package.sha512)
            .map_err(|why| format!("package-lock.json: {}: {why}", package.key))?;
        let dest = work.join(&package.key);
        std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        npm::unpack(&tarball, &dest)
            .map_err(|why| format!("package-lock.json: {}: {why}", package.key))?;
    }
    Ok(())
}

/// Reads a JSON file of the plugin directory; `None` when there is none.
fn read_json(dir: &Path, name: &str) -> Result<Option<Value>, String> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    let path = crate::plugin::confined_file(dir, name).map_err(|why| format!("{name}: {why}"))?;
    let bytes = crate::plugin::read_capped(&path, MAX_MANIFEST_BYTES)
        .map_err(|why| format!("{name}: {why}"))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("{name}:{}:{}: {e}", e.line(), e.column()))
}

/// The packages a lock installs for production, checked: the lock's format, every wanted
/// dependency present, each key a path of package names, each with a tarball and a SHA-512.
fn locked_packages(lock: &Value, wanted: &[&String]) -> Result<Vec<Locked>, String> {
    let version = lock.get("lockfileVersion").and_then(Value::as_u64);
    if !matches!(version, Some(2 | 3)) {
        return Err(format!(
            "package-lock.json: lockfileVersion {} is not supported; npm 7 and later write 2 or 3",
            version.map_or_else(|| "(none)".to_owned(), |v| v.to_string())
        ));
    }
    let Some(Value::Object(packages)) = lock.get("packages") else {
        return Err("package-lock.json: no `packages`".to_owned());
    };
    for name in wanted {
        if !packages.contains_key(&format!("node_modules/{name}")) {
            return Err(format!(
                "package-lock.json is out of date: the dependency `{name}` of package.json is not in it (run `npm install --package-lock-only`)"
            ));
        }
    }
    let mut locked = Vec::new();
    for (key, entry) in packages {
        if key.is_empty() {
            continue;
        }
        let flag = |name: &str| entry.get(name).and_then(Value::as_bool) == Some(true);
        // Development-only packages are not bundled; a package inside a bundled dependency
        // comes with its parent's tarball.
        if flag("dev") || flag("devOptional") || flag("inBundle") {
            continue;
        }
        if !is_package_path(key) {
            return Err(format!(
                "package-lock.json: `{key}` is not a package path (node_modules/NAME, nested); refusing the lock"
            ));
        }
        if flag("link") {
            return Err(format!(
                "package-lock.json: {key} is a link to a directory; only registry packages are installed"
            ));
        }
        let resolved = entry
            .get("resolved")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("package-lock.json: {key} has no `resolved` tarball"))?;
        let integrity = entry
            .get("integrity")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("package-lock.json: {key} has no `integrity`"))?;
        let sha512 = npm::sha512_of_integrity(integrity)
            .map_err(|why| format!("package-lock.json: {key}: {why}"))?;
        locked.push(Locked {
            key: key.clone(),
            resolved: resolved.to_owned(),
            sha512,
        });
        if locked.len() > MAX_PACKAGES {
            return Err(format!(
                "package-lock.json installs more than {MAX_PACKAGES} packages"
            ));
        }
    }
    // Parents before the packages nested in them.
    locked.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(locked)
}

/// `node_modules/NAME` repeated (`node_modules/a/node_modules/@scope/b`), each NAME an npm
/// package name: a path that stays inside the build's `node_modules`.
fn is_package_path(key: &str) -> bool {
    let mut rest = key;
    loop {
        let Some(after) = rest.strip_prefix("node_modules/") else {
            return false;
        };
        let (name, next) = match after.find("/node_modules/") {
            Some(at) => (&after[..at], Some(&after[at + 1..])),
            None => (after, None),
        };
        if !lock_name_ok(name) {
            return false;
        }
        match next {
            Some(next) => rest = next,
            None => return true,
        }
    }
}

/// A package name as a lock may hold it: npm's rules, but capitals allowed (old packages such
/// as `JSONStream` have them); what matters here is that it is one or two plain path parts.
fn lock_name_ok(name: &str) -> bool {
    npm::name_parts_are(name, |part| {
        !part.is_empty()
            && !part.starts_with('.')
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    })
}

/// Where a locked tarball is fetched from: the configured registry, whatever public-registry
/// URL the lock names; refused when it names any other place.
fn fetch_url(registry: &Registry, key: &str, resolved: &str) -> Result<url::Url, String> {
    let shown = crate::fixtures::redact_url(resolved);
    let refused = |why: &str| {
        format!(
            "package-lock.json: {key} resolves to `{shown}`, {why}; only the registry ({}) is fetched from",
            crate::fixtures::redact_url(registry.url.as_str())
        )
    };
    let url = url::Url::parse(resolved).map_err(|_| refused("not a URL"))?;
    if url.scheme() != "https" {
        return Err(refused("not https"));
    }
    if registry.owns(&url) {
        return Ok(url);
    }
    if url.host_str() == Some(PUBLIC_REGISTRY_HOST) && url.port_or_known_default() == Some(443) {
        let mut moved = registry
            .url
            .join(url.path().trim_start_matches('/'))
            .map_err(|_| refused("not a registry path"))?;
        moved.set_query(url.query());
        return Ok(moved);
    }
    Err(refused("another host"))
}

/// The tarball, from the cache when it holds one with this digest, else from `url`; it must
/// match `sha512`.
fn tarball(registry: &Registry, url: &url::Url, sha512: &[u8]) -> Result<Vec<u8>, String> {
    let cached = crate::plugin::private_cache_dir()
        .map(|dir| dir.join(format!("npm-{}.tgz", hex::encode(sha512))));
    if let Some(bytes) = cached.as_ref().and_then(|path| std::fs::read(path).ok())
        && Sha512::digest(&bytes).as_slice() == sha512
    {
        return Ok(bytes);
    }
    let bytes = registry.get(url.as_str(), npm::MAX_TARBALL_BYTES)?;
    let actual = Sha512::digest(&bytes);
    if actual.as_slice() != sha512 {
        return Err(format!(
            "the tarball does not match its integrity digest (sha512 {}… locked, {}… downloaded); refusing it",
            &hex::encode(sha512)[..16],
            &hex::encode(actual)[..16]
        ));
    }
    if let Some(path) = cached {
        // Whole or not at all: a partial file fails the digest and is fetched again.
        let partial = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&partial, &bytes).is_ok() {
            let _ = std::fs::rename(&partial, &path);
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const INTEGRITY: &str = "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==";

    fn lock(packages: Value) -> Value {
        json!({"lockfileVersion": 3, "packages": packages})
    }

    #[test]
    fn package_paths_stay_inside_node_modules() {
        for (key, ok) in [
            ("node_modules/left-pad", true),
            ("node_modules/@posthog/plugin-contrib", true),
            ("node_modules/a/node_modules/@s/b", true),
            ("node_modules/../../etc", false),
            ("node_modules/a/../../b", false),
            ("node_modules/", false),
            ("lib/node_modules/a", false),
            ("node_modules/a/node_modules/", false),
            ("node_modules/JSONStream", true),
            ("node_modules/.bin", false),
            ("node_modules/@scope", false),
            ("node_modules/a\\..", false),
        ] {
            assert_eq!(is_package_path(key), ok, "{key}");
        }
    }

    #[test]
    fn only_production_packages_with_a_tarball_and_a_digest_are_installed() {
        let wanted = "left-pad".to_owned();
        let packages = locked_packages(
            &lock(json!({
                "": {"dependencies": {"left-pad": "1.3.0"}},
                "node_modules/left-pad": {"resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "integrity": INTEGRITY},
                "node_modules/typescript": {"dev": true},
                "node_modules/fsevents": {"devOptional": true},
                "node_modules/left-pad/node_modules/inner": {"inBundle": true},
            })),
            &[&wanted],
        )
        .unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].key, "node_modules/left-pad");

        for (lock_file, expected) in [
            (
                json!({"lockfileVersion": 1, "dependencies": {}}),
                "lockfileVersion 1",
            ),
            (
                lock(json!({"": {}})),
                "`left-pad` of package.json is not in it",
            ),
            (
                lock(
                    json!({"node_modules/left-pad": {"resolved": "https://registry.npmjs.org/x.tgz"}}),
                ),
                "has no `integrity`",
            ),
            (
                lock(json!({"node_modules/left-pad": {"integrity": INTEGRITY}})),
                "has no `resolved`",
            ),
            (
                lock(
                    json!({"node_modules/left-pad": {"resolved": "https://registry.npmjs.org/x.tgz", "integrity": "sha1-abc"}}),
                ),
                "no sha512 digest",
            ),
            (
                lock(json!({"node_modules/left-pad": {"link": true, "resolved": "../evil"}})),
                "is a link",
            ),
            (
                lock(json!({
                    "node_modules/left-pad": {"resolved": "https://registry.npmjs.org/x.tgz", "integrity": INTEGRITY},
                    "node_modules/../../etc": {"resolved": "https://registry.npmjs.org/x.tgz", "integrity": INTEGRITY},
                })),
                "is not a package path",
            ),
        ] {
            let error = locked_packages(&lock_file, &[&wanted]).unwrap_err();
            assert!(error.contains(expected), "{lock_file}: {error}");
        }
    }

    #[test]
    fn tarballs_come_from_the_registry_whatever_the_lock_says() {
        let env = |name: &str| match name {
            "NPM_CONFIG_REGISTRY" => Some("https://npm.internal.example/repo/".to_owned()),
            _ => None,
        };
        let registry = Registry::from_env(&env).unwrap();
        let key = "node_modules/left-pad";
        for (resolved, expected) in [
            (
                "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
                Ok("https://npm.internal.example/repo/left-pad/-/left-pad-1.3.0.tgz"),
            ),
            (
                "https://npm.internal.example/repo/left-pad/-/left-pad-1.3.0.tgz",
                Ok("https://npm.internal.example/repo/left-pad/-/left-pad-1.3.0.tgz"),
            ),
            ("https://evil.example/left-pad.tgz", Err("another host")),
            ("http://registry.npmjs.org/left-pad.tgz", Err("not https")),
            ("git+ssh://git@github.com/a/b.git", Err("not https")),
            ("file:../left-pad", Err("not https")),
            (
                "https://registry.npmjs.org:8443/left-pad.tgz",
                Err("another host"),
            ),
        ] {
            let got = fetch_url(&registry, key, resolved).map(|u| u.to_string());
            match expected {
                Ok(url) => assert_eq!(got.as_deref(), Ok(url), "{resolved}"),
                Err(why) => {
                    let error = got.unwrap_err();
                    assert!(error.contains(why), "{resolved}: {error}");
                }
            }
        }
    }
}
