//! `snapshots.jsonl`: session recordings, `$snapshot` events with rrweb data and
//! `$performance_event` events.

use serde_json::{Map, Value, json};

use crate::random::{Gen, extend, fixed, object};
use crate::web::{PATHS, Page, Visit};
use crate::world::team;

pub(crate) const DOM_TAGS: &[&str] = &[
    "div", "section", "ul", "li", "p", "span", "a", "button", "img", "nav", "header", "footer",
    "form", "input",
];
pub(crate) const DOM_CLASSES: &[&str] = &[
    "container",
    "row",
    "col-md-6",
    "card",
    "card-body",
    "btn btn-primary",
    "text-muted",
    "ph-no-capture",
    "flex items-center gap-2",
];
pub(crate) const DOM_TEXTS: &[&str] = &[
    "Welcome back!",
    "Pricing",
    "Hedgehogs ♥ analytics",
    "Total: €42.00",
    "ログイン",
    "שלום",
    "Read more →",
    "\n  ",
    "*****",
];

impl Gen<'_> {
    pub(crate) fn dom(&mut self, depth: u32, next_id: &mut i64) -> Value {
        let id = *next_id;
        *next_id += 1;
        if depth == 0 || self.chance(0.2) {
            return json!({ "type": 3, "textContent": self.pick(DOM_TEXTS), "id": id });
        }
        let tag = self.pick(DOM_TAGS);
        let mut attributes = object(json!({ "class": self.pick(DOM_CLASSES) }));
        if tag == "a" {
            attributes.insert("href".into(), self.pick(PATHS).into());
        }
        if self.chance(0.15) {
            attributes.insert("data-testid".into(), format!("{tag}-{id}").into());
        }
        let children: Vec<Value> = (0..self.int(0, 4))
            .map(|_| self.dom(depth - 1, next_id))
            .collect();
        json!({ "type": 2, "tagName": tag, "attributes": attributes, "childNodes": children, "id": id })
    }

    pub(crate) fn full_snapshot(&mut self) -> Value {
        let mut next_id = 6;
        let body: Vec<Value> = (0..self.int(2, 4))
            .map(|_| self.dom(4, &mut next_id))
            .collect();
        json!({
            "node": {
                "type": 0,
                "childNodes": [
                    { "type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2 },
                    {
                        "type": 2,
                        "tagName": "html",
                        "attributes": { "lang": "en" },
                        "childNodes": [
                            { "type": 2, "tagName": "head", "attributes": {}, "childNodes": [], "id": 4 },
                            { "type": 2, "tagName": "body", "attributes": {}, "childNodes": body, "id": 5 },
                        ],
                        "id": 3,
                    },
                ],
                "id": 1,
            },
            "initialOffset": { "left": 0, "top": 0 },
        })
    }

    pub(crate) fn incremental(&mut self) -> Value {
        let id = self.int(5, 120);
        match self.int(0, 4) {
            0 => {
                let positions: Vec<Value> = (0..self.int(3, 30))
                    .map(|i| json!({ "x": self.int(0, 1920), "y": self.int(0, 1080), "id": id, "timeOffset": -20 * i }))
                    .collect();
                json!({ "source": 1, "positions": positions })
            }
            1 => {
                json!({ "source": 2, "type": self.int(0, 9), "id": id, "x": self.int(0, 1920), "y": self.int(0, 1080) })
            }
            2 => json!({ "source": 3, "id": id, "x": 0, "y": self.int(0, 8_000) }),
            3 => json!({ "source": 5, "text": "*****", "isChecked": false, "id": id }),
            _ => {
                let mut next_id = 500 + self.int(0, 100);
                let adds: Vec<Value> = (0..self.int(1, 3))
                    .map(|_| json!({ "parentId": id, "nextId": null, "node": self.dom(2, &mut next_id) }))
                    .collect();
                json!({
                    "source": 0,
                    "texts": [{ "id": id + 1, "value": self.pick(DOM_TEXTS) }],
                    "attributes": [{ "id": id, "attributes": { "class": self.pick(DOM_CLASSES), "style": null } }],
                    "removes": [{ "parentId": id, "id": id + 2 }],
                    "adds": adds,
                })
            }
        }
    }

    pub(crate) fn snapshot(
        &mut self,
        visit: &Visit<'_>,
        page: &Page,
        ts: i64,
        kind: i64,
    ) -> Map<String, Value> {
        let data = match kind {
            4 => {
                json!({ "href": page.url, "width": visit.client.viewport.0, "height": visit.client.viewport.1 })
            }
            2 => self.full_snapshot(),
            5 => json!({ "tag": "$pageview", "payload": { "href": page.url } }),
            _ => self.incremental(),
        };
        let snapshot = json!({ "type": kind, "data": data, "timestamp": ts });
        let bytes = serde_json::to_string(&snapshot).expect("JSON").len();
        let props = object(json!({
            "$snapshot_bytes": bytes,
            "$snapshot_data": snapshot,
            "$session_id": visit.session_id,
            "$window_id": visit.window_id,
            "$snapshot_source": "web",
            "distinct_id": visit.user.distinct_id,
            "$lib": "web",
            "$lib_version": visit.client.lib_version,
            "token": team(visit.user.team_id).token,
        }));
        self.event("$snapshot", visit.user.who(), ts, props)
    }

    pub(crate) fn performance_event(
        &mut self,
        visit: &Visit<'_>,
        page: &Page,
        ts: i64,
        origin: i64,
    ) -> Map<String, Value> {
        let navigation = self.chance(0.3);
        let name = if navigation {
            page.url.clone()
        } else {
            let file = self.pick(&[
                "static/app.3f9a2c.js",
                "static/styles.css",
                "api/feature_flags",
                "images/hero.webp",
                "decide/?v=3",
            ]);
            format!("https://{}/{file}", page.host)
        };
        // Times in tenths of a millisecond, so that sums stay short decimals.
        let start = if navigation { 0 } else { self.int(50, 40_000) };
        let fetch = start + self.int(0, 50);
        let request = fetch + self.int(0, 800);
        let response_start = request + self.int(50, 4_000);
        let response_end = response_start + self.int(1, 3_000);
        let ms = |tenths: i64| fixed(tenths, 1);
        let decoded = self.int(200, 900_000);
        let mut props = object(json!({
            "0": if navigation { "navigation" } else { "resource" },
            "1": fixed(origin * 10 + self.int(0, 9), 1),
            "2": name,
            "3": ms(start),
            "7": ms(fetch),
            "13": ms(request),
            "14": ms(response_start),
            "15": ms(response_end),
            "16": decoded,
            "17": decoded / self.int(1, 4),
            "18": if navigation { "navigation" } else { self.pick(&["script", "link", "fetch", "img", "xmlhttprequest"]) },
            "19": self.pick(&["h2", "h3", "http/1.1", ""]),
            "21": self.pick(&[200, 200, 200, 304, 404]),
            "22": self.int(0, 300_000),
        }));
        if navigation {
            let interactive = response_end + self.int(500, 9_000);
            let complete = interactive + self.int(100, 20_000);
            extend(
                &mut props,
                json!({
                    "29": ms(complete),
                    "30": ms(interactive + 32),
                    "31": ms(interactive),
                    "32": ms(complete + 15),
                    "33": ms(complete + 4),
                    "35": self.pick(&["navigate", "reload", "back_forward"]),
                }),
            );
        }
        extend(
            &mut props,
            json!({
                "39": ms(response_end - start),
                "40": ts,
                "token": team(visit.user.team_id).token,
                "$session_id": visit.session_id,
                "$window_id": visit.window_id,
                "$current_url": page.url,
                "$lib": "web",
                "$lib_version": visit.client.lib_version,
            }),
        );
        self.event("$performance_event", visit.user.who(), ts, props)
    }
}

pub(crate) fn generate(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    let mut events = Vec::with_capacity(n + 16);
    while events.len() < n {
        let origin = g.start_time();
        let mut ts = origin + g.int(5, 200);
        let visit = g.visit(origin);
        let page = g.page(visit.user.team_id);
        events.push(g.snapshot(&visit, &page, ts, 4));
        events.push(g.snapshot(&visit, &page, ts + 1, 2));
        for _ in 0..g.int(1, 2) {
            ts += g.int(50, 1_500);
            events.push(g.performance_event(&visit, &page, ts, origin));
        }
        for _ in 0..g.int(2, 8) {
            ts += g.int(16, 5_000);
            let kind = if g.chance(0.1) { 5 } else { 3 };
            events.push(g.snapshot(&visit, &page, ts, kind));
        }
    }
    events.truncate(n);
    events
}
