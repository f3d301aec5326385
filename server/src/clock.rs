//! Time as an injectable dependency, so token expiry (and later scheduling) is testable.

use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

/// Waiting for a moment of a [`Clock`]'s time.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Ends when the clock reads `at` or later, or a little before if the clock is set back
    /// meanwhile: look at [`Clock::now`] again when it ends.
    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep {
        let wait = (at - self.now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to; for tests. Whoever waits for a moment of it
/// ([`Clock::sleep_until`]) wakes when it is moved past that moment.
#[derive(Clone)]
pub struct ManualClock(Arc<watch::Sender<DateTime<Utc>>>);

impl ManualClock {
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self(Arc::new(watch::Sender::new(at)))
    }

    pub fn advance(&self, by: Duration) {
        self.0.send_modify(|now| *now += by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.borrow()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep {
        let mut now = self.0.subscribe();
        Box::pin(async move {
            if now.wait_for(|now| *now >= at).await.is_err() {
                // The clock is gone, and its time stands still for ever.
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_whoever_waits_when_it_passes_their_moment() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("a valid time");
        let clock = ManualClock::starting_at(start);
        let mut sleep = clock.sleep_until(start + Duration::hours(12));
        let not_yet = tokio::time::timeout(std::time::Duration::from_millis(20), &mut sleep).await;
        assert!(not_yet.is_err(), "asleep before its moment");
        clock.advance(Duration::hours(11));
        let not_yet = tokio::time::timeout(std::time::Duration::from_millis(20), &mut sleep).await;
        assert!(not_yet.is_err(), "asleep an hour before its moment");
        clock.advance(Duration::hours(1));
        let woke = tokio::time::timeout(std::time::Duration::from_secs(1), &mut sleep).await;
        assert!(woke.is_ok(), "awake at its moment");
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(1), clock.sleep_until(start))
                .await
                .is_ok(),
            "a moment already passed needs no wait"
        );
    }
}
