//! Bookkeeping for the chat and presence events: who is online in each
//! namespace (sockets and status per user), who has sockets on the other
//! nodes of a cluster (as last asked), and the recent chat messages (for
//! read receipts).
//!
//! Pure data: no sockets, no emits, no settings. The event handlers in
//! [`crate::events`] read and update it under the state's lock.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::identity::typed_id;

/// Statuses `user:status` accepts.
pub const STATUSES: [&str; 4] = ["online", "away", "busy", "offline"];

/// Who is online, and the recent chat messages (for read receipts).
#[derive(Debug, Default)]
pub struct Chat {
    /// Presence per namespace.
    online: HashMap<String, Online>,
    /// Users with a socket on any node, per namespace, as last asked.
    cluster: HashMap<String, ClusterUsers>,
    /// Recent `message:send` messages by id, oldest first in `order`.
    messages: HashMap<String, Sent>,
    order: VecDeque<String>,
}

/// The users of one namespace with at least one socket.
#[derive(Debug, Default)]
struct Online {
    /// Open sockets and status per user.
    users: HashMap<String, Presence>,
    /// The visible users (status other than `offline`) sorted by id, as
    /// JSON with their token's type; built on the first request after a
    /// change.
    listed: Option<Arc<Vec<Value>>>,
}

/// The users of a namespace on every node, as the cluster last answered.
#[derive(Debug, Default)]
struct ClusterUsers {
    users: Vec<String>,
    asked: Option<Instant>,
    asking: bool,
}

#[derive(Debug)]
struct Presence {
    sockets: usize,
    status: &'static str,
    /// Whether the user's token gave the id as a JSON number.
    numeric: bool,
}

/// Where a sent message came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The conversation (room) it was sent to.
    pub conversation: String,
    /// Its sender's user id, when the sender was authenticated.
    pub user: Option<String>,
    /// Its sender's socket id.
    pub socket: String,
}

impl Chat {
    /// Counts a socket of `user` in `nsp` (`numeric` when its token gave
    /// the id as a JSON number); true when it is the user's first.
    pub fn socket_opened(&mut self, nsp: &str, user: &str, numeric: bool) -> bool {
        let o = self.online.entry(nsp.to_owned()).or_default();
        let p = o.users.entry(user.to_owned()).or_insert(Presence {
            sockets: 0,
            status: "online",
            numeric,
        });
        p.sockets += 1;
        let first = p.sockets == 1;
        if first {
            o.listed = None;
        }
        first
    }

    /// Uncounts a socket of `user` in `nsp`. When it was the user's last:
    /// `Some(visible)`, false if the user appeared offline already.
    pub fn socket_closed(&mut self, nsp: &str, user: &str) -> Option<bool> {
        let o = self.online.get_mut(nsp)?;
        let p = o.users.get_mut(user)?;
        p.sockets -= 1;
        if p.sockets > 0 {
            return None;
        }
        let visible = p.status != "offline";
        o.users.remove(user);
        o.listed = None;
        if o.users.is_empty() {
            self.online.remove(nsp);
        }
        Some(visible)
    }

    /// Sets the status of an online user; true when it changed.
    pub fn set_status(&mut self, nsp: &str, user: &str, status: &'static str) -> bool {
        let Some(o) = self.online.get_mut(nsp) else {
            return false;
        };
        match o.users.get_mut(user) {
            Some(p) if p.status != status => {
                if (p.status == "offline") != (status == "offline") {
                    o.listed = None;
                }
                p.status = status;
                true
            }
            _ => false,
        }
    }

    /// Users with a socket in `nsp` who do not appear offline, sorted by
    /// id; each a JSON number when its token gave a number, else a string.
    pub fn online_users(&mut self, nsp: &str) -> Arc<Vec<Value>> {
        let Some(o) = self.online.get_mut(nsp) else {
            return Arc::default();
        };
        let users = &o.users;
        o.listed
            .get_or_insert_with(|| {
                let visible = users.iter().filter(|(_, p)| p.status != "offline");
                let mut v: Vec<(&str, bool)> =
                    visible.map(|(u, p)| (u.as_str(), p.numeric)).collect();
                v.sort_unstable();
                Arc::new(v.into_iter().map(|(u, n)| typed_id(u, n)).collect())
            })
            .clone()
    }

    /// `ids` (users of `nsp` on other nodes too) sorted and deduplicated,
    /// as JSON: typed as their token gave them for users with a socket on
    /// this node, strings for the others (the cluster's room names carry
    /// no type).
    pub fn typed_users(&self, nsp: &str, mut ids: Vec<String>) -> Vec<Value> {
        ids.sort_unstable();
        ids.dedup();
        let here = self.online.get(nsp);
        let numeric = |u: &str| here.and_then(|o| o.users.get(u)).is_some_and(|p| p.numeric);
        ids.iter().map(|u| typed_id(u, numeric(u))).collect()
    }

    /// Whether the cluster's users of `nsp` should be asked for now (they
    /// are older than `max_age` and nobody is asking); if so the caller
    /// asks, and must call [`Chat::set_cluster_users`] or
    /// [`Chat::cluster_ask_failed`] after.
    pub fn should_ask_cluster(&mut self, nsp: &str, now: Instant, max_age: Duration) -> bool {
        let c = self.cluster.entry(nsp.to_owned()).or_default();
        let stale = c
            .asked
            .is_none_or(|t| now.saturating_duration_since(t) >= max_age);
        if stale && !c.asking {
            c.asking = true;
            return true;
        }
        false
    }

    /// The users with a socket on any node of `nsp`, asked at `now`.
    pub fn set_cluster_users(&mut self, nsp: &str, users: Vec<String>, now: Instant) {
        let c = self.cluster.entry(nsp.to_owned()).or_default();
        c.users = users;
        c.asked = Some(now);
        c.asking = false;
    }

    /// Asking the cluster failed: the next request asks again.
    pub fn cluster_ask_failed(&mut self, nsp: &str) {
        if let Some(c) = self.cluster.get_mut(nsp) {
            c.asking = false;
        }
    }

    /// Online users of `nsp` on every node: this node's visible ones, and
    /// the cluster's (as last asked) that have no socket here (a user here
    /// who appears offline stays hidden), sorted by id, typed as
    /// [`Chat::typed_users`] says.
    pub fn cluster_online_users(&self, nsp: &str) -> Vec<Value> {
        let here = self.online.get(nsp);
        let mut ids: Vec<String> = here.map_or_else(Vec::new, |o| {
            let visible = o.users.iter().filter(|(_, p)| p.status != "offline");
            visible.map(|(u, _)| u.clone()).collect()
        });
        if let Some(c) = self.cluster.get(nsp) {
            let elsewhere = c
                .users
                .iter()
                .filter(|u| here.is_none_or(|o| !o.users.contains_key(*u)));
            ids.extend(elsewhere.cloned());
        }
        self.typed_users(nsp, ids)
    }

    /// Remembers message `id`, forgetting the oldest beyond `cap`.
    pub fn remember(&mut self, id: String, sent: Sent, cap: usize) {
        if cap == 0 {
            return;
        }
        while self.order.len() >= cap {
            if let Some(old) = self.order.pop_front() {
                self.messages.remove(&old);
            }
        }
        self.order.push_back(id.clone());
        self.messages.insert(id, sent);
    }

    /// A remembered message.
    pub fn message(&self, id: &str) -> Option<&Sent> {
        self.messages.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    macro_rules! json_ids {
        ($($v:expr),*) => { vec![$(json!($v)),*] };
    }

    #[test]
    fn numeric_ids_are_listed_as_numbers() {
        let mut c = Chat::default();
        c.socket_opened("/", "42", true);
        c.socket_opened("/", "7", false);
        c.socket_opened("/", "abc", false);
        assert_eq!(*c.online_users("/"), json_ids![42, "7", "abc"]);
        let elsewhere = ["9", "42", "7"].map(String::from).to_vec();
        c.set_cluster_users("/", elsewhere, Instant::now());
        assert_eq!(
            c.cluster_online_users("/"),
            json_ids![42, "7", "9", "abc"],
            "ids only seen elsewhere are strings"
        );
    }

    #[test]
    fn presence_counts_sockets_per_user_and_namespace() {
        let mut c = Chat::default();
        assert!(c.socket_opened("/", "u1", false));
        assert!(!c.socket_opened("/", "u1", false));
        assert!(c.socket_opened("/chat", "u1", false));
        assert!(c.socket_opened("/", "u2", false));
        assert_eq!(*c.online_users("/"), json_ids!["u1", "u2"]);
        // Appearing offline hides a user; a repeated status is no change.
        assert!(c.set_status("/", "u2", "offline"));
        assert!(!c.set_status("/", "u2", "offline"));
        assert_eq!(*c.online_users("/"), json_ids!["u1"]);
        assert!(c.set_status("/", "u2", "away"));
        assert_eq!(*c.online_users("/"), json_ids!["u1", "u2"]);
        assert!(!c.set_status("/", "nobody", "away"));
        assert_eq!(c.socket_closed("/", "u1"), None);
        assert_eq!(c.socket_closed("/", "u1"), Some(true));
        assert_eq!(c.socket_closed("/", "u1"), None, "already gone");
        assert_eq!(*c.online_users("/"), json_ids!["u2"]);
        assert_eq!(*c.online_users("/chat"), json_ids!["u1"]);
        assert!(c.set_status("/chat", "u1", "offline"));
        assert_eq!(
            c.socket_closed("/chat", "u1"),
            Some(false),
            "appeared offline already"
        );
        assert!(c.online_users("/chat").is_empty());
        assert!(
            !c.online.contains_key("/chat"),
            "empty namespaces are forgotten"
        );
    }

    #[test]
    fn cluster_users_are_asked_once_per_interval_and_merged() {
        let mut c = Chat::default();
        let t0 = Instant::now();
        let age = Duration::from_secs(1);
        assert!(c.should_ask_cluster("/", t0, age));
        assert!(!c.should_ask_cluster("/", t0, age), "one asker at a time");
        c.socket_opened("/", "here", false);
        c.socket_opened("/", "hidden", false);
        c.set_status("/", "hidden", "offline");
        let all = ["b", "here", "hidden"].map(String::from).to_vec();
        c.set_cluster_users("/", all, t0);
        assert!(!c.should_ask_cluster("/", t0 + age / 2, age), "fresh");
        assert_eq!(c.cluster_online_users("/"), json_ids!["b", "here"]);
        assert!(c.should_ask_cluster("/", t0 + age, age), "stale");
        c.cluster_ask_failed("/");
        assert!(
            c.should_ask_cluster("/", t0 + age, age),
            "asked again after a failure"
        );
    }

    #[test]
    fn the_message_cache_forgets_the_oldest() {
        let mut c = Chat::default();
        let sent = |n: &str| Sent {
            conversation: n.into(),
            user: None,
            socket: "s".into(),
        };
        for i in 0..5 {
            c.remember(format!("m{i}"), sent(&format!("c{i}")), 3);
        }
        assert!(c.message("m0").is_none());
        assert!(c.message("m1").is_none());
        assert_eq!(c.message("m4").unwrap().conversation, "c4");
        assert_eq!(c.messages.len(), 3);
        assert_eq!(c.order.len(), 3);
        c.remember("x".into(), sent("c"), 0);
        assert!(c.message("x").is_none(), "a cache of 0 keeps nothing");
    }
}
