//! [`Clock`]: where the rate limits read the time. The system's monotonic
//! clock in production; a manual clock in tests, which stands still until
//! advanced, so a test crosses a rate-limit window without sleeping
//! through it and without racing it.
//!
//! Pure: owns no task and no timer. The engine's own timers (pings, the
//! connect timeout, header reads) stay on tokio's clock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The time source of the rate limiters. Cloning shares a manual clock.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<Mutex<Instant>>>);

impl Clock {
    /// The system's monotonic clock (the default).
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that starts now and moves only by [`Clock::advance`].
    pub fn manual() -> Clock {
        Clock(Some(Arc::new(Mutex::new(Instant::now()))))
    }

    /// The current time.
    pub fn now(&self) -> Instant {
        match &self.0 {
            None => Instant::now(),
            Some(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Moves a manual clock `by` forward; the system clock cannot be moved
    /// and ignores it.
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.0 {
            *t.lock().unwrap_or_else(|e| e.into_inner()) += by;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let c = Clock::manual();
        let t0 = c.now();
        assert_eq!(c.now(), t0);
        let shared = c.clone();
        shared.advance(Duration::from_secs(3));
        assert_eq!(c.now(), t0 + Duration::from_secs(3));
    }

    #[test]
    fn the_system_clock_ignores_advance() {
        let c = Clock::system();
        let before = Instant::now();
        c.advance(Duration::from_secs(3600));
        assert!(c.now() < before + Duration::from_secs(3600));
    }
}
