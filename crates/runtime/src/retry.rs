//! Retrying with backoff, once for every door and worker: a wait that doubles
//! from a first value up to a cap, and [`retry`] for work that may fail while
//! a server is away (at most some attempts, or until it succeeds).

use std::future::Future;
use std::time::Duration;

/// A doubling wait: `first`, `2 × first`, … up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
            failures: 0,
        }
    }

    /// The wait before the next attempt (doubling each time).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        self.failures += 1;
        wait
    }

    /// The wait the next failure would get, without counting one.
    pub fn peek(&self) -> Duration {
        self.next
    }

    /// Failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// After a success: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.next = self.first;
        self.failures = 0;
    }
}

/// Runs `attempt` until it succeeds or has failed `attempts` times (`None`:
/// until it succeeds), waiting `backoff` between tries and logging each
/// failure as `what`. Returns the last error when it gives up.
pub async fn retry<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    what: &str,
    attempts: Option<u32>,
    mut backoff: Backoff,
    mut attempt: impl FnMut() -> F,
) -> Result<T, E> {
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if attempts.is_some_and(|n| backoff.failures() + 1 >= n) => {
                tracing::error!(error = %e, "{what} failed; giving up");
                return Err(e);
            }
            Err(e) => {
                let wait = backoff.next_wait();
                tracing::warn!(error = %e, retry_in = ?wait, "{what} failed; retrying");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_to_its_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(3));
        let waits: Vec<u64> = (0..5)
            .map(|_| backoff.next_wait().as_millis() as u64)
            .collect();
        assert_eq!(waits, [500, 1000, 2000, 3000, 3000]);
        assert_eq!(backoff.failures(), 5);
        backoff.reset();
        assert_eq!(backoff.next_wait(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_after_its_attempts_and_stops_at_success() {
        let backoff = || Backoff::new(Duration::from_millis(10), Duration::from_millis(40));
        let mut tries = 0;
        let failed: Result<(), String> = retry("test", Some(3), backoff(), || {
            tries += 1;
            async { Err("down".to_string()) }
        })
        .await;
        assert_eq!((failed, tries), (Err("down".into()), 3));
        let mut tries = 0;
        let done: Result<u32, String> = retry("test", None, backoff(), || {
            tries += 1;
            let n = tries;
            async move {
                if n < 4 {
                    Err("down".into())
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(done, Ok(4));
    }
}
