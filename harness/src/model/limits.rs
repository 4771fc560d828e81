//! Resource limits: what a plugin may use per call. The harness has defaults and ceilings; a
//! manifest may ask for less than the ceiling, never more.

use serde::{Deserialize, Serialize};

/// Limits as a manifest writes them (`limits` in `plugin.json`); absent means the default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    /// Fuel (roughly, WebAssembly instructions) per `process-event` or `on-event` call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_per_event: Option<u64>,
    /// Linear memory, in MiB.
    #[serde(rename = "memoryMiB", default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    /// Wall-clock time per call, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// The limits a plugin instance runs under, after defaults and ceilings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveLimits {
    /// Fuel a `process-event` or `on-event` call may spend before it is stopped.
    pub fuel_per_event: u64,
    /// The plugin's fuel budget per event (the manifest's `fuelPerEvent`, or the default):
    /// the gate compares measured fuel with it. Outside verification it is also the cap.
    pub fuel_budget: u64,
    /// Fuel allowed per KiB of the event a call is given, on top of the budget (and the cap):
    /// a plugin's cost grows with the event, so a flat budget would fail every plugin on the
    /// large events PostHog accepts. See [`EffectiveLimits::budget_for`].
    pub fuel_per_kib: u64,
    /// Fuel for `setup` and `teardown`, which may do more (fetch and parse a config).
    pub fuel_per_setup: u64,
    pub memory_bytes: u64,
    pub timeout_ms: u64,
    /// Largest event a plugin may return, in bytes.
    pub output_bytes: u64,
    /// Log bytes (the `log` interface plus stdout and stderr) per call.
    pub log_bytes_per_event: u64,
    /// Host calls (storage, cache, http, capture, log) per call.
    pub host_calls_per_event: u64,
    pub table_elements: u64,
}

/// The allowance per KiB of input. Chosen from the corpus: the example plugins spend 180k
/// (passthrough-like) to 380k (flatten-properties) fuel per KiB on the 64 KiB corpus event, so
/// 400k keeps every example within budget with room, and a passthrough handles a 1 MiB event
/// (about 185M) within its 20M + 410M budget.
pub const FUEL_PER_KIB: u64 = 400_000;

/// The allowance per KiB of input for JavaScript plugins (`js_build`). StarlingMonkey parses
/// and serialises the event in an interpreter: about 2.8M fuel per KiB on the corpus's 64 KiB
/// event (a plugin that only parses and returns it), seven times a Rust plugin's, so a
/// JavaScript plugin gets ten times [`FUEL_PER_KIB`]. Its base budget stays the default: the
/// examples spend 2-6M per ordinary event. A kind-specific default rather than a declared
/// one, so that a PostHog plugin copied in as it is verifies without a harness field.
pub const JS_FUEL_PER_KIB: u64 = 10 * FUEL_PER_KIB;

impl EffectiveLimits {
    /// The limits of a JavaScript plugin: the per-KiB allowance of [`JS_FUEL_PER_KIB`].
    pub fn for_javascript(self) -> EffectiveLimits {
        EffectiveLimits {
            fuel_per_kib: JS_FUEL_PER_KIB,
            ..self
        }
    }

    /// The allowance for an input of `bytes`: `fuel_per_kib` per started KiB.
    fn allowance(&self, bytes: usize) -> u64 {
        self.fuel_per_kib
            .saturating_mul((bytes as u64).div_ceil(1024))
    }

    /// The fuel budget for an event of `bytes`: the base budget plus the per-KiB allowance.
    /// The budget stage gates on it.
    pub fn budget_for(&self, bytes: usize) -> u64 {
        self.fuel_budget.saturating_add(self.allowance(bytes))
    }

    /// The fuel a call given `bytes` may spend before it is stopped.
    pub fn cap_for(&self, bytes: usize) -> u64 {
        self.fuel_per_event.saturating_add(self.allowance(bytes))
    }
}

/// The defaults, used when a manifest says nothing.
pub const DEFAULT: EffectiveLimits = EffectiveLimits {
    fuel_per_event: 20_000_000,
    fuel_budget: 20_000_000,
    fuel_per_kib: FUEL_PER_KIB,
    fuel_per_setup: 200_000_000,
    memory_bytes: 64 << 20,
    timeout_ms: 1_000,
    output_bytes: 1 << 20,
    log_bytes_per_event: posthog_plugin_limits::LOG_BYTES_PER_EVENT,
    host_calls_per_event: posthog_plugin_limits::HOST_CALLS_PER_EVENT,
    table_elements: 100_000,
};

/// The most a manifest may ask for.
pub const CEILING: EffectiveLimits = EffectiveLimits {
    fuel_per_event: 500_000_000,
    fuel_budget: 500_000_000,
    fuel_per_kib: FUEL_PER_KIB,
    fuel_per_setup: 200_000_000,
    memory_bytes: 512 << 20,
    timeout_ms: 5_000,
    output_bytes: 1 << 20,
    log_bytes_per_event: posthog_plugin_limits::LOG_BYTES_PER_EVENT,
    host_calls_per_event: posthog_plugin_limits::HOST_CALLS_PER_EVENT,
    table_elements: 100_000,
};

impl Limits {
    /// The limits to run with: the manifest's values where given, capped at the ceilings.
    pub fn effective(&self) -> EffectiveLimits {
        let fuel = self
            .fuel_per_event
            .unwrap_or(DEFAULT.fuel_per_event)
            .min(CEILING.fuel_per_event);
        EffectiveLimits {
            fuel_per_event: fuel,
            fuel_budget: fuel,
            memory_bytes: self
                .memory_mib
                .map(|mib| mib.saturating_mul(1 << 20))
                .unwrap_or(DEFAULT.memory_bytes)
                .min(CEILING.memory_bytes),
            timeout_ms: self
                .timeout_ms
                .unwrap_or(DEFAULT.timeout_ms)
                .min(CEILING.timeout_ms),
            ..DEFAULT
        }
    }

    /// The limits while verifying: calls may spend fuel up to the ceiling, so that the gate
    /// can report what a plugin really spends against its budget (a call cut off at the budget
    /// would only say "at least").
    pub fn for_verification(effective: EffectiveLimits) -> EffectiveLimits {
        EffectiveLimits {
            fuel_per_event: CEILING.fuel_per_event.max(effective.fuel_budget),
            ..effective
        }
    }

    /// Each requested value above its ceiling, as `(field, asked, ceiling)`.
    pub fn over_ceiling(&self) -> Vec<(&'static str, u64, u64)> {
        let mut over = Vec::new();
        if let Some(fuel) = self.fuel_per_event.filter(|f| *f > CEILING.fuel_per_event) {
            over.push(("fuelPerEvent", fuel, CEILING.fuel_per_event));
        }
        let ceiling_mib = CEILING.memory_bytes >> 20;
        if let Some(mib) = self.memory_mib.filter(|m| *m > ceiling_mib) {
            over.push(("memoryMiB", mib, ceiling_mib));
        }
        if let Some(ms) = self.timeout_ms.filter(|t| *t > CEILING.timeout_ms) {
            over.push(("timeoutMs", ms, CEILING.timeout_ms));
        }
        over
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_scales_with_the_event() {
        assert_eq!(DEFAULT.budget_for(0), 20_000_000);
        assert_eq!(DEFAULT.budget_for(1), 20_000_000 + FUEL_PER_KIB);
        assert_eq!(DEFAULT.budget_for(64 << 10), 20_000_000 + 64 * FUEL_PER_KIB);
        assert!(DEFAULT.cap_for(1 << 20) > 400_000_000);
    }

    #[test]
    fn absent_limits_are_the_defaults() {
        assert_eq!(Limits::default().effective(), DEFAULT);
    }

    #[test]
    fn a_manifest_may_lower_but_not_raise_limits() {
        let limits = Limits {
            fuel_per_event: Some(1_000),
            memory_mib: Some(100_000),
            timeout_ms: None,
        };
        let effective = limits.effective();
        assert_eq!(effective.fuel_per_event, 1_000);
        assert_eq!(effective.memory_bytes, CEILING.memory_bytes);
        assert_eq!(limits.over_ceiling(), [("memoryMiB", 100_000, 512)]);
    }
}
