//! npm sources: `npm:NAME[@VERSION]` (`npm:@scope/name@1.2.3`), a plugin published as an npm
//! package, as PostHog installed private plugins with `NPM_TOKEN`.
//!
//! The package's metadata comes from the registry (`NPM_CONFIG_REGISTRY`, default
//! `https://registry.npmjs.org/`), the version named (or the `latest` tag), and its tarball
//! from `dist.tarball`. What the author controls (the metadata, the tarball, where it is
//! hosted) is handled as hostile:
//! - **Tokens.** `NPM_TOKEN` is sent (`Authorization: Bearer`) only to the registry's own
//!   scheme, host and port, only over https; a tarball hosted anywhere else is fetched without
//!   it. The registry must be https (`NPM_CONFIG_CAFILE` adds a trusted root). No redirect is
//!   followed, so no credential is carried to another host.
//! - **Integrity.** The tarball must match the metadata's `dist.integrity` SHA-512
//!   (Subresource Integrity form); a package without one, or with only a weaker digest
//!   (`shasum` is SHA-1), is refused.
//! - **Unpacking.** Entry by entry, never with the archive's own paths: only regular files and
//!   directories (a symlink or hard link could point out of the directory, a device or FIFO
//!   has no business in a plugin), every path made only of normal components below the
//!   package's top directory (no `..`, no absolute path), and caps on the download, the
//!   metadata, each file, the total unpacked and the number of entries (a gzip bomb stops at
//!   the cap).
//!
//! The unpacked package is cached by its integrity digest in the private cache directory and
//! then verified like a local plugin directory (`plugin.json` at the package's root).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha512};

use crate::error::HarnessError;

/// The registry used when `NPM_CONFIG_REGISTRY` is not set.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org/";

/// Largest package metadata document read, in bytes.
pub const MAX_METADATA_BYTES: u64 = 32 << 20;
/// Largest tarball downloaded, in bytes.
pub const MAX_TARBALL_BYTES: u64 = 64 << 20;
/// Largest file in a package, unpacked.
pub const MAX_FILE_BYTES: u64 = 32 << 20;
/// Largest package, unpacked.
pub const MAX_UNPACKED_BYTES: u64 = 128 << 20;
/// Most entries in a package.
pub const MAX_ENTRIES: usize = 10_000;

/// A package named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpmSource {
    pub name: String,
    pub version: Option<String>,
}

impl NpmSource {
    /// Reads `npm:NAME[@VERSION]`; `Ok(None)` when `arg` is not an npm source.
    pub fn parse(arg: &str) -> Result<Option<NpmSource>, HarnessError> {
        let Some(spec) = arg.strip_prefix("npm:") else {
            return Ok(None);
        };
        // A scope's `@` starts the name; a version's `@` comes after it.
        let split_at = spec
            .char_indices()
            .skip(1)
            .find(|&(_, c)| c == '@')
            .map(|(i, _)| i);
        let (name, version) = match split_at {
            Some(i) => (&spec[..i], Some(spec[i + 1..].to_owned())),
            None => (spec, None),
        };
        if !valid_name(name) {
            return Err(HarnessError::Other(format!(
                "{arg}: `{name}` is not an npm package name (lower-case letters, digits, `-._~`, \
                 at most 214 characters, optionally `@scope/` before it)"
            )));
        }
        if let Some(version) = &version
            && semver::Version::parse(version).is_err()
        {
            return Err(HarnessError::Other(format!(
                "{arg}: `{version}` is not an exact version (such as 1.2.3)"
            )));
        }
        Ok(Some(NpmSource {
            name: name.to_owned(),
            version,
        }))
    }

    pub fn display(&self) -> String {
        match &self.version {
            Some(version) => format!("npm:{}@{version}", self.name),
            None => format!("npm:{}", self.name),
        }
    }

    /// Downloads, checks and unpacks the package; returns its directory.
    pub fn fetch(&self) -> Result<PathBuf, HarnessError> {
        self.fetch_with(|name| std::env::var(name).ok())
    }

    /// [`NpmSource::fetch`] with the environment read through `env`.
    pub fn fetch_with(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<PathBuf, HarnessError> {
        let shown = self.display();
        let fail = |why: String| HarnessError::Other(format!("{shown}: {why}"));
        let registry = Registry::from_env(&env).map_err(&fail)?;
        let metadata_url = registry
            .url
            .join(&self.name.replace('/', "%2f"))
            .map_err(|e| fail(format!("the registry URL: {e}")))?;
        let metadata = registry
            .get(metadata_url.as_str(), MAX_METADATA_BYTES)
            .map_err(&fail)?;
        let metadata: serde_json::Value = serde_json::from_slice(&metadata)
            .map_err(|e| fail(format!("the registry's answer is not JSON: {e}")))?;
        let version = match &self.version {
            Some(version) => version.clone(),
            None => metadata
                .pointer("/dist-tags/latest")
                .and_then(|v| v.as_str())
                .ok_or_else(|| fail("no version given and no `latest` tag".to_owned()))?
                .to_owned(),
        };
        let entry = metadata
            .get("versions")
            .and_then(|versions| versions.get(&version))
            .ok_or_else(|| fail(format!("the registry has no version {version}")))?;
        if entry.get("name").and_then(|n| n.as_str()) != Some(self.name.as_str())
            || entry.get("version").and_then(|v| v.as_str()) != Some(version.as_str())
        {
            return Err(fail(format!(
                "the registry's entry for {version} names another package or version"
            )));
        }
        let integrity = entry
            .pointer("/dist/integrity")
            .and_then(|v| v.as_str())
            .ok_or_else(|| fail("no `dist.integrity` (a SHA-512 digest) to check".to_owned()))?;
        let expected = sha512_of_integrity(integrity).map_err(&fail)?;
        let tarball_url = entry
            .pointer("/dist/tarball")
            .and_then(|v| v.as_str())
            .ok_or_else(|| fail("no `dist.tarball`".to_owned()))?;

        let key = hex::encode(&expected[..16]);
        let root = crate::plugin::cache_dir()
            .parent()
            .map_or_else(|| PathBuf::from("npm"), |p| p.join("npm"));
        let dir = root.join(format!("{}-{version}-{key}", self.name.replace('/', "+")));
        if dir.join(crate::plugin::MANIFEST_FILE).is_file() {
            return Ok(dir);
        }
        let tarball = registry
            .get(tarball_url, MAX_TARBALL_BYTES)
            .map_err(&fail)?;
        let actual = Sha512::digest(&tarball);
        if actual.as_slice() != expected.as_slice() {
            return Err(fail(format!(
                "the tarball does not match its integrity digest (sha512 {}… expected, {}… \
                 downloaded); refusing it",
                &hex::encode(&expected)[..16],
                &hex::encode(actual)[..16]
            )));
        }
        std::fs::create_dir_all(&root).map_err(|e| HarnessError::io(&root, e))?;
        let staging = tempfile::Builder::new()
            .prefix(".unpacking-")
            .tempdir_in(&root)
            .map_err(|e| HarnessError::io(&root, e))?;
        unpack(&tarball, staging.path()).map_err(&fail)?;
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(staging.keep(), &dir).map_err(|e| HarnessError::io(&dir, e))?;
        Ok(dir)
    }
}

/// npm's rules for a package name (the `validate-npm-package-name` ones that matter here).
fn valid_name(name: &str) -> bool {
    name.len() <= 214 && name_parts_are(name, part_ok)
}

/// Whether `name`, bare or `@scope/bare`, is made of parts that each pass `part`.
pub(crate) fn name_parts_are(name: &str, part: impl Fn(&str) -> bool) -> bool {
    match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, bare)| part(scope) && part(bare)),
        None => part(name),
    }
}

fn part_ok(part: &str) -> bool {
    !part.is_empty()
        && !part.starts_with('.')
        && !part.starts_with('_')
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._~".contains(&b))
}

/// The SHA-512 digest in a Subresource Integrity string (`sha512-BASE64`, possibly among
/// others separated by spaces).
pub(crate) fn sha512_of_integrity(integrity: &str) -> Result<Vec<u8>, String> {
    integrity
        .split_whitespace()
        .find_map(|part| part.strip_prefix("sha512-"))
        .ok_or_else(|| {
            format!(
                "`dist.integrity` ({integrity}) has no sha512 digest; a weaker one is not enough"
            )
        })
        .and_then(|b64| {
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64)
                .map_err(|e| format!("`dist.integrity` is not valid base64: {e}"))
        })
        .and_then(|digest| {
            if digest.len() == 64 {
                Ok(digest)
            } else {
                Err("`dist.integrity`'s sha512 digest is not 64 bytes".to_owned())
            }
        })
}

/// The registry, its client, and the token that may go to it.
pub(crate) struct Registry {
    pub(crate) url: url::Url,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Registry {
    pub(crate) fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Registry, String> {
        let text = env("NPM_CONFIG_REGISTRY")
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| DEFAULT_REGISTRY.to_owned());
        let text = if text.ends_with('/') {
            text
        } else {
            format!("{text}/")
        };
        let url = url::Url::parse(&text).map_err(|e| format!("NPM_CONFIG_REGISTRY: {e}"))?;
        if url.scheme() != "https" {
            return Err(format!(
                "the registry {} is not https: package metadata, tarballs and NPM_TOKEN would \
                 travel in clear text",
                crate::fixtures::redact_url(url.as_str())
            ));
        }
        let ca_files: Vec<PathBuf> = env("NPM_CONFIG_CAFILE")
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
            .into_iter()
            .collect();
        let roots = crate::runtime::root_certificates(&ca_files)
            .map_err(|e| format!("NPM_CONFIG_CAFILE {e}"))?;
        let agent = crate::runtime::https_config(roots)
            .timeout_global(Some(std::time::Duration::from_secs(120)))
            .build()
            .new_agent();
        Ok(Registry {
            url,
            token: env("NPM_TOKEN").filter(|t| !t.is_empty()),
            agent,
        })
    }

    /// Whether `url` is on the registry itself (same scheme, host and port): the only place
    /// the token goes.
    pub(crate) fn owns(&self, url: &url::Url) -> bool {
        url.scheme() == "https"
            && url.host_str() == self.url.host_str()
            && url.port_or_known_default() == self.url.port_or_known_default()
    }

    /// `GET url`, at most `limit` bytes of body; an error is a sentence without credentials.
    pub(crate) fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, String> {
        let shown = crate::fixtures::redact_url(url);
        let parsed = url::Url::parse(url).map_err(|e| format!("`{shown}`: {e}"))?;
        if parsed.scheme() != "https" {
            return Err(format!("`{shown}` is not https"));
        }
        let mut request = self.agent.get(parsed.as_str());
        if let Some(token) = self.token.as_ref().filter(|_| self.owns(&parsed)) {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut response = request.call().map_err(|e| format!("GET {shown}: {e}"))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(format!("GET {shown}: the registry answered {status}"));
        }
        response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => {
                    format!("GET {shown}: larger than {limit} bytes")
                }
                other => format!("GET {shown}: {other}"),
            })
    }
}

/// Unpacks a gzipped npm tarball into `dest`: the entries below the top directory (`package/`),
/// regular files and directories only, each path confined, within the caps.
pub fn unpack(tarball: &[u8], dest: &Path) -> Result<(), String> {
    let gunzip = flate2::read::GzDecoder::new(tarball);
    // A gzip bomb stops at the cap (plus the tar's own headers).
    let mut archive =
        tar::Archive::new(gunzip.take(MAX_UNPACKED_BYTES + (MAX_ENTRIES as u64) * 1024));
    let mut total = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| format!("the tarball is not a gzipped tar: {e}"))?;
    for (index, entry) in entries.enumerate() {
        if index >= MAX_ENTRIES {
            return Err(format!("the package has more than {MAX_ENTRIES} entries"));
        }
        let mut entry = entry.map_err(|e| format!("the tarball is damaged: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("an entry's path is unreadable: {e}"))?
            .into_owned();
        let shown = path.display().to_string();
        let mut components = Vec::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => components.push(part.to_owned()),
                Component::CurDir => {}
                _ => {
                    return Err(format!(
                        "`{shown}` leaves the package (an absolute path or `..`); refusing the \
                         tarball"
                    ));
                }
            }
        }
        // npm packs everything under one top directory (`package/`), whatever its name.
        let relative: PathBuf = components.iter().skip(1).collect();
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(format!(
                "`{shown}` is a link; a package may hold only files and directories"
            ));
        }
        if relative.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&relative);
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
            continue;
        }
        if !kind.is_file() {
            return Err(format!(
                "`{shown}` is neither a file nor a directory; refusing the tarball"
            ));
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > MAX_FILE_BYTES {
            return Err(format!("`{shown}` is {size} bytes, over {MAX_FILE_BYTES}"));
        }
        total = total.saturating_add(size);
        if total > MAX_UNPACKED_BYTES {
            return Err(format!(
                "the package unpacks to more than {MAX_UNPACKED_BYTES} bytes"
            ));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let mut bytes = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("`{shown}`: {e}"))?;
        // `create_new`: two entries with one path are refused rather than one overwriting the
        // other (what was checked is what is verified).
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| format!("`{shown}`: {e}"))?;
        std::io::Write::write_all(&mut file, &bytes).map_err(|e| format!("`{shown}`: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzipped tarball of `entries` (path, contents); a `None` contents is a symlink.
    fn tarball(entries: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, contents) in entries {
            let mut header = tar::Header::new_gnu();
            match contents {
                Some(bytes) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(bytes.len() as u64);
                    header.set_mode(0o644);
                    // `append_data` refuses `..`; write the name raw to build the attack.
                    header.as_gnu_mut().unwrap().name[..path.len()]
                        .copy_from_slice(path.as_bytes());
                    header.set_cksum();
                    builder.append(&header, *bytes).unwrap();
                }
                None => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    header.set_link_name("/etc/passwd").unwrap();
                    header.as_gnu_mut().unwrap().name[..path.len()]
                        .copy_from_slice(path.as_bytes());
                    header.set_cksum();
                    builder.append(&header, &[][..]).unwrap();
                }
            }
        }
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap()
    }

    /// A table of unpacking cases: the entries, and the error (a fragment) or `None` to unpack.
    #[test]
    fn unpacking_keeps_to_the_package_directory() {
        type Entry<'a> = (&'a str, Option<&'a [u8]>);
        let cases: &[(&str, &[Entry], Option<&str>)] = &[
            (
                "a package",
                &[
                    ("package/plugin.json", Some(b"{}")),
                    ("package/src/lib.rs", Some(b"fn main() {}")),
                ],
                None,
            ),
            (
                "dot-dot",
                &[("package/../../escaped", Some(b"x"))],
                Some("leaves the package"),
            ),
            (
                "absolute",
                &[("/tmp/escaped-absolute", Some(b"x"))],
                Some("leaves the package"),
            ),
            ("symlink", &[("package/link", None)], Some("is a link")),
            (
                "the same path twice",
                &[("package/a", Some(b"1")), ("package/a", Some(b"2"))],
                Some("package/a"),
            ),
        ];
        for (label, entries, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            let dest = dir.path().join("out");
            std::fs::create_dir(&dest).unwrap();
            let result = unpack(&tarball(entries), &dest);
            match expected {
                None => {
                    result.unwrap_or_else(|e| panic!("{label}: {e}"));
                    assert_eq!(std::fs::read(dest.join("plugin.json")).unwrap(), b"{}");
                    assert!(dest.join("src/lib.rs").is_file(), "{label}");
                }
                Some(fragment) => {
                    let err = result.expect_err(label);
                    assert!(err.contains(fragment), "{label}: {err}");
                }
            }
            assert!(!dir.path().join("escaped").exists(), "{label}");
        }
        assert!(!Path::new("/tmp/escaped-absolute").exists());
    }

    #[test]
    fn a_file_declared_over_the_cap_is_refused_before_it_is_read() {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_path("package/huge").unwrap();
        header.set_size(MAX_FILE_BYTES + 1);
        header.set_cksum();
        let mut tar = header.as_bytes().to_vec();
        tar.extend_from_slice(&[0; 1024]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = unpack(&gz.finish().unwrap(), dir.path()).unwrap_err();
        assert!(err.contains("over 33554432"), "{err}");
    }

    #[test]
    fn names_and_versions_are_read_as_npm_does() {
        let parsed = |arg: &str| NpmSource::parse(arg).map_err(|e| e.to_string());
        assert_eq!(parsed("plugins/x").unwrap(), None);
        assert_eq!(
            parsed("npm:@posthog/geoip-plugin@1.2.3").unwrap(),
            Some(NpmSource {
                name: "@posthog/geoip-plugin".into(),
                version: Some("1.2.3".into())
            })
        );
        assert_eq!(parsed("npm:url-normalizer").unwrap().unwrap().version, None);
        for bad in [
            "npm:../x",
            "npm:Upper",
            "npm:@scope",
            "npm:a@latest",
            "npm:a@^1",
        ] {
            assert!(parsed(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn integrity_must_be_sha512() {
        let digest = Sha512::digest(b"x");
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, digest);
        assert_eq!(
            sha512_of_integrity(&format!("sha1-abc sha512-{b64}")).unwrap(),
            digest.to_vec()
        );
        assert!(
            sha512_of_integrity("sha1-abcd")
                .unwrap_err()
                .contains("no sha512")
        );
    }

    #[test]
    fn the_token_goes_to_the_registry_only_and_only_over_https() {
        let env = |registry: &'static str| {
            move |name: &str| match name {
                "NPM_CONFIG_REGISTRY" => Some(registry.to_owned()),
                "NPM_TOKEN" => Some("npm-secret".to_owned()),
                _ => None,
            }
        };
        let registry = Registry::from_env(&env("https://npm.example.com/")).unwrap();
        let owns = |url: &str| registry.owns(&url::Url::parse(url).unwrap());
        assert!(owns("https://npm.example.com/pkg/-/pkg-1.0.0.tgz"));
        assert!(!owns("https://npm.example.com.evil.io/pkg.tgz"));
        assert!(!owns("https://cdn.example.com/pkg.tgz"));
        assert!(!owns("https://npm.example.com:8443/pkg.tgz"));
        let err = Registry::from_env(&env("http://npm.example.com/"))
            .err()
            .unwrap();
        assert!(err.contains("not https"), "{err}");
    }
}
