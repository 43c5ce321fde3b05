//! The runtime's one clock. Every time the runtime uses — a step's "now", a
//! rate-limit window, a journal entry, a message's age, a mute's end — comes
//! from here, and the store takes it from its caller, so a conversation test
//! that pins or moves a [`ManualClock`] moves all of them together.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock: what a running bot uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that can be set and moved forward (conversation tests of expiry
/// and rate limits). It runs on from where it was set, as time passes.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset: Mutex<chrono::Duration>,
}

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Sets the clock to `at`; it runs on from there.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.offset.lock().expect("clock lock") = at - Utc::now();
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        *self.offset.lock().expect("clock lock") +=
            chrono::Duration::from_std(by).unwrap_or_default();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().expect("clock lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_is_set_and_moved() {
        let clock = ManualClock::new();
        let at = Utc::now() - chrono::Duration::days(3);
        clock.set(at);
        assert!((clock.now() - at).num_seconds().abs() < 5);
        clock.advance(std::time::Duration::from_secs(7200));
        assert!(
            (clock.now() - at - chrono::Duration::hours(2))
                .num_seconds()
                .abs()
                < 5
        );
    }
}
