//! The dashboard's cluster panel: two `socketio-server` nodes on one
//! throwaway Redis. The overview read from node A lists both nodes, each
//! with its own connection counts; once B stops answering (SIGSTOP: still
//! subscribed, silent) A lists it as not answering, with the time it last
//! did, instead of dropping it.

mod common;

use common::redis::Redis;
use common::{poll, Server};
use serde_json::{json, Value};

async fn node(redis: &Redis) -> Server {
    Server::start(&format!(
        "[redis]\nenabled = true\nurl = \"{}\"\nrequests_timeout_ms = 2000\n\
         [dashboard]\ncluster_timeout_ms = 1500\n",
        redis.url()
    ))
    .await
}

fn signal(s: &Server, sig: &str) {
    let pid = s.child.id().unwrap();
    let ok = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_lists_every_node_and_the_silent_one() {
    let redis = Redis::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let _on_a = a.connected(None, None).await;
    let (_b1, _b2) = (b.connected(None, None).await, b.connected(None, None).await);

    let cluster = poll(20, "both nodes with their counts", || async {
        let c = a.overview().await["cluster"].clone();
        let list = c["nodeList"].as_array()?.clone();
        let counts: Vec<_> = list.iter().map(|n| n["connections"].clone()).collect();
        (c["nodes"] == 2 && counts == [json!(1), json!(2)]).then_some(c)
    })
    .await;
    let list = cluster["nodeList"].as_array().unwrap();
    let (me, other) = (&list[0], &list[1]);
    assert_eq!(me["self"], true);
    assert_eq!(me["id"], cluster["serverId"]);
    assert_ne!(other["id"], me["id"]);
    assert_eq!(cluster["notAnswering"], 0);
    for n in list {
        assert_eq!(n["answering"], true, "{n}");
        assert!(n["hostname"].as_str().is_some_and(|h| !h.is_empty()), "{n}");
        assert!(
            n["pid"].as_u64().is_some() && n["uptime"].as_u64().is_some(),
            "{n}"
        );
        assert!(n["lastAnswered"].as_u64().is_some(), "{n}");
    }
    assert_eq!(me["pid"], a.child.id().unwrap());
    assert_eq!(other["pid"], b.child.id().unwrap());
    let root = |n: &Value| {
        n["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "/")
            .map(|x| x["sockets"].clone())
    };
    assert_eq!(root(me), Some(json!(1)));
    assert_eq!(root(other), Some(json!(2)));
    let last = other["lastAnswered"].as_u64().unwrap();

    // B freezes: Redis still counts it, it does not answer.
    signal(&b, "STOP");
    let started = std::time::Instant::now();
    let c = a.overview().await["cluster"].clone();
    let waited = started.elapsed();
    signal(&b, "CONT");
    assert_eq!(c["nodes"], 2, "{c}");
    assert_eq!(c["notAnswering"], 1, "{c}");
    let list = c["nodeList"].as_array().unwrap();
    assert_eq!(list.len(), 2, "the silent node is still listed: {c}");
    assert_eq!(list[1]["id"], other["id"]);
    assert_eq!(list[1]["answering"], false);
    assert_eq!(list[1]["lastAnswered"], last);
    assert!(
        waited >= std::time::Duration::from_millis(1400),
        "waited {waited:?} for the silent node"
    );
}
