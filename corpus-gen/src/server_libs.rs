//! The server-side libraries (posthog-python, -node, -go, -ruby) and the properties they send.

use serde_json::{Map, Value, json};

use crate::random::{Gen, object};

pub(crate) const SERVER_LIBS: &[(&str, &[&str])] = &[
    ("posthog-python", &["3.5.0", "3.7.4", "3.11.0"]),
    ("posthog-node", &["4.2.1", "4.10.1", "4.17.2"]),
    ("posthog-go", &["1.2.18", "1.2.24"]),
    ("posthog-ruby", &["2.5.0", "2.7.1"]),
];

impl Gen<'_> {
    pub(crate) fn server_lib(&mut self) -> Map<String, Value> {
        let (lib, versions) = self.pick(SERVER_LIBS);
        object(json!({ "$lib": lib, "$lib_version": self.pick(versions) }))
    }
}
