//! `run`'s real runtime, attacked from the plugin's side: outgoing https against a server on
//! loopback that the test starts (with a certificate the test generates), and storage that
//! outlives the process.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{built_component, event, fixture_dir, harness, misbehaving_dir, stderr};
use crate::loopback::{Answer, TlsServer};

/// The server's answers: `/hello` (200, a short body), `/redirect` (302 to `/secret`),
/// `/secret`, `/big` (9 MiB), `/slow` (answers after 3 s).
fn routes(path: &str, port: u16) -> Answer {
    match path {
        "/hello" => Answer::ok(b"hello from loopback".to_vec()),
        "/secret" => Answer::ok(b"the operator's secret".to_vec()),
        "/redirect" => Answer {
            status: "302 Found",
            headers: format!("location: https://localhost:{port}/secret\r\n"),
            body: Vec::new(),
        },
        "/big" => Answer::ok(vec![b'x'; 9 << 20]),
        "/slow" => {
            std::thread::sleep(std::time::Duration::from_secs(3));
            Answer::ok(b"late".to_vec())
        }
        _ => Answer::not_found(),
    }
}

fn start() -> TlsServer {
    TlsServer::start(routes)
}

/// A workspace with the fetcher fixture as `plugins/fetcher` (its component and manifest).
fn fetcher_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("plugins/fetcher");
    std::fs::create_dir_all(&plugin).unwrap();
    let fixture = fixture_dir("fetcher");
    std::fs::copy(built_component(&fixture), plugin.join("plugin.wasm")).unwrap();
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("plugin.json")).unwrap())
            .unwrap();
    manifest["main"] = json!("plugin.wasm");
    std::fs::write(plugin.join("plugin.json"), manifest.to_string()).unwrap();
    dir
}

/// Events asking the fetcher for each URL, as JSONL.
fn events_for(urls: &[String]) -> String {
    urls.iter()
        .enumerate()
        .map(|(n, url)| {
            let mut e = event("fetch", n as u32);
            e["properties"]["url"] = json!(url);
            e.to_string() + "\n"
        })
        .collect()
}

/// Runs `harness run --allow-unapproved` in `dir` over `input` with `args`, returning the
/// emitted events.
fn run_in(dir: &Path, input: &str, args: &[&str]) -> (Vec<Value>, String) {
    let mut all = vec!["--allow-unapproved"];
    all.extend_from_slice(args);
    run_approved_in(dir, input, &all)
}

/// Runs `harness run` in `dir` over `input` with `args`, returning the emitted events.
fn run_approved_in(dir: &Path, input: &str, args: &[&str]) -> (Vec<Value>, String) {
    std::fs::write(dir.join("in.jsonl"), input).unwrap();
    let mut all = vec!["run", "--input", "in.jsonl"];
    all.extend_from_slice(args);
    let output = harness(&all, dir);
    assert!(output.status.success(), "{}", stderr(&output));
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (events, stderr(&output))
}

fn property<'a>(event: &'a Value, key: &str) -> &'a Value {
    &event["properties"][key]
}

#[test]
fn run_fetches_over_https_from_the_manifests_hosts_only() {
    let server = start();
    let ws = fetcher_workspace();
    let urls = [
        server.url("/hello"),
        server.url("/redirect"),
        server.url("/big"),
        // Clear text, to a listed host.
        format!("http://localhost:{}/hello", server.port),
        // The same server by an address the manifest does not list.
        format!("https://127.0.0.1:{}/hello", server.port),
    ];
    let flags = server.flags();
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.push("plugins/fetcher");
    let (events, _) = run_in(ws.path(), &events_for(&urls), &args);
    assert_eq!(events.len(), 5);
    assert_eq!(property(&events[0], "fetched_status"), 200);
    assert_eq!(
        property(&events[0], "fetched_body"),
        "hello from loopback",
        "{:#}",
        events[0]
    );
    // A redirect is not followed: the plugin sees it, and the target is never asked.
    assert_eq!(property(&events[1], "fetched_status"), 302);
    assert_eq!(
        property(&events[1], "fetched_location"),
        &json!(server.url("/secret"))
    );
    let error = |n: usize| property(&events[n], "fetch_error").as_str().unwrap_or("");
    assert!(
        error(2).contains("larger than 8388608 bytes"),
        "{}",
        error(2)
    );
    assert!(error(3).contains("is not https"), "{}", error(3));
    assert!(
        error(4).contains("host `127.0.0.1` is not in plugin.json's capabilities.http.hosts"),
        "{}",
        error(4)
    );
    let paths: Vec<String> = server.received().into_iter().map(|r| r.path).collect();
    assert!(!paths.contains(&"/secret".to_owned()), "{paths:?}");
    assert_eq!(
        paths.iter().filter(|p| *p == "/hello").count(),
        1,
        "only the https request to a listed host arrives: {paths:?}"
    );
}

#[test]
fn run_refuses_private_addresses_and_sends_none_of_the_harnesss_tokens() {
    let server = start();
    let ws = fetcher_workspace();
    let ca = server.ca();
    let input = events_for(&[server.url("/hello")]);
    // `localhost` resolves to loopback: refused without --allow-private-network (a plugin
    // must not reach the operator's own network, whatever name its manifest lists).
    let (events, _) = run_in(
        ws.path(),
        &input,
        &[
            "--storage",
            ":memory:",
            "--http-root-certificate",
            &ca,
            "plugins/fetcher",
        ],
    );
    let error = property(&events[0], "fetch_error").as_str().unwrap_or("");
    assert!(error.contains("not a public address"), "{error}");
    assert!(server.received().is_empty());

    // Allowed, the request carries nothing of the harness's environment.
    std::fs::write(ws.path().join("in.jsonl"), &input).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "run",
            "--allow-unapproved",
            "--input",
            "in.jsonl",
            "--storage",
            ":memory:",
            "--http-root-certificate",
            &ca,
            "--allow-private-network",
            "plugins/fetcher",
        ])
        .current_dir(ws.path())
        .env("GITHUB_TOKEN", "ghp_harnesstokenharnesstoken")
        .env("NPM_TOKEN", "npm_harnesstokenharnesstoken")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let received = server.received();
    assert_eq!(
        received.len(),
        1,
        "{received:?} (the proxy variable is ignored)"
    );
    let head = received[0].head.to_ascii_lowercase();
    assert!(!head.contains("harnesstoken"), "{head}");
    assert!(!head.contains("authorization"), "{head}");
    assert!(
        head.contains("user-agent: posthog-plugin-harness/"),
        "{head}"
    );
}

#[test]
fn an_approved_plugin_sends_only_the_requests_verification_answered() {
    let server = start();
    let ws = fetcher_workspace();
    std::fs::create_dir_all(ws.path().join("corpus")).unwrap();
    std::fs::write(
        ws.path().join("corpus/events.jsonl"),
        crate::common::two_events(),
    )
    .unwrap();
    let fixtures = ws.path().join("plugins/fetcher/fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    let recorded = |paths: &[&str]| {
        let entries: Vec<Value> = paths
            .iter()
            .map(|path| json!({"request": {"url": server.url(path)}, "response": {"body": "recorded"}}))
            .collect();
        std::fs::write(fixtures.join("http.json"), Value::from(entries).to_string()).unwrap();
    };
    recorded(&["/hello"]);
    let verified = harness(&["verify", "--approve", "plugins/fetcher"], ws.path());
    assert!(verified.status.success(), "{}", stderr(&verified));
    let lock = std::fs::read_to_string(ws.path().join("plugins/library.lock")).unwrap();
    assert!(
        lock.contains(&format!("GET {}", server.url("/hello"))),
        "{lock}"
    );

    // The attack: fixtures widened after the approval. The lock, not the file, decides.
    recorded(&["/hello", "/secret"]);
    let flags = server.flags();
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.push("plugins/fetcher");
    let input = events_for(&[server.url("/hello"), server.url("/secret")]);
    let (events, _) = run_approved_in(ws.path(), &input, &args);
    // The approved request reaches the real server (its answer, not the fixture's).
    assert_eq!(property(&events[0], "fetched_body"), "hello from loopback");
    let error = property(&events[1], "fetch_error").as_str().unwrap_or("");
    assert!(
        error.contains("is not a request verification answered"),
        "{error}"
    );
    let paths: Vec<String> = server.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/hello".to_owned()]);
}

#[test]
fn a_request_that_outlasts_the_deadline_is_cut_off() {
    let server = start();
    let ws = fetcher_workspace();
    let flags = server.flags();
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend(["--summary-json", "plugins/fetcher"]);
    let (events, stderr) = run_in(ws.path(), &events_for(&[server.url("/slow")]), &args);
    let summary: Value = serde_json::from_str(&stderr[stderr.find('{').unwrap()..]).unwrap();
    let error = property(&events[0], "fetch_error").as_str().unwrap_or("");
    // The host call waited at most what was left of the call's deadline (1 s by default), not
    // the server's 3 s: the plugin sees the request time out, or, when the machine is slow
    // enough that the deadline has passed by the time the plugin runs again, the call is
    // stopped (`run/timeout`). Either way the call ends at its deadline.
    let stopped = summary["per_plugin"][0][1]["failures_by_rule"]["run/timeout"] == 1;
    assert!(
        error.contains("timed out") || stopped,
        "{error} {summary:#}"
    );
}

#[test]
fn the_deterministic_environment_answers_from_fixtures_and_reaches_nothing() {
    let server = start();
    let ws = fetcher_workspace();
    let ca = server.ca();
    let (events, _) = run_in(
        ws.path(),
        &events_for(&[server.url("/hello")]),
        &[
            "--deterministic",
            "--http-root-certificate",
            &ca,
            "--allow-private-network",
            "plugins/fetcher",
        ],
    );
    let error = property(&events[0], "fetch_error").as_str().unwrap_or("");
    assert!(error.contains("no recorded response"), "{error}");
    assert!(server.received().is_empty());
    assert!(!ws.path().join("plugins/storage.redb").exists());
}

/// A library of two counting plugins (the misbehaving fixture in mode `count`, which keeps a
/// count in storage and writes it into each event) and a pipeline file running both.
fn counting_library() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    for name in ["counter-a", "counter-b"] {
        let dir = misbehaving_dir(json!({"name": name, "main": "plugin.wasm"}));
        let target = ws.path().join("plugins").join(name);
        std::fs::create_dir_all(&target).unwrap();
        for file in ["plugin.json", "plugin.wasm"] {
            std::fs::copy(dir.path().join(file), target.join(file)).unwrap();
        }
    }
    std::fs::write(
        ws.path().join("plugins/pipeline.toml"),
        "[[plugins]]\npath = \"counter-a\"\nconfig = { mode = \"count\" }\n\n\
         [[plugins]]\npath = \"counter-b\"\nconfig = { mode = \"count\" }\n",
    )
    .unwrap();
    ws
}

fn counts(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| property(e, "count").as_u64().unwrap())
        .collect()
}

#[test]
fn storage_persists_across_runs_in_the_librarys_file_one_table_per_plugin() {
    let ws = counting_library();
    let input: String = ["a", "b"]
        .iter()
        .enumerate()
        .map(|(n, name)| event(name, n as u32).to_string() + "\n")
        .collect();
    let pipeline = ["--pipeline", "plugins/pipeline.toml"];
    let (first, _) = run_in(ws.path(), &input, &pipeline);
    // Each plugin counts in its own table: one shared namespace would read [2, 4] (counter-b
    // writes the property last).
    assert_eq!(counts(&first), vec![1, 2]);
    let (second, _) = run_in(ws.path(), &input, &pipeline);
    assert_eq!(
        counts(&second),
        vec![3, 4],
        "storage survived the first run"
    );

    let storage = harness::runtime::StorageFile::open(&ws.path().join("plugins/storage.redb"))
        .expect("the library's storage file");
    assert_eq!(
        storage.entries("counter-a").unwrap(),
        vec![("count".to_owned(), "4".to_owned())]
    );
    assert_eq!(
        storage.entries("counter-b").unwrap(),
        vec![("count".to_owned(), "4".to_owned())]
    );
    drop(storage);

    // Verification's environment, and `:memory:`, start from empty storage and leave the
    // file alone.
    let mut deterministic = pipeline.to_vec();
    deterministic.push("--deterministic");
    assert_eq!(
        counts(&run_in(ws.path(), &input, &deterministic).0),
        vec![1, 2]
    );
    let mut memory = pipeline.to_vec();
    memory.extend(["--storage", ":memory:"]);
    assert_eq!(counts(&run_in(ws.path(), &input, &memory).0), vec![1, 2]);
    assert_eq!(counts(&run_in(ws.path(), &input, &pipeline).0), vec![5, 6]);
}

#[test]
fn a_storage_file_that_is_not_storage_is_a_harness_error_naming_it() {
    let ws = counting_library();
    std::fs::write(ws.path().join("plugins/storage.redb"), "not a database").unwrap();
    std::fs::write(ws.path().join("in.jsonl"), event("a", 1).to_string()).unwrap();
    let output = harness(
        &[
            "run",
            "--allow-unapproved",
            "--input",
            "in.jsonl",
            "--pipeline",
            "plugins/pipeline.toml",
        ],
        ws.path(),
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("plugins/storage.redb"),
        "{}",
        stderr(&output)
    );
}
