//! `web-autocapture.jsonl`: `$autocapture` clicks, changes and submits, with an
//! `$elements_chain` string or an `$elements` array.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::random::Gen;

/// One DOM element of an autocapture event.
pub(crate) struct Element {
    pub(crate) tag: &'static str,
    pub(crate) classes: &'static [&'static str],
    pub(crate) id: Option<&'static str>,
    pub(crate) href: Option<&'static str>,
    pub(crate) text: Option<&'static str>,
    pub(crate) attrs: Vec<(&'static str, &'static str)>,
    pub(crate) nth_child: i64,
    pub(crate) nth_of_type: i64,
}

impl Element {
    pub(crate) fn new(tag: &'static str, classes: &'static [&'static str]) -> Element {
        Element {
            tag,
            classes,
            id: None,
            href: None,
            text: None,
            attrs: Vec::new(),
            nth_child: 1,
            nth_of_type: 1,
        }
    }
}

pub(crate) const BUTTON_TEXTS: &[&str] = &[
    "Sign up",
    "Log in",
    "Add to cart",
    "Save changes",
    "Start free trial",
    "Add \"Pro\" plan",
    "Weiter →",
    "購入する",
    "Download",
    "  Continue  ",
];

pub(crate) const BUTTON_CLASSES: &[&[&str]] = &[
    &["btn", "primary"],
    &["btn", "btn-secondary"],
    &[],
    &[
        "LemonButton",
        "LemonButton--primary",
        "LemonButton--status-primary",
    ],
    &["w-full", "rounded-md", "bg-blue-600", "hover:bg-blue-700"],
];

pub(crate) const LINKS: &[(&str, &str)] = &[
    ("/signup", "Get started"),
    ("/pricing", "Pricing"),
    ("https://posthog.com/docs", "Docs"),
    ("#features", "Features"),
    ("/blog/2024/03/why-hedgehogs", "Read more"),
    ("mailto:hello@hogflix.com", "Contact us"),
];

pub(crate) const LINK_CLASSES: &[&[&str]] = &[&["nav-link"], &[], &["link", "text-muted"]];
pub(crate) const FIELD_CLASSES: &[&[&str]] = &[&["form-control"], &[], &["input", "input-lg"]];
pub(crate) const FORM_CLASSES: &[&[&str]] = &[&["signup-form"], &[], &["form", "needs-validation"]];

pub(crate) const ANCESTORS: &[(&str, &[&str], Option<&str>)] = &[
    ("div", &["container"], None),
    ("div", &["row", "g-2"], None),
    ("nav", &["navbar", "navbar-expand-lg"], Some("main-nav")),
    ("header", &[], None),
    ("section", &["hero"], Some("hero")),
    ("main", &[], None),
    ("li", &["nav-item"], None),
    ("ul", &["menu"], None),
    ("div", &["modal-body"], None),
];

impl Gen<'_> {
    pub(crate) fn target(&mut self, event_type: &str) -> Vec<Element> {
        let mut chain = Vec::new();
        match event_type {
            "click" => {
                if self.chance(0.35) {
                    let (href, text) = self.pick(LINKS);
                    let mut a = Element::new("a", self.pick(LINK_CLASSES));
                    a.href = Some(href);
                    a.text = Some(text);
                    chain.push(a);
                } else {
                    if self.chance(0.2) {
                        // A click on the icon inside a button.
                        chain.push(Element::new(self.pick(&["svg", "span", "img"]), &[]));
                    }
                    let mut button = Element::new("button", self.pick(BUTTON_CLASSES));
                    button.text = Some(self.pick(BUTTON_TEXTS));
                    if self.chance(0.4) {
                        button.id =
                            Some(self.pick(&["signup-button", "cta", "save", "checkout-btn"]));
                    }
                    if self.chance(0.3) {
                        button.attrs.push((
                            "attr__data-attr",
                            self.pick(&["hero-cta", "nav-signup", "plan-pro"]),
                        ));
                    }
                    button.attrs.push(("attr__type", "button"));
                    chain.push(button);
                }
            }
            "change" => {
                let (tag, kind, name) = self.pick(&[
                    ("input", "email", "email"),
                    ("input", "text", "company"),
                    ("input", "checkbox", "terms"),
                    ("input", "search", "q"),
                    ("select", "", "country"),
                    ("textarea", "", "message"),
                ]);
                let mut field = Element::new(tag, self.pick(FIELD_CLASSES));
                if !kind.is_empty() {
                    field.attrs.push(("attr__type", kind));
                }
                field.attrs.push(("attr__name", name));
                chain.push(field);
            }
            _ => {
                let mut form = Element::new("form", self.pick(FORM_CLASSES));
                form.id = Some(self.pick(&["signup-form", "checkout", "newsletter"]));
                form.attrs
                    .push(("attr__action", self.pick(&["/api/signup", "/checkout", ""])));
                form.attrs.push(("attr__method", "post"));
                chain.push(form);
            }
        }
        let mut used = BTreeSet::new();
        for _ in 0..self.int(1, 4) {
            let index = self.int(0, ANCESTORS.len() as i64 - 1);
            if !used.insert(index) {
                continue;
            }
            let (tag, classes, id) = ANCESTORS[index as usize];
            let mut el = Element::new(tag, classes);
            el.id = id;
            chain.push(el);
        }
        chain.push(Element::new("body", &[]));
        for el in &mut chain {
            el.nth_child = self.int(1, 6);
            el.nth_of_type = self.int(1, el.nth_child);
        }
        chain
    }
}

/// PostHog's `$elements_chain`: elements from the target up, `;`-separated, each
/// `tag.class1.class2:key="value"…` with the attributes in key order and `"` escaped.
pub(crate) fn elements_chain(chain: &[Element]) -> String {
    let escape = |s: &str| s.replace('"', "\\\"");
    let parts: Vec<String> = chain
        .iter()
        .map(|el| {
            let mut out = el.tag.to_owned();
            let mut classes = el.classes.to_vec();
            classes.sort_unstable();
            for class in classes {
                out.push('.');
                out.push_str(class);
            }
            let mut attrs: BTreeMap<&str, String> = BTreeMap::new();
            if !el.classes.is_empty() {
                attrs.insert("attr__class", el.classes.join(" "));
            }
            if let Some(href) = el.href {
                attrs.insert("attr__href", href.into());
                attrs.insert("href", href.into());
            }
            if let Some(id) = el.id {
                attrs.insert("attr__id", id.into());
                attrs.insert("attr_id", id.into());
            }
            for (key, value) in &el.attrs {
                attrs.insert(key, (*value).into());
            }
            attrs.insert("nth-child", el.nth_child.to_string());
            attrs.insert("nth-of-type", el.nth_of_type.to_string());
            if let Some(text) = el.text {
                attrs.insert("text", text.into());
            }
            out.push(':');
            for (key, value) in attrs {
                out.push_str(&format!("{key}=\"{}\"", escape(&value)));
            }
            out
        })
        .collect();
    parts.join(";")
}

/// posthog-js's older `$elements`: one object per element, from the target up.
pub(crate) fn elements_array(chain: &[Element], text_key: &str) -> Value {
    chain
        .iter()
        .map(|el| {
            let mut obj = Map::new();
            obj.insert("tag_name".into(), el.tag.into());
            if let Some(text) = el.text {
                obj.insert(text_key.into(), text.into());
            }
            if !el.classes.is_empty() {
                obj.insert(
                    "classes".into(),
                    el.classes.iter().map(|c| Value::from(*c)).collect(),
                );
                obj.insert("attr__class".into(), el.classes.join(" ").into());
            }
            if let Some(id) = el.id {
                obj.insert("attr__id".into(), id.into());
            }
            if let Some(href) = el.href {
                obj.insert("attr__href".into(), href.into());
            }
            for (key, value) in &el.attrs {
                obj.insert((*key).into(), (*value).into());
            }
            obj.insert("nth_child".into(), el.nth_child.into());
            obj.insert("nth_of_type".into(), el.nth_of_type.into());
            Value::Object(obj)
        })
        .collect()
}

pub(crate) fn generate(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    (0..n)
        .map(|_| {
            let ts = g.start_time();
            let session_start = ts - g.int(0, 600_000);
            let visit = g.visit(session_start);
            let page = g.page(visit.user.team_id);
            let referrer = g.first_referrer();
            let event_type = *g.weighted(&[("click", 7), ("change", 2), ("submit", 1)], |e| e.1);
            let chain = g.target(event_type.0);
            let mut props = g.web_props(&visit, &page, &referrer, ts);
            props.insert("$event_type".into(), event_type.0.into());
            props.insert("$ce_version".into(), 1.into());
            if g.chance(0.55) {
                props.insert("$elements_chain".into(), elements_chain(&chain).into());
            } else {
                let text_key = if g.chance(0.7) { "$el_text" } else { "text" };
                if let Some(text) = chain.iter().find_map(|el| el.text) {
                    props.insert("$el_text".into(), text.into());
                }
                props.insert("$elements".into(), elements_array(&chain, text_key));
            }
            g.event("$autocapture", visit.user.who(), ts, props)
        })
        .collect()
}
