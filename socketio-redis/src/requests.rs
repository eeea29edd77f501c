//! Requests to the other servers, for every adapter of this crate (and
//! socketio-postgres's, which speaks the same `ClusterAdapter` answers): the
//! pending requests by id, waiting for one answer per server within the request timeout,
//! and collecting a broadcast's acks (client counts first, then acks).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;
use socketio::{AckError, AckResult, AdapterError, Data};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::stats::Stats;
use crate::wire::Decoded;

/// The requests a namespace's adapter is waiting answers for.
#[derive(Default)]
pub struct Requests(Mutex<HashMap<String, mpsc::Sender<Decoded>>>);

/// A started request: its id and where its answers arrive; dropping it
/// forgets the request, however its wait ended.
pub struct Request<'a> {
    /// The request's id (`requestId` on the wire).
    pub id: String,
    /// Where its answers arrive.
    pub answers: mpsc::Receiver<Decoded>,
    requests: &'a Requests,
}

impl Drop for Request<'_> {
    fn drop(&mut self) {
        self.requests.lock().remove(&self.id);
    }
}

impl Requests {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, mpsc::Sender<Decoded>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a request with id `id`, keeping up to `capacity` answers.
    pub fn start(&self, id: String, capacity: usize) -> Request<'_> {
        let (tx, answers) = mpsc::channel(capacity.max(1));
        self.lock().insert(id.clone(), tx);
        Request {
            id,
            answers,
            requests: self,
        }
    }

    /// Whether `id` is one of this adapter's own requests.
    pub fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// Hands an answer to its request; false when it names no request.
    pub fn answer(&self, d: Decoded) -> bool {
        let Some(id) = d.value.get("requestId").and_then(Value::as_str) else {
            return false;
        };
        let tx = self.lock().get(id).cloned();
        if let Some(tx) = tx {
            // Full: the requester has more answers than it can use.
            let _ = tx.try_send(d);
        }
        true
    }
}

impl Request<'_> {
    /// One answer from each of `expected` servers before `deadline`.
    pub async fn gather(
        &mut self,
        operation: &'static str,
        expected: usize,
        deadline: Instant,
        stats: &Stats,
    ) -> Result<Vec<Decoded>, AdapterError> {
        let started = Instant::now();
        let mut answers = Vec::with_capacity(expected);
        while answers.len() < expected {
            match tokio::time::timeout_at(deadline, self.answers.recv()).await {
                Ok(Some(d)) => answers.push(d),
                _ => {
                    stats.timeouts.fetch_add(1, Ordering::Relaxed);
                    return Err(AdapterError::Timeout {
                        operation,
                        received: answers.len(),
                        expected,
                    });
                }
            }
        }
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        stats.request_micros.fetch_add(micros, Ordering::Relaxed);
        Ok(answers)
    }

    /// The acks of a broadcast: every one of `expected` servers sends its
    /// client count (message type `count`), then each counted client's ack
    /// (type `ack`, its first argument in `packet`). Clients counted but
    /// silent at `deadline` are `AckError::Timeout`.
    pub async fn acks(
        &mut self,
        expected: usize,
        deadline: Instant,
        (count, ack): (u64, u64),
    ) -> Vec<AckResult> {
        let (mut servers, mut clients) = (0usize, 0usize);
        let mut results = Vec::new();
        while servers < expected || results.len() < clients {
            let Ok(Some(d)) = tokio::time::timeout_at(deadline, self.answers.recv()).await else {
                break;
            };
            let ty = d.value.get("type").and_then(Value::as_u64);
            let body = &d.value;
            if ty == Some(count) {
                servers += 1;
                let n = body.get("clientCount").and_then(Value::as_u64).unwrap_or(0);
                clients += usize::try_from(n).unwrap_or(0);
            } else if ty == Some(ack) {
                let arg = body.get("packet").cloned().unwrap_or(Value::Null);
                results.push(Ok(Data::from_parts(vec![arg], d.attachments)));
            }
        }
        let missing = clients.saturating_sub(results.len());
        results.extend((0..missing).map(|_| Err(AckError::Timeout)));
        results
    }
}
