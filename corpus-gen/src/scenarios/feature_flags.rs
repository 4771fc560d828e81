//! `feature-flags.jsonl`: `$feature_flag_called` and events carrying `$feature/<flag>`.

use serde_json::{Map, Value, json};

use crate::random::Gen;
use crate::world::{FLAGS, active_flags};

pub(crate) fn generate(g: &mut Gen<'_>, n: usize) -> Vec<Map<String, Value>> {
    (0..n)
        .map(|_| {
            let ts = g.start_time();
            let session_start = ts - g.int(0, 600_000);
            let visit = g.visit(session_start);
            let user = visit.user;
            let mut props = if g.chance(0.8) {
                let page = g.page(user.team_id);
                let referrer = g.first_referrer();
                g.web_props(&visit, &page, &referrer, ts)
            } else {
                g.server_lib()
            };
            let flag_index = g.int(0, FLAGS.len() as i64 - 1) as usize;
            let name = if g.chance(0.55) {
                let flag = &FLAGS[flag_index];
                let response = user.flags[flag_index].clone();
                props.insert("$feature_flag".into(), flag.key.into());
                props.insert("$feature_flag_response".into(), response.clone());
                if response.is_string() && g.chance(0.4) {
                    let payload =
                        json!({ "headline": "Try the new thing", "discount": g.int(5, 50) });
                    props.insert("$feature_flag_payload".into(), payload);
                }
                if g.chance(0.3) {
                    props.insert("$feature_flag_request_id".into(), g.uuid().into());
                }
                props.insert(format!("$feature/{}", flag.key), response);
                "$feature_flag_called"
            } else {
                for (flag, value) in FLAGS.iter().zip(&user.flags) {
                    if g.chance(0.8) {
                        props.insert(format!("$feature/{}", flag.key), value.clone());
                    }
                }
                g.pick(&[
                    "dashboard viewed",
                    "insight viewed",
                    "upgrade clicked",
                    "checkout_started",
                ])
            };
            props.insert("$active_feature_flags".into(), active_flags(user));
            g.event(name, user.who(), ts, props)
        })
        .collect()
}
