//! The `geoip` capability: `run` answers from the operator's MaxMind-format database (written
//! here by the test with `mmdb-writer`; none is downloaded), verification from the one built
//! from the plugin's `fixtures/geoip.json`; a plugin that does not declare it cannot call it.

use serde_json::{Value, json};

use crate::common::{self, harness, stderr, workspace_root};

/// A GeoIP2 City database with one network, as `GeoLite2-City.mmdb` holds them.
fn database(dir: &std::path::Path) -> std::path::PathBuf {
    let mut writer = mmdb_writer::Writer::new("GeoIP2-City");
    let record = json!({
        "city": {"names": {"en": "Testville"}},
        "country": {"iso_code": "TV", "names": {"en": "Testland"}},
        "location": {"latitude": 1.5, "longitude": -2.25, "accuracy_radius": 5, "time_zone": "Etc/UTC"}
    });
    writer
        .insert(
            "198.51.100.0/24"
                .parse::<mmdb_writer::ipnet::IpNet>()
                .unwrap(),
            &record,
        )
        .unwrap();
    let path = dir.join("test-city.mmdb");
    std::fs::write(&path, writer.to_bytes().unwrap()).unwrap();
    path
}

fn events(dir: &std::path::Path) -> std::path::PathBuf {
    let mut located = common::event("$pageview", 1);
    located["ip"] = json!("198.51.100.7");
    let mut elsewhere = common::event("$pageview", 2);
    elsewhere["ip"] = json!("192.0.2.7");
    let path = dir.join("events.jsonl");
    std::fs::write(&path, format!("{located}\n{elsewhere}\n")).unwrap();
    path
}

fn run(args: &[&str]) -> (std::process::Output, Vec<Value>) {
    let mut all = vec!["run", "--allow-unapproved", "--storage", ":memory:"];
    all.extend(args);
    all.push(
        workspace_root()
            .join("plugins/geoip")
            .to_str()
            .unwrap()
            .to_owned()
            .leak(),
    );
    let output = harness(&all, &workspace_root());
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (output, events)
}

#[test]
fn run_locates_addresses_in_the_operators_database_and_only_there() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let input = events(dir.path());
    let input = input.to_str().unwrap();

    let (output, out) = run(&["--geoip-database", db.to_str().unwrap(), "--input", input]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("no GeoIP database"),
        "{}",
        stderr(&output)
    );
    assert_eq!(out[0]["properties"]["$geoip_city_name"], "Testville");
    assert_eq!(out[0]["properties"]["$set"]["$geoip_country_code"], "TV");
    assert_eq!(
        out[0]["properties"]["$set_once"]["$initial_geoip_latitude"],
        1.5
    );
    assert!(
        out[1]["properties"].get("$geoip_city_name").is_none(),
        "an address the database does not hold: {}",
        out[1]
    );

    // Without a database, nothing is located: the plugin's fixtures are verification's, not
    // run's (89.160.20.129 is in them).
    let (output, out) = run(&["--input", input]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "geoip uses geoip, but there is no GeoIP database (give --geoip-database FILE)"
        ),
        "the operator is told: {}",
        stderr(&output)
    );
    assert!(
        out[0]["properties"].get("$geoip_city_name").is_none(),
        "{}",
        out[0]
    );

    // A file that is not a database is the operator's error: exit 2, naming it.
    let bad = dir.path().join("not.mmdb");
    std::fs::write(&bad, "GeoLite2? no").unwrap();
    let (output, _) = run(&["--geoip-database", bad.to_str().unwrap(), "--input", input]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("not.mmdb: not a MaxMind database"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_plugin_that_does_not_declare_geoip_cannot_import_it() {
    // The geoip example's component with `capabilities` emptied: the static stage rejects the
    // undeclared import before anything runs.
    let plugin = workspace_root().join("plugins/geoip");
    let wasm = std::fs::read(common::built_component(&plugin)).unwrap();
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(plugin.join("plugin.json")).unwrap())
            .unwrap();
    manifest["capabilities"] = json!({});
    let dir = common::plugin_dir(&manifest, &wasm);
    let output = harness(&["verify", dir.path().to_str().unwrap()], &workspace_root());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("posthog:plugin/geoip@0.1.0"), "{text}");
    assert!(
        text.contains(r#""capabilities": {"geoip": true}"#),
        "{text}"
    );
}
