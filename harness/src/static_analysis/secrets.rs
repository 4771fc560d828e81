//! Finds credentials embedded in bytes (a component's data segments and custom sections):
//! PostHog project and personal API keys, GitHub and GitLab tokens, AWS access key ids and
//! PEM private keys. A match is reported by kind and offset with only its first four
//! characters, never whole.

/// One credential-shaped run of bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretMatch {
    /// What it looks like, e.g. "PostHog personal API key".
    pub kind: &'static str,
    /// Byte offset of its first character (in the file, when the caller passes the base).
    pub offset: usize,
    /// Its first four characters and `…`: enough to find it, not enough to use it.
    pub preview: String,
}

/// A credential format: a fixed prefix, then at least `min_body` bytes of `body`.
struct Pattern {
    kind: &'static str,
    prefix: &'static [u8],
    body: fn(u8) -> bool,
    min_body: usize,
}

fn alphanumeric(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
}

fn upper_alphanumeric(byte: u8) -> bool {
    byte.is_ascii_uppercase() || byte.is_ascii_digit()
}

fn word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

fn word_or_dash(byte: u8) -> bool {
    word(byte) || byte == b'-'
}

const POSTHOG_PROJECT: &str = "PostHog project API key";
const POSTHOG_PERSONAL: &str = "PostHog personal API key";
const GITHUB: &str = "GitHub token";
const GITHUB_FINE_GRAINED: &str = "GitHub fine-grained personal access token";
const GITLAB: &str = "GitLab personal access token";
const AWS: &str = "AWS access key id";
const PRIVATE_KEY: &str = "private key (PEM)";

const PATTERNS: &[Pattern] = &[
    Pattern {
        kind: POSTHOG_PROJECT,
        prefix: b"phc_",
        body: alphanumeric,
        min_body: 32,
    },
    Pattern {
        kind: POSTHOG_PERSONAL,
        prefix: b"phx_",
        body: alphanumeric,
        min_body: 32,
    },
    Pattern {
        kind: GITHUB,
        prefix: b"ghp_",
        body: alphanumeric,
        min_body: 36,
    },
    Pattern {
        kind: GITHUB,
        prefix: b"gho_",
        body: alphanumeric,
        min_body: 36,
    },
    Pattern {
        kind: GITHUB,
        prefix: b"ghs_",
        body: alphanumeric,
        min_body: 36,
    },
    Pattern {
        kind: GITHUB,
        prefix: b"ghu_",
        body: alphanumeric,
        min_body: 36,
    },
    Pattern {
        kind: GITHUB,
        prefix: b"ghr_",
        body: alphanumeric,
        min_body: 36,
    },
    Pattern {
        kind: GITHUB_FINE_GRAINED,
        prefix: b"github_pat_",
        body: word,
        min_body: 22,
    },
    Pattern {
        kind: GITLAB,
        prefix: b"glpat-",
        body: word_or_dash,
        min_body: 20,
    },
    Pattern {
        kind: AWS,
        prefix: b"AKIA",
        body: upper_alphanumeric,
        min_body: 16,
    },
];

const PEM_BEGIN: &[u8] = b"-----BEGIN ";
const PEM_PRIVATE_KEY: &[u8] = b"PRIVATE KEY-----";
/// The longest key type between `BEGIN ` and `PRIVATE KEY` ("ENCRYPTED ", "OPENSSH ", ...).
const PEM_MAX_TYPE: usize = 24;

/// Every credential-shaped match in `bytes`, in order; offsets are `base` plus the position in
/// `bytes`. Matches do not overlap.
pub fn find_secrets(bytes: &[u8], base: usize) -> Vec<SecretMatch> {
    let mut found = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        match match_at(bytes, position) {
            Some((kind, length)) => {
                let preview: String = bytes[position..position + 4]
                    .iter()
                    .map(|&b| char::from(b))
                    .collect();
                found.push(SecretMatch {
                    kind,
                    offset: base + position,
                    preview: format!("{preview}…"),
                });
                position += length;
            }
            None => position += 1,
        }
    }
    found
}

/// The kind and length of the credential starting at `position`, if one does.
fn match_at(bytes: &[u8], position: usize) -> Option<(&'static str, usize)> {
    let rest = &bytes[position..];
    let first = *rest.first()?;
    if first == b'-' {
        return pem_private_key(rest).map(|length| (PRIVATE_KEY, length));
    }
    if !matches!(first, b'p' | b'g' | b'A') {
        return None;
    }
    PATTERNS.iter().find_map(|pattern| {
        let body = rest.strip_prefix(pattern.prefix)?;
        let length = body.iter().take_while(|&&b| (pattern.body)(b)).count();
        (length >= pattern.min_body).then_some((pattern.kind, pattern.prefix.len() + length))
    })
}

/// `-----BEGIN [TYPE ]PRIVATE KEY-----`: the length of the header.
fn pem_private_key(rest: &[u8]) -> Option<usize> {
    let after_begin = rest.strip_prefix(PEM_BEGIN)?;
    let type_length = after_begin
        .iter()
        .take(PEM_MAX_TYPE + 1)
        .take_while(|&&b| b.is_ascii_uppercase() || b == b' ')
        .count();
    // The key type is followed by `PRIVATE KEY-----`, itself upper case: try each split.
    (0..=type_length.min(PEM_MAX_TYPE)).find_map(|split| {
        let key_type = &after_begin[..split];
        let tail = &after_begin[split..];
        let well_formed = key_type.is_empty() || key_type.ends_with(b" ");
        (well_formed && tail.starts_with(PEM_PRIVATE_KEY))
            .then_some(PEM_BEGIN.len() + split + PEM_PRIVATE_KEY.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(&'static str, usize, String)> {
        find_secrets(text.as_bytes(), 0)
            .into_iter()
            .map(|m| (m.kind, m.offset, m.preview))
            .collect()
    }

    #[test]
    fn each_format_is_found_with_its_offset_and_only_a_preview() {
        let alnum32 = "aB3".repeat(11);
        let alnum36 = "x9Y".repeat(12);
        let cases = [
            (format!("key=phc_{alnum32};"), POSTHOG_PROJECT),
            (format!("xxphx_{alnum32}"), POSTHOG_PERSONAL),
            (format!("ghp_{alnum36}"), GITHUB),
            (format!("gho_{alnum36}"), GITHUB),
            (format!("ghs_{alnum36}"), GITHUB),
            (format!("ghu_{alnum36}"), GITHUB),
            (format!("ghr_{alnum36}"), GITHUB),
            (
                format!("github_pat_{}", "A1_b".repeat(6)),
                GITHUB_FINE_GRAINED,
            ),
            (format!("glpat-{}", "a-B_1".repeat(4)), GITLAB),
            ("AKIAABCDEFGHIJ234567".to_owned(), AWS),
            ("-----BEGIN PRIVATE KEY-----".to_owned(), PRIVATE_KEY),
            ("-----BEGIN RSA PRIVATE KEY-----".to_owned(), PRIVATE_KEY),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----".to_owned(),
                PRIVATE_KEY,
            ),
        ];
        for (text, kind) in cases {
            let found = kinds(&text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            let offset = text.find(['p', 'g', 'A', '-']).unwrap_or(0);
            let offset = if text.starts_with("key=") { 4 } else { offset };
            assert_eq!(found[0].0, kind, "{text}");
            assert_eq!(found[0].1, offset, "{text}");
            assert_eq!(found[0].2, format!("{}…", &text[offset..offset + 4]));
        }
    }

    #[test]
    fn near_misses_are_not_secrets() {
        for text in [
            format!("phc_{}", "a".repeat(31)),
            format!("ghp_{}", "a".repeat(35)),
            "AKIAabcdefghijklmnop".to_owned(),
            "AKIA1234".to_owned(),
            "-----BEGIN PUBLIC KEY-----".to_owned(),
            "-----BEGIN CERTIFICATE-----".to_owned(),
            "phc_ phx_ ghp_ glpat- github_pat_".to_owned(),
        ] {
            assert_eq!(kinds(&text), [], "{text}");
        }
    }

    #[test]
    fn offsets_count_from_the_base() {
        let text = format!("..phc_{}", "z".repeat(40));
        let found = find_secrets(text.as_bytes(), 1000);
        assert_eq!(found[0].offset, 1002);
    }
}
