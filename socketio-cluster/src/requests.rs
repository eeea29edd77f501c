//! Requests to the other servers, for every cluster adapter (socketio-redis's
//! and socketio-postgres's): the pending requests by id, waiting for one
//! answer per server within the request timeout, and collecting a
//! broadcast's acks (client counts first, then acks).
//!
//! A request started for known nodes ([`Requests::start_for`], the
//! heartbeat adapters') waits for each of them by uid instead, and ends
//! early, with the answers it has, once every node still missing has been
//! [forgotten](Requests::forget): socket.io-adapter's `removeNode`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;
use socketio::{AckError, AckResult, AdapterError, Data};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::wire::Decoded;
use crate::Stats;

/// The requests a namespace's adapter is waiting answers for.
#[derive(Default)]
pub struct Requests(Mutex<HashMap<String, Pending>>);

/// One pending request: where its answers go (none once it has all it
/// waits for: its receiver then ends after the last one), and the uids it
/// still waits for when it knows them.
struct Pending {
    tx: Option<mpsc::Sender<Decoded>>,
    missing: Option<HashSet<String>>,
}

impl Pending {
    /// `uid` answered or is gone: once nobody is missing, the request's
    /// receiver ends after the answers already queued.
    fn settle(&mut self, uid: &str) {
        if let Some(missing) = &mut self.missing {
            missing.remove(uid);
            if missing.is_empty() {
                self.tx = None;
            }
        }
    }
}

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
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Pending>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a request with id `id`, keeping up to `capacity` answers.
    pub fn start(&self, id: String, capacity: usize) -> Request<'_> {
        self.insert(id, capacity, None)
    }

    /// Starts a request with id `id` that waits for one answer from each
    /// of the nodes `uids` (answers carry their sender's `uid`), or for
    /// the node to be forgotten.
    pub fn start_for(&self, id: String, uids: Vec<String>) -> Request<'_> {
        let capacity = uids.len();
        self.insert(id, capacity, Some(uids.into_iter().collect()))
    }

    fn insert(&self, id: String, capacity: usize, missing: Option<HashSet<String>>) -> Request<'_> {
        let (tx, answers) = mpsc::channel(capacity.max(1));
        let tx = match &missing {
            Some(m) if m.is_empty() => None,
            _ => Some(tx),
        };
        self.lock().insert(id.clone(), Pending { tx, missing });
        Request {
            id,
            answers,
            requests: self,
        }
    }

    /// Node `uid` is gone: the requests that waited for it wait for it no
    /// more (those with no one else missing end with what they have).
    pub fn forget(&self, uid: &str) {
        for pending in self.lock().values_mut() {
            pending.settle(uid);
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
        let uid = d
            .value
            .get("uid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut requests = self.lock();
        let Some(pending) = requests.get_mut(id) else {
            return true;
        };
        if let Some(tx) = &pending.tx {
            // Full: the requester has more answers than it can use (never
            // a wait: the lock is held for a queue push only).
            let _ = tx.try_send(d);
        }
        if let Some(uid) = uid {
            pending.settle(&uid);
        }
        true
    }
}

impl Request<'_> {
    /// One answer from each of `expected` servers before `deadline` (for a
    /// request [started for nodes](Requests::start_for): until each node
    /// answered or was forgotten, however many that leaves).
    pub async fn gather(
        &mut self,
        operation: &'static str,
        expected: usize,
        deadline: Instant,
        stats: &Stats,
    ) -> Result<Vec<Decoded>, AdapterError> {
        let started = Instant::now();
        let mut answers = Vec::with_capacity(expected);
        let by_uid = self
            .requests
            .lock()
            .get(&self.id)
            .is_some_and(|p| p.missing.is_some());
        while by_uid || answers.len() < expected {
            match tokio::time::timeout_at(deadline, self.answers.recv()).await {
                Ok(Some(d)) => answers.push(d),
                // Every node answered or is gone.
                Ok(None) if by_uid => break,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn answer(uid: &str, id: &str) -> Decoded {
        Decoded {
            value: json!({ "requestId": id, "uid": uid, "type": 8 }),
            attachments: Vec::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_for_nodes_ends_when_the_missing_one_is_forgotten() {
        let requests = Requests::default();
        let stats = Stats::default();
        let mut req = requests.start_for("r".into(), vec!["a".into(), "b".into()]);
        assert!(requests.answer(answer("a", "r")));
        requests.forget("b");
        let started = Instant::now();
        let got = req
            .gather("fetch_sockets", 2, started + Duration::from_secs(5), &stats)
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].value["uid"], "a");
        // Resolved at once, not at the deadline.
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(stats.timeouts.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn forgetting_a_node_that_answered_or_another_changes_nothing() {
        let requests = Requests::default();
        let stats = Stats::default();
        let mut req = requests.start_for("r".into(), vec!["a".into(), "b".into()]);
        requests.answer(answer("a", "r"));
        requests.forget("a");
        requests.forget("c");
        let started = Instant::now();
        let deadline = started + Duration::from_secs(5);
        let err = req.gather("fetch_sockets", 2, deadline, &stats).await;
        assert!(matches!(
            err,
            Err(AdapterError::Timeout {
                received: 1,
                expected: 2,
                ..
            })
        ));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_for_nodes_ends_after_the_last_answer_and_a_counted_one_on_its_count() {
        let requests = Requests::default();
        let stats = Stats::default();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut by_uid = requests.start_for("r".into(), vec!["a".into(), "b".into()]);
        requests.answer(answer("b", "r"));
        requests.answer(answer("a", "r"));
        let got = by_uid.gather("x", 2, deadline, &stats).await.unwrap();
        assert_eq!(got.len(), 2);
        // Counted requests know no uids: forgetting leaves them waiting.
        let mut counted = requests.start("c".into(), 1);
        requests.forget("a");
        requests.answer(answer("a", "c"));
        let got = counted.gather("x", 1, deadline, &stats).await.unwrap();
        assert_eq!(got.len(), 1);
        drop((by_uid, counted));
        assert!(!requests.contains("r") && !requests.contains("c"));
    }
}
