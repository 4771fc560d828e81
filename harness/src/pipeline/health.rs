//! Runtime health for `run`, after PostHog's successor to plugins (CDP Hog functions and their
//! HogWatcher): each plugin has a token bucket that failures and slow calls drain and time
//! refills. A plugin whose bucket falls below half is *degraded* (reported, still run); one
//! whose bucket is empty is *disabled*: passed over, every event still accounted for, until
//! time refills it past half. Verification never uses it (every event is judged).

use std::time::Duration;

use serde::Serialize;

/// The thresholds (all configurable on `run`'s command line).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HealthConfig {
    /// Tokens in a full bucket.
    pub capacity: f64,
    /// Tokens refilled per second of wall-clock time.
    pub refill_per_second: f64,
    /// Tokens a failed call costs.
    pub failure_cost: f64,
    /// A call slower than this costs [`HealthConfig::slow_cost`].
    pub slow_call: Duration,
    pub slow_cost: f64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            capacity: 100.0,
            refill_per_second: 10.0,
            failure_cost: 10.0,
            slow_call: Duration::from_millis(100),
            slow_cost: 5.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    Healthy,
    Degraded,
    Disabled,
}

/// A change of state, with the input event's number (1-based) it happened on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub from: HealthState,
    pub to: HealthState,
    pub event: u64,
}

/// One plugin's bucket.
#[derive(Clone, Debug)]
pub struct Health {
    config: HealthConfig,
    tokens: f64,
    state: HealthState,
    /// Time since the bucket was last refilled.
    since_refill: Duration,
    pub transitions: Vec<Transition>,
}

impl Health {
    pub fn new(config: HealthConfig) -> Health {
        Health {
            config,
            tokens: config.capacity,
            state: HealthState::Healthy,
            since_refill: Duration::ZERO,
            transitions: Vec::new(),
        }
    }

    pub fn state(&self) -> HealthState {
        self.state
    }

    pub fn tokens(&self) -> f64 {
        self.tokens
    }

    /// Time passed (`elapsed` since the last call to `tick`): the bucket refills.
    pub fn tick(&mut self, elapsed: Duration, event: u64) {
        self.since_refill += elapsed;
        let refill = self.since_refill.as_secs_f64() * self.config.refill_per_second;
        if refill > 0.0 {
            self.tokens = (self.tokens + refill).min(self.config.capacity);
            self.since_refill = Duration::ZERO;
        }
        self.update(event);
    }

    /// A call's outcome: a failure and a slow call cost tokens.
    pub fn record(&mut self, failed: bool, took: Duration, event: u64) {
        if failed {
            self.tokens -= self.config.failure_cost;
        }
        if took > self.config.slow_call {
            self.tokens -= self.config.slow_cost;
        }
        self.tokens = self.tokens.max(0.0);
        self.update(event);
    }

    fn update(&mut self, event: u64) {
        let half = self.config.capacity / 2.0;
        let next = match self.state {
            // A disabled plugin comes back only once refilled past half.
            HealthState::Disabled if self.tokens <= half => HealthState::Disabled,
            _ if self.tokens <= 0.0 => HealthState::Disabled,
            _ if self.tokens < half => HealthState::Degraded,
            _ => HealthState::Healthy,
        };
        if next != self.state {
            self.transitions.push(Transition {
                from: self.state,
                to: next,
                event,
            });
            self.state = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_degrade_then_disable_and_time_brings_the_plugin_back() {
        let mut health = Health::new(HealthConfig::default());
        for event in 1..=5 {
            health.record(false, Duration::from_millis(1), event);
        }
        assert_eq!(
            health.state(),
            HealthState::Healthy,
            "successes cost nothing"
        );
        for event in 6..=11 {
            health.record(true, Duration::from_millis(1), event);
        }
        assert_eq!(health.state(), HealthState::Degraded);
        for event in 12..=15 {
            health.record(true, Duration::from_millis(1), event);
        }
        assert_eq!(health.state(), HealthState::Disabled);
        // Refilled to a quarter: still disabled.
        health.tick(Duration::from_millis(2_500), 16);
        assert_eq!(health.state(), HealthState::Disabled);
        // Past half: back to healthy.
        health.tick(Duration::from_secs(3), 17);
        assert_eq!(health.state(), HealthState::Healthy);
        // One failure from there degrades it again (55 - 10 < 50).
        health.record(true, Duration::from_millis(1), 18);
        assert_eq!(health.state(), HealthState::Degraded);
        let states: Vec<_> = health.transitions.iter().map(|t| (t.to, t.event)).collect();
        assert_eq!(
            states,
            [
                (HealthState::Degraded, 11),
                (HealthState::Disabled, 15),
                (HealthState::Healthy, 17),
                (HealthState::Degraded, 18)
            ]
        );
    }

    #[test]
    fn slow_calls_cost_too() {
        let mut health = Health::new(HealthConfig {
            refill_per_second: 0.0,
            ..HealthConfig::default()
        });
        for event in 1..=11 {
            health.record(false, Duration::from_millis(150), event);
        }
        assert_eq!(health.state(), HealthState::Degraded);
        // The near miss: a call just under the threshold costs nothing.
        let mut quick = Health::new(HealthConfig::default());
        for event in 1..=100 {
            quick.record(false, Duration::from_millis(99), event);
        }
        assert_eq!(quick.state(), HealthState::Healthy);
    }
}
