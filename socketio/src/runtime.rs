//! The two things the Socket.IO core needs from a runtime: spawning a task
//! and sleeping. The tokio implementation is behind the `tokio` feature;
//! embedders on another runtime implement [`Runtime`] themselves.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Spawning and timers, supplied by the embedding runtime.
pub trait Runtime: Send + Sync + 'static {
    /// Runs `fut` to completion in the background.
    fn spawn(&self, fut: BoxFuture<()>);
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<()>;
    /// The current time (for expiring recovery sessions).
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// [`Runtime`] on the current tokio runtime.
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioRuntime;

#[cfg(feature = "tokio")]
impl Runtime for TokioRuntime {
    fn spawn(&self, fut: BoxFuture<()>) {
        tokio::spawn(fut);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}
