//! JSON helpers used everywhere: JSON pointer escaping, one structural diff, quantiles and
//! readable counts.

use serde_json::Value;

/// `key` escaped as one JSON pointer token (RFC 6901): `~` as `~0`, `/` as `~1`.
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// One difference between two JSON values, at a JSON pointer.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub pointer: String,
    /// `None`: added.
    pub old: Option<Value>,
    /// `None`: removed.
    pub new: Option<Value>,
}

/// How [`diff`] treats arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrays {
    /// An array that differs is one change, whole (snapshots record it so).
    Whole,
    /// Arrays are compared element by element.
    ByElement,
}

/// The differences between two JSON values, in order: for each of `old`'s keys, a change or
/// removal (depth first), then `new`'s added keys.
pub fn diff(old: &Value, new: &Value, arrays: Arrays) -> Vec<Change> {
    let mut changes = Vec::new();
    diff_into(&mut String::new(), old, new, arrays, &mut changes);
    changes
}

fn diff_into(
    pointer: &mut String,
    old: &Value,
    new: &Value,
    arrays: Arrays,
    changes: &mut Vec<Change>,
) {
    if old == new {
        return;
    }
    let len = pointer.len();
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                pointer.push('/');
                pointer.push_str(&escape_pointer(key));
                match b.get(key) {
                    Some(other) => diff_into(pointer, value, other, arrays, changes),
                    None => changes.push(Change {
                        pointer: pointer.clone(),
                        old: Some(value.clone()),
                        new: None,
                    }),
                }
                pointer.truncate(len);
            }
            for (key, value) in b.iter().filter(|(key, _)| !a.contains_key(*key)) {
                changes.push(Change {
                    pointer: format!("{pointer}/{}", escape_pointer(key)),
                    old: None,
                    new: Some(value.clone()),
                });
            }
        }
        (Value::Array(a), Value::Array(b)) if arrays == Arrays::ByElement => {
            for index in 0..a.len().max(b.len()) {
                pointer.push('/');
                pointer.push_str(&index.to_string());
                match (a.get(index), b.get(index)) {
                    (Some(x), Some(y)) => diff_into(pointer, x, y, arrays, changes),
                    (x, y) => changes.push(Change {
                        pointer: pointer.clone(),
                        old: x.cloned(),
                        new: y.cloned(),
                    }),
                }
                pointer.truncate(len);
            }
        }
        _ => changes.push(Change {
            pointer: pointer.clone(),
            old: Some(old.clone()),
            new: Some(new.clone()),
        }),
    }
}

/// The value at quantile `q` (0..=1) of sorted `values`, by the closest rank
/// (`round(q * (n - 1))`): the median of 1..=100 is 51.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Median and p99 of unsorted values, by [`quantile`].
pub fn median_p99(values: &[u64]) -> (u64, u64) {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    (quantile(&sorted, 0.5), quantile(&sorted, 0.99))
}

/// `1234567` as `1.2M`, `52000` as `52k`.
pub fn human_count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{}k", n / 1_000),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}

/// `text` cut to at most `max` characters, with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Untrusted text (a plugin's name, a message quoting a manifest) made safe for one line of
/// a terminal, a Markdown report or a workflow log: line breaks and tabs become spaces, other
/// control characters (escape sequences) `�`.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_changed_removed_then_added_pointers() {
        let old = json!({"a": 1, "b": {"c": [1, 2]}, "d/e": true});
        let new = json!({"a": 2, "b": {"c": [1]}, "f": null});
        let changes = diff(&old, &new, Arrays::ByElement);
        let pointers: Vec<_> = changes.iter().map(|c| c.pointer.as_str()).collect();
        assert_eq!(pointers, ["/a", "/b/c/1", "/d~1e", "/f"]);
        assert_eq!(changes[1].new, None);
        assert_eq!(changes[3].old, None);
        assert!(diff(&old, &old, Arrays::ByElement).is_empty());
        let whole = diff(&old, &new, Arrays::Whole);
        assert_eq!(whole[1].pointer, "/b/c");
        assert_eq!(whole[1].new, Some(json!([1])));
    }

    #[test]
    fn a_changed_root_is_the_empty_pointer() {
        let changes = diff(&json!(1), &json!("x"), Arrays::Whole);
        assert_eq!(changes[0].pointer, "");
    }

    #[test]
    fn quantiles_by_closest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&values, 0.5), 51);
        assert_eq!(quantile(&values, 0.99), 99);
        assert_eq!(quantile(&values, 1.0), 100);
        assert_eq!(quantile(&[], 0.5), 0);
        assert_eq!(median_p99(&[3, 1, 2]), (2, 3));
    }

    #[test]
    fn counts_read_like_people_write_them() {
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(52_300), "52k");
        assert_eq!(human_count(1_250_000), "1.2M");
    }

    #[test]
    fn untrusted_text_stays_on_one_line() {
        assert_eq!(
            one_line("a\n::error::x\u{1b}[31m"),
            "a ::error::x\u{fffd}[31m"
        );
        assert_eq!(one_line("plain"), "plain");
    }

    #[test]
    fn shortening_counts_characters() {
        assert_eq!(shorten("héllo", 2), "hé…");
        assert_eq!(shorten("hi", 5), "hi");
    }
}
