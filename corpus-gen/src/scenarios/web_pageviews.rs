//! `web-pageviews.jsonl`: `$pageview`/`$pageleave` sessions from posthog-js.

use serde_json::{Map, Value, json};

use crate::random::{Gen, extend};

pub(crate) fn generate(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    let mut events = Vec::with_capacity(n + 16);
    while events.len() < n {
        let mut ts = g.start_time();
        let visit = g.visit(ts);
        let mut referrer = g.first_referrer();
        for _ in 0..g.int(1, 6) {
            let page = g.page(visit.user.team_id);
            let props = g.web_props(&visit, &page, &referrer, ts);
            events.push(g.event("$pageview", visit.user.who(), ts, props));
            let duration = g.int(800, 240_000);
            if g.chance(0.7) {
                let leave_ts = ts + duration;
                let mut props = g.web_props(&visit, &page, &referrer, leave_ts);
                extend(
                    &mut props,
                    json!({
                        "$prev_pageview_pathname": page.path,
                        "$prev_pageview_duration": duration as f64 / 1000.0,
                        "$prev_pageview_max_scroll_percentage": g.float(0.0, 1.0, 4),
                        "$prev_pageview_last_content": g.int(400, 12_000),
                    }),
                );
                events.push(g.event("$pageleave", visit.user.who(), leave_ts, props));
            }
            ts += duration + g.int(50, 3_000);
            referrer = page.url;
        }
    }
    events.truncate(n);
    events
}
