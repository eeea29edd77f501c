//! The sharded adapter on a Redis Cluster of three masters (what sharded
//! pub/sub exists for): two of our servers, rooms whose channels hash to
//! different masters, and a master restarted in the middle.
mod common;
#[path = "common/redis_ours.rs"]
mod redis_ours;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use redis_ours::{ours_with, Ours};
use serde_json::json;
use socketio_redis::{RedisAdapterConfig, SubscriptionMode};

/// Three `redis-server` masters in cluster mode on free ports, killed on drop.
struct Cluster {
    ports: Vec<u16>,
    dir: PathBuf,
    nodes: Vec<Option<Child>>,
}

impl Cluster {
    async fn start() -> Cluster {
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let dir = std::env::temp_dir().join(format!(
            "socketio-redis-cluster-{}-{}",
            std::process::id(),
            ports[0]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = Cluster {
            nodes: ports.iter().map(|_| None).collect(),
            ports,
            dir,
        };
        for i in 0..3 {
            c.spawn(i).await;
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for p in &c.ports {
            create.arg(format!("127.0.0.1:{p}"));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        c.wait_ok().await;
        c
    }

    async fn spawn(&mut self, i: usize) {
        let port = self.ports[i];
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
            .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join(format!("{port}.log")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        self.nodes[i] = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.cli(i, &["PING"]).as_deref() != Some("PONG") {
            assert!(
                tokio::time::Instant::now() < deadline,
                "node {port} never answered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn cli(&self, i: usize, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.ports[i].to_string()])
            .args(args)
            .output()
            .ok()?;
        Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Waits (bounded) until every node says the cluster is ok.
    async fn wait_ok(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let ok = (0..3).all(|i| {
                self.cli(i, &["CLUSTER", "INFO"])
                    .is_some_and(|s| s.contains("cluster_state:ok"))
            });
            if ok {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the cluster never got ok"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self) -> String {
        format!(
            "redis-cluster://127.0.0.1:{}?node=127.0.0.1:{}&node=127.0.0.1:{}",
            self.ports[0], self.ports[1], self.ports[2]
        )
    }

    /// The node that holds `channel`'s slot.
    fn owner(&self, channel: &str) -> usize {
        let slot: u16 = self
            .cli(0, &["CLUSTER", "KEYSLOT", channel])
            .unwrap()
            .parse()
            .unwrap();
        let nodes = self.cli(0, &["CLUSTER", "NODES"]).unwrap();
        for line in nodes.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let holds = f[8..].iter().any(|r| match r.split_once('-') {
                Some((a, b)) => a.parse::<u16>().unwrap() <= slot && slot <= b.parse().unwrap(),
                None => r.parse::<u16>().ok() == Some(slot),
            });
            if holds {
                let port: u16 = f[1].split(['@', ':']).nth(1).unwrap().parse().unwrap();
                return self.ports.iter().position(|p| *p == port).unwrap();
            }
        }
        panic!("no node holds slot {slot}");
    }

    async fn restart(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.spawn(i).await;
        self.wait_ok().await;
    }

    /// `PUBSUB SHARDNUMSUB` of `channel`, asked of the node holding it.
    fn shard_subscribers(&self, channel: &str) -> i64 {
        let out = self
            .cli(self.owner(channel), &["PUBSUB", "SHARDNUMSUB", channel])
            .unwrap_or_default();
        out.lines()
            .nth(1)
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(-1)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self.nodes.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn server(cluster: &Cluster) -> Ours {
    let config = RedisAdapterConfig::default().sharded(SubscriptionMode::Dynamic);
    ours_with(&cluster.url(), config).await
}

#[tokio::test]
async fn two_of_ours_on_three_masters_and_a_master_restarted_in_the_middle() {
    let mut cluster = Cluster::start().await;
    let a = server(&cluster).await;
    let b = server(&cluster).await;
    eventually!(
        "both subscribed",
        cluster.shard_subscribers("socket.io#/#") == 2
    );
    // Two rooms whose channels live on different masters.
    let rooms: Vec<String> = (0..50).map(|i| format!("room{i}")).collect();
    let first = rooms[0].clone();
    let other = rooms
        .iter()
        .find(|r| {
            cluster.owner(&format!("socket.io#/#{r}#"))
                != cluster.owner(&format!("socket.io#/#{first}#"))
        })
        .unwrap()
        .clone();
    let (mut on_a, _) = Client::connect(a.port, "/", json!({"rooms": [first]})).await;
    let (mut on_b, _) = Client::connect(b.port, "/", json!({"rooms": [other]})).await;
    eventually!("room channels subscribed", {
        cluster.shard_subscribers(&format!("socket.io#/#{first}#")) == 1
            && cluster.shard_subscribers(&format!("socket.io#/#{other}#")) == 1
    });
    b.io.to(first.as_str()).emit("to-first", json!(1)).unwrap();
    assert_eq!(on_a.event().await, ("to-first".into(), vec![json!(1)]));
    a.io.to(other.as_str()).emit("to-other", json!(2)).unwrap();
    assert_eq!(on_b.event().await, ("to-other".into(), vec![json!(2)]));
    let infos = a.io.of("/").broadcast().fetch_sockets().await.unwrap();
    assert_eq!(infos.len(), 2);
    assert_eq!(a.io.of("/").adapter().server_count().await.unwrap(), 2);

    // The master holding the namespace's channel restarts.
    let main = cluster.owner("socket.io#/#");
    cluster.restart(main).await;
    // Bounded: the cluster marks the node failed and back (node timeout 2 s).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while cluster.shard_subscribers("socket.io#/#") != 2 {
        assert!(tokio::time::Instant::now() < deadline, "never resubscribed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let infos = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(i) = b.io.of("/").broadcast().fetch_sockets().await {
                if i.len() == 2 {
                    return i;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("fetches across nodes again");
    assert_eq!(infos.len(), 2);
    a.io.emit("after", json!(3)).unwrap();
    assert_eq!(on_a.event().await.0, "after");
    assert_eq!(on_b.event().await, ("after".into(), vec![json!(3)]));
}

/// The Streams adapter on the same cluster, as the reference runs there
/// (`useShardedPubSub`; each stream one key, so on one master): three
/// streams, so "/" and "/chat" go to streams on different slots; broadcasts
/// both ways, a fetch and the server count across two of ours.
#[tokio::test]
async fn streams_on_three_masters() {
    let cluster = Cluster::start().await;
    let config = || {
        RedisAdapterConfig::default()
            .streams("socket.io")
            .stream_count(3)
            .sharded_pub_sub(true)
            .block_time(Duration::from_secs(1))
    };
    let a = ours_with(&cluster.url(), config()).await;
    let b = ours_with(&cluster.url(), config()).await;
    for channel in ["socket.io#/#", "socket.io#/chat#"] {
        eventually!("both subscribed", cluster.shard_subscribers(channel) == 2);
    }
    let (mut on_a, _) = Client::connect(a.port, "/", json!({"rooms": ["r"]})).await;
    let (mut on_b, _) = Client::connect(b.port, "/chat", json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.io.to("r").emit("to-a", json!(1)).unwrap();
    assert_eq!(on_a.event().await, ("to-a".into(), vec![json!(1)]));
    a.io.of("/chat").emit("to-b", json!(2)).unwrap();
    assert_eq!(on_b.event().await, ("to-b".into(), vec![json!(2)]));
    let infos = b.io.of("/").broadcast().fetch_sockets().await.unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!(a.io.of("/").adapter().server_count().await.unwrap(), 2);
}
