//! `groups.jsonl`: `$groupidentify` and custom events carrying `$groups`.

use serde_json::{Map, Value, json};

use crate::random::{Gen, Who, extend, object};
use crate::time::rfc3339;

pub(crate) fn generate(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    (0..n)
        .map(|_| {
            let ts = g.start_time();
            let user = g.user();
            let company = g.world.company(user);
            let (project_key, project_name) = g.pick_ref(&company.projects).clone();
            if g.chance(0.45) {
                let (group_type, group_key, group_set) = if g.chance(0.6) {
                    let set = json!({
                        "name": company.seed.name,
                        "industry": company.seed.industry,
                        "employees": company.employees,
                        "plan": company.plan,
                        "domain": company.seed.domain,
                        "created_at": rfc3339(company.created_ms),
                    });
                    ("company", company.seed.key.to_owned(), set)
                } else {
                    let set = json!({
                        "name": project_name,
                        "company": company.seed.key,
                        "environment": g.pick(&["production", "staging", "development"]),
                        "events_ingested": g.int(0, 50_000_000),
                    });
                    ("project", project_key, set)
                };
                let mut props = g.server_lib();
                extend(
                    &mut props,
                    json!({ "$group_type": group_type, "$group_key": group_key, "$group_set": group_set }),
                );
                // Server libraries send group identifies as the group itself; posthog-js as the user.
                let group_id = format!("${group_type}_{group_key}");
                let who = if g.chance(0.6) {
                    Who { distinct_id: &group_id, team_id: user.team_id, ip: None }
                } else {
                    user.who()
                };
                g.event("$groupidentify", who, ts, props)
            } else {
                let name = g.pick(&[
                    "project created",
                    "dashboard viewed",
                    "report exported",
                    "member invited",
                    "api key rotated",
                    "Insight Saved",
                ]);
                let mut props = g.server_lib();
                let mut groups = object(json!({ "company": company.seed.key }));
                if g.chance(0.6) {
                    groups.insert("project".into(), project_key.into());
                }
                props.insert("$groups".into(), Value::Object(groups));
                match name {
                    "dashboard viewed" => {
                        props.insert("dashboard_id".into(), g.int(1, 5000).into());
                        props.insert("tiles".into(), g.int(0, 40).into());
                    }
                    "member invited" => {
                        props.insert("role".into(), g.pick(&["admin", "member", "viewer"]).into());
                        props.insert("invitee_email_domain".into(), company.seed.domain.into());
                    }
                    "report exported" => {
                        props.insert("format".into(), g.pick(&["csv", "xlsx", "png", "PDF"]).into());
                        props.insert("rows".into(), g.int(0, 1_000_000).into());
                    }
                    _ => {}
                }
                g.event(name, user.who(), ts, props)
            }
        })
        .collect()
}
