//! When a socket's authority ends: the `exp` of the token it was opened
//! with, moved on by each accepted `refresh`. A socket must not outlive
//! its token, or a revoked or leaked token would keep a feed open for ever.

use std::pin::Pin;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::{Instant, Sleep};

/// The longest single wait: far deadlines are re-checked instead of being
/// handed to the timer whole (it caps what it can hold, and an
/// `Instant` far in the future can overflow).
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3600);

pub struct TokenExpiry {
    at: OffsetDateTime,
    sleep: Pin<Box<Sleep>>,
}

impl TokenExpiry {
    pub fn new(at: OffsetDateTime) -> Self {
        let sleep = Box::pin(tokio::time::sleep_until(next_wake(at)));
        Self { at, sleep }
    }

    /// The socket now lasts until `at` (a refreshed token's `exp`).
    pub fn move_to(&mut self, at: OffsetDateTime) {
        self.at = at;
        self.sleep.as_mut().reset(next_wake(at));
    }

    /// Resolves once the token has expired. Cancel-safe: the timer lives
    /// in `self`, so a `select!` may poll it afresh on every turn.
    pub async fn reached(&mut self) {
        loop {
            self.sleep.as_mut().await;
            if remaining(self.at).is_zero() {
                return;
            }
            self.sleep.as_mut().reset(next_wake(self.at));
        }
    }
}

fn remaining(at: OffsetDateTime) -> Duration {
    Duration::try_from(at - OffsetDateTime::now_utc()).unwrap_or(Duration::ZERO)
}

fn next_wake(at: OffsetDateTime) -> Instant {
    Instant::now() + remaining(at).min(LONGEST_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_past_expiry_is_reached_at_once_and_a_moved_one_later() {
        let mut expiry = TokenExpiry::new(OffsetDateTime::now_utc() - Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(1), expiry.reached())
            .await
            .unwrap();
        expiry.move_to(OffsetDateTime::now_utc() + Duration::from_secs(3600));
        assert!(
            tokio::time::timeout(Duration::from_millis(50), expiry.reached())
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_far_expiry_does_not_overflow_the_timer() {
        let mut expiry = TokenExpiry::new(
            OffsetDateTime::now_utc() + Duration::from_secs(100 * 365 * 24 * 3600),
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(20), expiry.reached())
                .await
                .is_err()
        );
    }
}
