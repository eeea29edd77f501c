//! The dashboard's cluster nodes: what each other node said of itself
//! when it last answered a node-info request, and the one request in
//! flight.
//!
//! The serving node asks every other node through the cluster adapter
//! (`server_side_emit` of [`ASK_EVENT`] with a request id); each answers
//! with [`ANSWER_EVENT`] (the id, the asker's server id, its own
//! description as `crate::api::dashboard::node_info` makes it). A node
//! that answered an earlier request but not the current one stays listed
//! as not answering, with the time it last did, until `dashboard.cluster_forget_secs` passed; at most
//! `dashboard.cluster_max_nodes` are kept.
//!
//! Pure bookkeeping: time comes from the caller, sending and waiting are
//! the API's (`crate::api::dashboard`). Must not read the settings.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Value};
use tokio::sync::watch;

/// The `server_side_emit` event asking the other nodes for their info:
/// `{requestId, from}`.
pub const ASK_EVENT: &str = "dashboard:node-info?";
/// The answer, sent to every node and kept by the asker only:
/// `{requestId, to, node}`.
pub const ANSWER_EVENT: &str = "dashboard:node-info";

/// Longest server id, request id or host name kept from an answer, in
/// bytes (longer answers are dropped: a peer's bug, not a node).
const MAX_FIELD: usize = 256;
/// Most namespaces kept from one node's answer.
const MAX_NAMESPACES: usize = 256;

/// One node as the dashboard lists it.
#[derive(Debug, Clone, PartialEq)]
struct Known {
    /// The node's own description (`hostname`, `pid`, `uptime`,
    /// `connections`, `namespaces`).
    info: Value,
    /// When it last answered (Unix ms).
    answered_at: u64,
    /// The request it last answered.
    round: u64,
}

#[derive(Default)]
struct Table {
    nodes: HashMap<String, Known>,
    /// The current request: its number and id.
    round: u64,
    current: Option<String>,
    /// Answers to the current request.
    answers: usize,
}

/// The nodes table and the request in flight.
pub struct Nodes {
    table: Mutex<Table>,
    answered: watch::Sender<usize>,
}

impl Default for Nodes {
    fn default() -> Self {
        Nodes {
            table: Mutex::new(Table::default()),
            answered: watch::channel(0).0,
        }
    }
}

/// A request to make or to wait for.
pub struct Ask {
    /// The id to send with [`ASK_EVENT`]: `Some` when this caller starts
    /// the request, `None` when one is in flight already (then it only
    /// waits for that one).
    pub send: Option<String>,
    /// The number of answers so far, changing as they come.
    pub answers: watch::Receiver<usize>,
}

impl Nodes {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a request unless one is in flight (see [`Nodes::finish`]).
    pub fn ask(&self) -> Ask {
        let mut t = self.lock();
        let send = match t.current {
            Some(_) => None,
            None => {
                t.round += 1;
                let bytes: [u8; 8] = rand::random();
                let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                t.current = Some(id.clone());
                t.answers = 0;
                self.answered.send_replace(0);
                Some(id)
            }
        };
        Ask {
            send,
            answers: self.answered.subscribe(),
        }
    }

    /// Ends the request in flight (its waiting time is over): later
    /// answers to it are dropped.
    pub fn finish(&self) {
        self.lock().current = None;
    }

    /// Takes an answer `{requestId, to, node}` received at `now` (Unix ms)
    /// by the node `me`: kept when it answers the request in flight and is
    /// for `me`, from at most `max` nodes; whether it was kept.
    pub fn answer(&self, me: &str, msg: &Value, now: u64, max: usize) -> bool {
        let field = |k: &str| msg.get(k).and_then(Value::as_str);
        let node = msg.get("node");
        let id = node.and_then(|n| n.get("id")).and_then(Value::as_str);
        let (Some(req), Some(node), Some(id)) = (field("requestId"), node, id) else {
            return false;
        };
        if field("to") != Some(me) || id.len() > MAX_FIELD || id == me {
            return false;
        }
        let mut t = self.lock();
        if t.current.as_deref() != Some(req) {
            return false;
        }
        if !t.nodes.contains_key(id) && t.nodes.len() >= max.max(1) {
            return false;
        }
        let round = t.round;
        let fresh = t
            .nodes
            .insert(
                id.to_owned(),
                Known {
                    info: clean(node),
                    answered_at: now,
                    round,
                },
            )
            .is_none_or(|k| k.round != round);
        if fresh {
            t.answers += 1;
            self.answered.send_replace(t.answers);
        }
        true
    }

    /// The other nodes, sorted by id, each as its answer with
    /// `lastAnswered` (Unix ms) and `answering` (it answered the latest
    /// request); those silent for `forget_ms` or longer are dropped.
    pub fn list(&self, now: u64, forget_ms: u64) -> Vec<Value> {
        let mut t = self.lock();
        t.nodes
            .retain(|_, k| now.saturating_sub(k.answered_at) < forget_ms);
        let round = t.round;
        let mut out: Vec<(String, Value)> = t
            .nodes
            .iter()
            .map(|(id, k)| {
                let mut v = k.info.clone();
                v["lastAnswered"] = k.answered_at.into();
                v["answering"] = (k.round == round).into();
                (id.clone(), v)
            })
            .collect();
        drop(t);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.into_iter().map(|(_, v)| v).collect()
    }
}

/// The fields of a node's answer the dashboard shows, with their types
/// checked (anything else is dropped).
fn clean(node: &Value) -> Value {
    let text = |k: &str| {
        node.get(k)
            .and_then(Value::as_str)
            .filter(|s| s.len() <= MAX_FIELD)
            .map(Value::from)
            .unwrap_or(Value::Null)
    };
    let number = |k: &str| node.get(k).filter(|v| v.is_number()).cloned();
    let namespaces: Vec<Value> = node
        .get("namespaces")
        .and_then(Value::as_array)
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|n| {
            let name = n.get("name")?.as_str().filter(|s| s.len() <= MAX_FIELD)?;
            let sockets = n.get("sockets")?.as_u64()?;
            Some(json!({ "name": name, "sockets": sockets }))
        })
        .take(MAX_NAMESPACES)
        .collect();
    json!({
        "id": text("id"),
        "hostname": text("hostname"),
        "pid": number("pid"),
        "uptime": number("uptime"),
        "connections": number("connections"),
        "namespaces": namespaces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(req: &str, to: &str, id: &str, conns: u64) -> Value {
        json!({"requestId": req, "to": to, "node": {
            "id": id, "hostname": "h", "pid": 7, "uptime": 3, "connections": conns,
            "namespaces": [{"name": "/", "sockets": conns}, {"bad": 1}],
            "extra": "dropped",
        }})
    }

    #[test]
    fn one_request_at_a_time_and_silent_nodes_are_marked() {
        let nodes = Nodes::default();
        let first = nodes.ask();
        let req = first.send.clone().unwrap();
        assert!(nodes.ask().send.is_none(), "one request in flight");
        assert!(!nodes.answer("me", &answer("other", "me", "b", 1), 10, 8));
        assert!(!nodes.answer("me", &answer(&req, "you", "b", 1), 10, 8));
        assert!(!nodes.answer("me", &answer(&req, "me", "me", 1), 10, 8));
        assert!(nodes.answer("me", &answer(&req, "me", "b", 2), 10, 8));
        assert!(nodes.answer("me", &answer(&req, "me", "c", 1), 11, 8));
        assert!(nodes.answer("me", &answer(&req, "me", "c", 1), 12, 8));
        assert_eq!(*first.answers.borrow(), 2, "c counted once");
        nodes.finish();
        assert!(!nodes.answer("me", &answer(&req, "me", "d", 1), 12, 8));

        let list = nodes.list(20, 1000);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["id"], "b");
        assert_eq!(list[0]["connections"], 2);
        assert_eq!(list[0]["namespaces"], json!([{"name": "/", "sockets": 2}]));
        assert_eq!(list[0]["lastAnswered"], 10);
        assert_eq!(list[0]["answering"], true);
        assert!(list[0].get("extra").is_none());

        // A second round that only b answers: c is listed as silent.
        let second = nodes.ask();
        let req2 = second.send.clone().unwrap();
        assert_ne!(req, req2);
        assert_eq!(*second.answers.borrow(), 0);
        assert!(nodes.answer("me", &answer(&req2, "me", "b", 3), 30, 8));
        nodes.finish();
        let list = nodes.list(40, 1000);
        assert_eq!(list[1]["id"], "c");
        assert_eq!(list[1]["answering"], false);
        assert_eq!(list[1]["lastAnswered"], 12);
        // Forgotten once silent for forget_ms.
        assert_eq!(nodes.list(1012, 1000).len(), 1);
    }

    #[test]
    fn at_most_max_nodes() {
        let nodes = Nodes::default();
        let req = nodes.ask().send.unwrap();
        assert!(nodes.answer("me", &answer(&req, "me", "b", 1), 1, 1));
        assert!(!nodes.answer("me", &answer(&req, "me", "c", 1), 1, 1));
        let long = "x".repeat(MAX_FIELD + 1);
        assert!(!nodes.answer("me", &answer(&req, "me", &long, 1), 1, 8));
        assert_eq!(nodes.list(1, 1000).len(), 1);
    }
}
