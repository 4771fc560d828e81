//! `identify-and-alias.jsonl`: `$identify` with `$set`/`$set_once`, and `$create_alias`.

use serde_json::{Map, Value, json};

use crate::random::{Gen, extend, object};
use crate::time::{DAY_MS, rfc3339};
use crate::web::{Visit, referring_domain};

pub(crate) fn generate(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    (0..n)
        .map(|_| {
            let ts = g.start_time();
            let user = g.identified_user();
            let company = g.world.company(user);
            let session_start = ts - g.int(0, 900_000);
            let visit = Visit {
                user,
                client: g.web_client(),
                session_id: g.uuid7(session_start),
                window_id: g.uuid7(session_start + 3),
            };
            let page = g.page(user.team_id);
            let referrer = g.first_referrer();
            let mut props = g.web_props(&visit, &page, &referrer, ts);
            if g.chance(0.72) {
                props.insert("$anon_distinct_id".into(), user.anon_id.clone().into());
                let mut set = object(json!({
                    "email": user.email,
                    "name": user.name,
                    "plan": user.plan,
                    "company": company.seed.name,
                }));
                if g.chance(0.4) {
                    extend(
                        &mut set,
                        json!({
                            "is_admin": g.chance(0.2),
                            "seats": g.int(1, 250),
                            "role": g.pick(&["engineer", "founder", "Product Manager", "marketing", ""]),
                        }),
                    );
                }
                let first_url = g.page(user.team_id).url;
                let set_once = json!({
                    "$initial_referrer": referrer,
                    "$initial_referring_domain": referring_domain(&referrer),
                    "$initial_current_url": first_url,
                    "$initial_os": visit.client.os,
                    "signup_date": rfc3339(ts - g.int(0, 200) * DAY_MS),
                });
                let mut event = if g.chance(0.15) {
                    // Older SDKs send $set and $set_once inside the properties.
                    props.insert("$set".into(), Value::Object(set));
                    props.insert("$set_once".into(), set_once);
                    g.event("$identify", user.who(), ts, props)
                } else {
                    let mut event = g.event("$identify", user.who(), ts, props);
                    event.insert("$set".into(), Value::Object(set));
                    if g.chance(0.85) {
                        event.insert("$set_once".into(), set_once);
                    }
                    event
                };
                if g.chance(0.1) {
                    // Identifying with nothing to set.
                    event.insert("$set".into(), json!({}));
                }
                event
            } else {
                // Alias the user to another id they are known by.
                let alias = if user.distinct_id.contains('@') {
                    g.int(1, 2_000_000).to_string()
                } else {
                    user.email.clone()
                };
                props.insert("alias".into(), alias.into());
                g.event("$create_alias", user.who(), ts, props)
            }
        })
        .collect()
}
