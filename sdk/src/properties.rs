//! An event's properties, read only as far as the plugin reads them.
//!
//! Most plugins touch a few properties of an event and pass the rest on. [`Event::from_json`]
//! therefore only finds where each property's key and value are in the event's text (serde_json
//! checks the syntax on the way) and keeps that text; a value is parsed into a [`Value`] when it is
//! first read, and an untouched value is written back as the text it was read from. A plugin pays
//! for the properties it reads.
//!
//! [`Properties`] has the same operations as the [`Map`] it stands for: `get`, `get_mut`,
//! `contains_key`, `insert`, `shift_remove`, `len` and `is_empty` are its own and work on the
//! text; everything else (`iter`, `values`, `retain`, `entry`, passing it where a `&Map` or
//! `&mut Map` is expected) goes through [`Deref`]/[`DerefMut`] to a `Map` parsed once, as a
//! plugin with `Map` properties always had. Either way the results are the `Map`'s: a duplicate
//! key keeps its first position and its last value, and equality ignores order.
//!
//! [`Event::from_json`]: crate::Event::from_json

use std::collections::{HashMap, HashSet, hash_map};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// An event's properties (a JSON object); see the [module](self) for how they are read.
#[derive(Clone, Default)]
pub struct Properties(Repr);

#[derive(Clone)]
enum Repr {
    /// Parsed: what `Deserialize` and `From<Map>` make, and what any access through the `Map`
    /// with `&mut` leaves.
    Map(Map<String, Value>),
    /// Read from text and parsed as far as it has been read.
    Text(Text),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Map(Map::new())
    }
}

#[derive(Clone)]
struct Text {
    /// The text the keys and values at offsets point into.
    source: Box<str>,
    /// In order, each key once (a duplicate's value replaces the first's, in its place).
    entries: Vec<Entry>,
    /// The whole `Map`, made the first time it is asked for through `&self` ([`Deref`]); the
    /// next `&mut` access turns it into [`Repr::Map`] before changing anything.
    map: OnceLock<Map<String, Value>>,
}

#[derive(Clone)]
struct Entry {
    key: Key,
    /// Where the value's text is, while the value is as it was read.
    raw: Option<Span>,
    /// The value, once parsed, inserted or changed.
    value: OnceLock<Value>,
}

#[derive(Clone)]
enum Key {
    /// A key without escapes: its text in `source`, between the quotes.
    At(Span),
    /// A key that had escapes, or one inserted.
    Owned(String),
}

#[derive(Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn get(self, source: &str) -> &str {
        &source[self.start as usize..self.end as usize]
    }
}

/// Keys up to this many are checked for duplicates pairwise, more with a hash set.
const PAIRWISE_UP_TO: usize = 16;

impl Entry {
    /// The key; `source` is the text the entry was read from.
    fn key<'a>(&'a self, source: &'a str) -> &'a str {
        match &self.key {
            Key::At(span) => span.get(source),
            Key::Owned(key) => key,
        }
    }

    /// The value, parsed (once) if it is still text.
    fn value<'a>(&'a self, source: &str) -> &'a Value {
        self.value.get_or_init(|| parse_raw(self.raw, source))
    }

    /// The value, parsed if it is still text, without keeping it.
    fn to_value(&self, source: &str) -> Value {
        match self.value.get() {
            Some(value) => value.clone(),
            None => parse_raw(self.raw, source),
        }
    }

    fn into_value(self, source: &str) -> Value {
        let raw = self.raw;
        self.value
            .into_inner()
            .unwrap_or_else(|| parse_raw(raw, source))
    }

    /// Takes `later`'s value (a duplicate key read later), keeping this entry's key and place.
    fn raw_from(&mut self, later: Entry) {
        self.raw = later.raw;
        self.value = later.value;
    }
}

impl Text {
    fn key<'a>(&'a self, entry: &'a Entry) -> &'a str {
        entry.key(&self.source)
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|entry| self.key(entry) == key)
    }

    fn value<'a>(&'a self, entry: &'a Entry) -> &'a Value {
        entry.value(&self.source)
    }

    fn take_value(&self, entry: Entry) -> Value {
        entry.into_value(&self.source)
    }

    fn into_map(self) -> Map<String, Value> {
        if let Some(map) = self.map.into_inner() {
            return map;
        }
        let source = &self.source;
        self.entries
            .into_iter()
            .map(|entry| (entry.key(source).to_owned(), entry.into_value(source)))
            .collect()
    }

    /// Merges duplicate keys as `Map` reads them: the first place, the last value.
    fn merge_duplicates(&mut self) {
        let entries = std::mem::take(&mut self.entries);
        let mut first: HashMap<String, usize> = HashMap::with_capacity(entries.len());
        for entry in entries {
            match first.entry(entry.key(&self.source).to_owned()) {
                hash_map::Entry::Occupied(at) => self.entries[*at.get()].raw_from(entry),
                hash_map::Entry::Vacant(slot) => {
                    slot.insert(self.entries.len());
                    self.entries.push(entry);
                }
            }
        }
    }
}

/// A value's text as read. serde_json has checked its syntax; what it cannot check without
/// parsing (a number beyond `f64`, a lone surrogate escape) reads as `null`. The harness sends
/// only text serde_json wrote from a parsed value, which always parses.
fn parse(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or(Value::Null)
}

/// The value at `raw` in `source` (`null` for none: an entry always has one or the other).
fn parse_raw(raw: Option<Span>, source: &str) -> Value {
    raw.map_or(Value::Null, |span| parse(span.get(source)))
}

impl Properties {
    /// No properties.
    pub fn new() -> Self {
        Properties::default()
    }

    /// Turns a text whose whole `Map` was handed out through `&self` into that `Map`, so that a
    /// change made next is made to what was handed out.
    fn settle(&mut self) {
        if let Repr::Text(text) = &mut self.0
            && let Some(map) = text.map.take()
        {
            self.0 = Repr::Map(map);
        }
    }

    fn map_mut(&mut self) -> &mut Map<String, Value> {
        if let Repr::Text(_) = &self.0
            && let Repr::Text(text) = std::mem::take(&mut self.0)
        {
            self.0 = Repr::Map(text.into_map());
        }
        match &mut self.0 {
            Repr::Map(map) => map,
            Repr::Text(_) => unreachable!("just parsed"),
        }
    }

    /// The value of `key`, parsing only that value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.0 {
            Repr::Map(map) => map.get(key),
            Repr::Text(text) => text.position(key).map(|at| text.value(&text.entries[at])),
        }
    }

    /// The value of `key`, to change in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.settle();
        match &mut self.0 {
            Repr::Text(text) => {
                let at = text.position(key)?;
                text.value(&text.entries[at]);
                let entry = &mut text.entries[at];
                entry.raw = None;
                entry.value.get_mut()
            }
            Repr::Map(map) => map.get_mut(key),
        }
    }

    pub fn contains_key(&self, key: &str) -> bool {
        match &self.0 {
            Repr::Map(map) => map.contains_key(key),
            Repr::Text(text) => text.position(key).is_some(),
        }
    }

    /// Sets `key` to `value`, as `Map::insert`: an existing key keeps its place.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        self.settle();
        match &mut self.0 {
            Repr::Text(text) => match text.position(&key) {
                Some(at) => {
                    let old = std::mem::replace(
                        &mut text.entries[at],
                        Entry {
                            key: Key::Owned(key),
                            raw: None,
                            value: OnceLock::from(value),
                        },
                    );
                    Some(text.take_value(old))
                }
                None => {
                    text.entries.push(Entry {
                        key: Key::Owned(key),
                        raw: None,
                        value: OnceLock::from(value),
                    });
                    None
                }
            },
            Repr::Map(map) => map.insert(key, value),
        }
    }

    /// Removes `key`, keeping the order of the others, as `Map::shift_remove`.
    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        self.settle();
        match &mut self.0 {
            Repr::Text(text) => {
                let at = text.position(key)?;
                let entry = text.entries.remove(at);
                Some(text.take_value(entry))
            }
            Repr::Map(map) => map.shift_remove(key),
        }
    }

    /// Whether the properties were read (or made) as a whole `Map` rather than key by key.
    pub(crate) fn read_whole(&self) -> bool {
        match &self.0 {
            Repr::Map(_) => true,
            Repr::Text(text) => text.map.get().is_some(),
        }
    }

    /// About how many bytes the properties take as JSON, to size a buffer by.
    pub(crate) fn size_hint(&self) -> usize {
        match &self.0 {
            Repr::Map(map) => 32 * map.len(),
            Repr::Text(text) => text.source.len() + 16,
        }
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Map(map) => map.len(),
            Repr::Text(text) => text.entries.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The properties as a `Map`, every value parsed.
    pub fn into_map(self) -> Map<String, Value> {
        match self.0 {
            Repr::Map(map) => map,
            Repr::Text(text) => text.into_map(),
        }
    }

    /// The properties of the event text `event`, whose keys serde_json found where `checked`
    /// says while it read the event ([`Checked`]): where each value is, nothing parsed. `None`
    /// when a key had escapes (serde_json could not point into the text for it).
    pub(crate) fn read(event: &str, checked: Checked) -> Option<Properties> {
        let bytes = event.as_bytes();
        let base = event.as_ptr() as usize;
        let keys = checked.keys?;
        // Each key's text between its quotes, checked to be in `event` between quotes.
        let mut spans = Vec::with_capacity(keys.len());
        for (address, len) in keys {
            let start = address.checked_sub(base)?;
            let end = start.checked_add(len)?;
            if start == 0 || bytes.get(start - 1) != Some(&b'"') || bytes.get(end) != Some(&b'"') {
                return None;
            }
            spans.push((start, end));
        }
        let (Some(&(first, _)), Some(&(_, last))) = (spans.first(), spans.last()) else {
            return Some(Properties::new());
        };
        // The text from the first key's opening quote to the end of the last value: each value
        // runs from after its key's `:` to before the `,` ahead of the next key.
        let value_start = |key_end: usize| scan::space(bytes, scan::space(bytes, key_end + 1) + 1);
        let last_start = value_start(last);
        let end = scan::value(bytes, last_start);
        let (offset, source): (usize, Box<str>) = (first - 1, event.get(first - 1..end)?.into());
        let span = |start: usize, end: usize| {
            Some(Span {
                start: u32::try_from(start.checked_sub(offset)?).ok()?,
                end: u32::try_from(end.checked_sub(offset)?).ok()?,
            })
        };
        let mut text = Text {
            source,
            entries: Vec::with_capacity(spans.len()),
            map: OnceLock::new(),
        };
        for (i, &(key_start, key_end)) in spans.iter().enumerate() {
            let value_end = match spans.get(i + 1) {
                Some(&(next, _)) => scan::space_back(bytes, scan::space_back(bytes, next - 1) - 1),
                None => end,
            };
            text.entries.push(Entry {
                key: Key::At(span(key_start, key_end)?),
                raw: Some(span(value_start(key_end), value_end)?),
                value: OnceLock::new(),
            });
        }
        if has_duplicates(&text) {
            text.merge_duplicates();
        }
        Some(Properties(Repr::Text(text)))
    }

    /// Writes the properties as compact JSON, each value as it was read unless it was changed:
    /// what `serde_json::to_writer` writes for the same `Map` when the text read was serde_json's.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Repr::Map(map) => write_value(out, map),
            Repr::Text(text) => {
                out.push(b'{');
                for (i, entry) in text.entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match &entry.key {
                        // No escapes in the text, so none to write.
                        Key::At(span) => {
                            out.push(b'"');
                            out.extend_from_slice(span.get(&text.source).as_bytes());
                            out.push(b'"');
                        }
                        Key::Owned(key) => write_value(out, key),
                    }
                    out.push(b':');
                    match (entry.raw, entry.value.get()) {
                        (Some(span), _) => out.extend_from_slice(span.get(&text.source).as_bytes()),
                        (None, Some(value)) => write_value(out, value),
                        (None, None) => out.extend_from_slice(b"null"),
                    }
                }
                out.push(b'}');
            }
        }
    }
}

fn has_duplicates(text: &Text) -> bool {
    let keys = || text.entries.iter().map(|entry| text.key(entry));
    if text.entries.len() <= PAIRWISE_UP_TO {
        // Pairwise on a cheap fingerprint (length, first and last byte), the text only when
        // two fingerprints match.
        let fingerprint = |key: &str| {
            let bytes = key.as_bytes();
            let edge = |byte: Option<&u8>| u64::from(byte.copied().unwrap_or(0));
            (bytes.len() as u64) << 16 | edge(bytes.first()) << 8 | edge(bytes.last())
        };
        let mut seen: [(u64, &str); PAIRWISE_UP_TO] = [(0, ""); PAIRWISE_UP_TO];
        for (i, key) in keys().enumerate() {
            let print = fingerprint(key);
            if seen[..i]
                .iter()
                .any(|&(p, earlier)| p == print && earlier == key)
            {
                return true;
            }
            seen[i] = (print, key);
        }
        false
    } else {
        let mut seen = HashSet::with_capacity(text.entries.len());
        !keys().all(|key| seen.insert(key))
    }
}

pub(crate) fn write_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("JSON values, strings and maps always serialise");
}

/// The properties as serde_json checks them while it reads an event: an object of JSON values,
/// each read and let go ([`IgnoredAny`]), the errors those of reading them as a `Map`; and where
/// each key's text is (address and length), or `None` once a key had escapes.
pub(crate) struct Checked {
    keys: Option<Vec<(usize, usize)>>,
}

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Checked;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                // What `Map`'s own visitor expects, so an error reads the same.
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
                let mut keys = Some(Vec::with_capacity(map.size_hint().unwrap_or(16)));
                while let Some(key) = map.next_key_seed(KeyAt)? {
                    match (&mut keys, key) {
                        (Some(keys), Some(at)) => keys.push(at),
                        _ => keys = None,
                    }
                    map.next_value::<IgnoredAny>()?;
                }
                Ok(Checked { keys })
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// A key: where its text is when serde_json lends it from the input (no escapes), else `None`.
struct KeyAt;

impl<'de> DeserializeSeed<'de> for KeyAt {
    type Value = Option<(usize, usize)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyAt {
    type Value = Option<(usize, usize)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Some((key.as_ptr() as usize, key.len())))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Finding where a value ends in JSON text serde_json has already read without error: never
/// whether it is valid.
mod scan {
    pub fn space(text: &[u8], mut at: usize) -> usize {
        while matches!(text.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            at += 1;
        }
        at
    }

    /// The index after the value or punctuation that ends just before `at`, skipping space.
    pub fn space_back(text: &[u8], mut at: usize) -> usize {
        while at > 0 && matches!(text.get(at - 1), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            at -= 1;
        }
        at
    }

    /// `at` is a string's opening quote: the index after its closing one.
    fn string(text: &[u8], mut at: usize) -> usize {
        at += 1;
        while let Some(&byte) = text.get(at) {
            match byte {
                b'"' => return at + 1,
                b'\\' => at += 2,
                _ => at += 1,
            }
        }
        at
    }

    /// `at` is where a value starts: the index after it.
    pub fn value(text: &[u8], at: usize) -> usize {
        match text.get(at) {
            Some(b'"') => string(text, at),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                let mut at = at;
                while let Some(&byte) = text.get(at) {
                    match byte {
                        b'"' => {
                            at = string(text, at);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return at + 1;
                            }
                        }
                        _ => {}
                    }
                    at += 1;
                }
                at
            }
            _ => {
                let mut at = at;
                while !matches!(
                    text.get(at),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    at += 1;
                }
                at
            }
        }
    }
}

impl Deref for Properties {
    type Target = Map<String, Value>;

    /// The whole `Map`: every value parsed (once; later reads share it).
    fn deref(&self) -> &Map<String, Value> {
        match &self.0 {
            Repr::Map(map) => map,
            Repr::Text(text) => text.map.get_or_init(|| {
                text.entries
                    .iter()
                    .map(|entry| (text.key(entry).to_owned(), entry.to_value(&text.source)))
                    .collect()
            }),
        }
    }
}

impl DerefMut for Properties {
    /// The whole `Map`, to change as a `Map`: every value parsed, and the text let go.
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.map_mut()
    }
}

impl From<Map<String, Value>> for Properties {
    fn from(map: Map<String, Value>) -> Self {
        Properties(Repr::Map(map))
    }
}

impl From<Properties> for Map<String, Value> {
    fn from(properties: Properties) -> Self {
        properties.into_map()
    }
}

impl From<Properties> for Value {
    fn from(properties: Properties) -> Self {
        Value::Object(properties.into_map())
    }
}

impl FromIterator<(String, Value)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Properties(Repr::Map(iter.into_iter().collect()))
    }
}

impl PartialEq for Properties {
    /// As `Map`: the same keys with equal values, in any order.
    fn eq(&self, other: &Properties) -> bool {
        self.len() == other.len()
            && match &self.0 {
                Repr::Map(map) => map.iter().all(|(key, value)| other.get(key) == Some(value)),
                Repr::Text(text) => text
                    .entries
                    .iter()
                    .all(|entry| other.get(text.key(entry)) == Some(text.value(entry))),
            }
    }
}

impl PartialEq<Map<String, Value>> for Properties {
    fn eq(&self, other: &Map<String, Value>) -> bool {
        self.len() == other.len()
            && other
                .iter()
                .all(|(key, value)| self.get(key) == Some(value))
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Map(map) => map.fmt(f),
            Repr::Text(text) => f
                .debug_map()
                .entries(
                    text.entries
                        .iter()
                        .map(|entry| (text.key(entry), text.value(entry))),
                )
                .finish(),
        }
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Map(map) => map.serialize(serializer),
            Repr::Text(text) => {
                let mut map = serializer.serialize_map(Some(text.entries.len()))?;
                for entry in &text.entries {
                    map.serialize_entry(text.key(entry), text.value(entry))?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Properties {
    /// Parsed whole, as a `Map`: [`Event::from_json`](crate::Event::from_json) is the lazy way.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Properties::from)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::Event;

    /// An event read the lazy way and the same event parsed whole.
    fn both(event: &Value) -> (Event, Event) {
        let text = serde_json::to_string(event).unwrap();
        let lazy = Event::from_json(&text).unwrap();
        let eager: Event = serde_json::from_value(event.clone()).unwrap();
        // Read as text, unless a key has escapes (then parsed whole) or there are none.
        let escaped = event["properties"].as_object().is_some_and(|p| {
            p.is_empty()
                || p.keys()
                    .any(|k| serde_json::to_string(k).unwrap().contains('\\'))
        });
        match lazy.properties.as_ref().map(|p| &p.0) {
            None => {}
            Some(Repr::Text(_)) => assert!(!escaped),
            Some(Repr::Map(_)) => assert!(escaped),
        }
        (lazy, eager)
    }

    /// What `serde_json` writes for the event, properties parsed whole.
    fn eager_json(event: &Event) -> String {
        let mut event = event.clone();
        event.properties = event.properties.map(|p| p.into_map().into());
        serde_json::to_string(&event).unwrap()
    }

    #[derive(Clone, Debug)]
    enum Op {
        Get(String),
        GetMut(String, Value),
        Insert(String, Value),
        ShiftRemove(String),
        /// Through `Deref`: reads the whole map.
        Iterate,
        /// Through `DerefMut`: a `Map` operation the type does not have itself.
        Retain(String),
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("$current_url".to_owned()),
            Just("quo\"te".to_owned()),
            "[a-c]{1,2}",
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z\"\\\\\n é{}\\[\\],:]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::vec((key(), inner), 0..3)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            key().prop_map(Op::Get),
            (key(), value()).prop_map(|(k, v)| Op::GetMut(k, v)),
            (key(), value()).prop_map(|(k, v)| Op::Insert(k, v)),
            key().prop_map(Op::ShiftRemove),
            Just(Op::Iterate),
            key().prop_map(Op::Retain),
        ]
    }

    /// Applies `op` to lazy properties and to a `Map`, and checks they answer alike.
    fn apply(lazy: &mut Properties, map: &mut Map<String, Value>, op: &Op) {
        match op {
            Op::Get(k) => assert_eq!(lazy.get(k), map.get(k)),
            Op::GetMut(k, v) => {
                let (a, b) = (lazy.get_mut(k), map.get_mut(k));
                assert_eq!(a.is_some(), b.is_some());
                if let (Some(a), Some(b)) = (a, b) {
                    *a = v.clone();
                    *b = v.clone();
                }
            }
            Op::Insert(k, v) => assert_eq!(
                lazy.insert(k.clone(), v.clone()),
                map.insert(k.clone(), v.clone())
            ),
            Op::ShiftRemove(k) => assert_eq!(lazy.shift_remove(k), map.shift_remove(k)),
            Op::Iterate => assert!(lazy.iter().eq(map.iter())),
            Op::Retain(k) => {
                lazy.retain(|key, _| key != k);
                map.retain(|key, _| key != k);
            }
        }
        assert_eq!(lazy.len(), map.len());
        assert!(lazy.contains_key("a") == map.contains_key("a"));
    }

    proptest! {
        /// Read lazily, an event writes the bytes serde_json writes for it parsed whole, and
        /// any sequence of operations leaves both the same, in the same order.
        #[test]
        fn lazy_properties_behave_as_a_map(
            pairs in prop::collection::vec((key(), value()), 0..8),
            ops in prop::collection::vec(op(), 0..8),
        ) {
            let properties = Value::Object(pairs.into_iter().collect());
            let event = json!({"event": "e", "distinct_id": "d", "properties": properties, "ip": "1.2.3.4"});
            let (mut lazy, eager) = both(&event);
            prop_assert_eq!(&lazy, &eager);
            // Text with space in it is read as well (only the harness's is compact).
            let pretty = Event::from_json(&serde_json::to_string_pretty(&event).unwrap()).unwrap();
            prop_assert_eq!(&pretty, &eager);
            prop_assert_eq!(lazy.to_json(), eager_json(&eager));
            let mut map = eager.properties.clone().unwrap().into_map();
            let properties = lazy.properties.as_mut().unwrap();
            for op in &ops {
                apply(properties, &mut map, op);
            }
            prop_assert!(properties.iter().eq(map.iter()));
            let mut expected = eager.clone();
            expected.properties = Some(map.into());
            prop_assert_eq!(lazy.to_json(), eager_json(&expected));
        }
    }

    #[test]
    fn an_untouched_value_is_not_parsed_and_a_read_one_is_parsed_once() {
        let (lazy, _) = both(
            &json!({"event": "e", "distinct_id": "d", "properties": {"a": [1, 2], "b": {"c": 3}}}),
        );
        let Some(Repr::Text(text)) = lazy.properties.as_ref().map(|p| &p.0) else {
            panic!("read as text");
        };
        assert_eq!(lazy.property("a"), Some(&json!([1, 2])));
        let parsed: Vec<bool> = text
            .entries
            .iter()
            .map(|e| e.value.get().is_some())
            .collect();
        assert_eq!(parsed, [true, false]);
    }

    #[test]
    fn duplicate_keys_keep_the_first_place_and_the_last_value_as_a_map_does() {
        let text = r#"{"event":"e","distinct_id":"d","properties":{"a":1,"b":2,"a":3}}"#;
        let lazy = Event::from_json(text).unwrap();
        let eager: Event = serde_json::from_str(text).unwrap();
        assert_eq!(lazy, eager);
        assert_eq!(lazy.to_json(), eager_json(&eager));
        assert_eq!(
            lazy.to_json(),
            r#"{"event":"e","distinct_id":"d","properties":{"a":3,"b":2}}"#
        );
        let many: Vec<String> = (0..40).map(|i| format!("\"k{}\":{i}", i % 30)).collect();
        let text = format!(
            r#"{{"event":"e","distinct_id":"d","properties":{{{}}}}}"#,
            many.join(",")
        );
        let (lazy, eager) = (
            Event::from_json(&text).unwrap(),
            serde_json::from_str::<Event>(&text).unwrap(),
        );
        assert_eq!(lazy.properties.as_ref().unwrap().len(), 30);
        assert_eq!(lazy.to_json(), eager_json(&eager));
    }

    #[test]
    fn escaped_keys_are_read_unescaped_and_written_as_serde_json_writes_them() {
        let text = r#"{"event":"e","distinct_id":"d","properties":{"a\u0062":1,"q\"":2}}"#;
        let lazy = Event::from_json(text).unwrap();
        assert_eq!(lazy.property("ab"), Some(&json!(1)));
        assert_eq!(lazy.property("q\""), Some(&json!(2)));
        assert_eq!(
            lazy.to_json(),
            r#"{"event":"e","distinct_id":"d","properties":{"ab":1,"q\"":2}}"#
        );
        // The field's own name escaped is still the field.
        let text = r#"{"event":"e","distinct_id":"d","propert\u0069es":{"a":1}}"#;
        assert_eq!(
            Event::from_json(text).unwrap().property("a"),
            Some(&json!(1))
        );
    }

    #[test]
    fn a_change_after_the_whole_map_was_read_is_made_to_that_map() {
        let (mut lazy, _) =
            both(&json!({"event": "e", "distinct_id": "d", "properties": {"a": 1}}));
        let properties = lazy.properties.as_mut().unwrap();
        assert_eq!(properties.values().count(), 1);
        properties.insert("b".into(), json!(2));
        assert_eq!(Value::from(properties.clone()), json!({"a": 1, "b": 2}));
        assert_eq!(
            lazy.to_json(),
            r#"{"event":"e","distinct_id":"d","properties":{"a":1,"b":2}}"#
        );
    }

    #[test]
    fn errors_read_as_the_whole_parse_reports_them() {
        for text in [
            r#"{"event":"e","distinct_id":"d","properties":"x"}"#,
            r#"{"event":"e","distinct_id":"d","properties":{"a":}}"#,
            r#"{"event":"e","distinct_id":"d","properties":{"a":1,}}"#,
            r#"{"event":"e","distinct_id":"d","properties":[1]}"#,
        ] {
            let lazy = Event::from_json(text).unwrap_err().to_string();
            let eager = serde_json::from_str::<Event>(text).unwrap_err().to_string();
            assert_eq!(lazy, format!("event is not valid: {eager}"), "{text}");
        }
        // `null` properties are absent, as they were.
        let event =
            Event::from_json(r#"{"event":"e","distinct_id":"d","properties":null}"#).unwrap();
        assert_eq!(event.properties, None);
    }
}
