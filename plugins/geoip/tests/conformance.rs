//! Every case of `conformance.jsonl` (restated from the upstream plugin's own tests), run
//! natively through the plugin: see `plugins/conformance.rs` for the format.

#[path = "../../conformance.rs"]
mod conformance;

#[test]
fn upstream_cases_pass() {
    let cases = conformance::run::<geoip::GeoIp>();
    assert!(cases > 0);
}
