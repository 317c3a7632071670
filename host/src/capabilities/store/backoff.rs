//! Pacing the attempts to reach a database that failed: after each failure in a row the next
//! attempt waits twice as long (a quarter of a second first, eight seconds at most), and the
//! requests in between are answered at once with the reason and when to ask again, instead of
//! each trying to connect.

use std::time::{Duration, Instant};

use super::sql::StoreError;

/// The wait after the first failure.
pub const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(8);

/// Failures in a row and when the next attempt may be made.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
    next_attempt: Option<Instant>,
    reason: String,
}

impl Backoff {
    /// The refusal to answer when the next attempt is not due yet.
    pub fn waiting(&self) -> Option<StoreError> {
        let due = self.next_attempt?;
        let left = due.checked_duration_since(Instant::now())?;
        Some(StoreError::Unavailable {
            reason: self.reason.clone(),
            retry_after: left,
        })
    }

    /// Records a failed attempt; the refusal that says why and when to try again.
    pub fn failed(&mut self, reason: String) -> StoreError {
        self.failures = self.failures.saturating_add(1);
        let delay = delay(self.failures);
        self.next_attempt = Some(Instant::now() + delay);
        self.reason = reason.clone();
        StoreError::Unavailable {
            reason,
            retry_after: delay,
        }
    }

    /// Records a successful attempt; how many failures in a row it ends.
    pub fn succeeded(&mut self) -> u32 {
        self.next_attempt = None;
        std::mem::take(&mut self.failures)
    }
}

/// The wait after `failures` failures in a row.
pub fn delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

/// `retry_after` as a `Retry-After` value: whole seconds, at least one.
pub fn whole_seconds(retry_after: Duration) -> u64 {
    (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_its_bound() {
        assert_eq!(delay(1), FIRST_DELAY);
        assert_eq!(delay(2), FIRST_DELAY * 2);
        assert_eq!(delay(6), MAX_DELAY);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn requests_between_attempts_are_refused_without_trying() {
        let mut backoff = Backoff::default();
        assert!(backoff.waiting().is_none());
        let refusal = backoff.failed("connection refused".into());
        assert!(
            matches!(refusal, StoreError::Unavailable { retry_after, .. } if retry_after == FIRST_DELAY)
        );
        match backoff.waiting() {
            Some(StoreError::Unavailable {
                reason,
                retry_after,
            }) => {
                assert_eq!(reason, "connection refused");
                assert!(retry_after <= FIRST_DELAY);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(backoff.succeeded(), 1);
        assert!(backoff.waiting().is_none());
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(250)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
        assert_eq!(whole_seconds(Duration::from_millis(2001)), 3);
    }
}
