//! The event proxy (`[[proxy]]`) end to end: socket.io-client sockets
//! emit app events, a small HTTP backend in the test plays the app (fast,
//! slow, failing, malformed, unreachable) and checks the signature; the
//! acks, refusals, emits, joins and leaves, the per-socket order and the
//! concurrency bounds are checked where the clients see them.

mod common;

use common::backend::{after, dead_port, now, Backend};
use common::{token, InProc};
use serde_json::{json, Value};

const SECRET: &str = "backend-secret-0123456789";

fn rule(events: &str, url: &str, timeout_ms: u64) -> String {
    format!(
        "[[proxy]]\nevents = {events}\nurl = \"{url}\"\nsecret = \"{SECRET}\"\ntimeout_ms = {timeout_ms}\n"
    )
}

/// The app: answers by event name.
async fn app() -> Backend {
    Backend::start(SECRET, |b: Value| {
        let n = b["args"][0]["n"].clone();
        match b["event"].as_str().unwrap_or("") {
            "order:create" => now(200, json!({ "ack": [{ "ok": true, "n": n }] }).to_string()),
            "order:refuse" => now(
                200,
                json!({ "error": { "message": "Order closed", "code": "ORDER_CLOSED" }, "join": ["never"] }).to_string(),
            ),
            "order:track" => now(
                200,
                json!({
                    "join": ["order-7"],
                    "emit": [
                        { "to": "order-7", "event": "order:updated", "data": { "id": 7 } },
                        { "event": "order:note", "data": "tracking" },
                    ],
                    "ack": ["tracking"],
                })
                .to_string(),
            ),
            "order:untrack" => now(200, json!({ "leave": ["order-7"] }).to_string()),
            "order:quiet" => now(204, ""),
            "order:slow" => after(3000, 200, "{}"),
            "order:fail" => now(500, "oops"),
            "order:garbled" => now(200, "{not json"),
            "order:shape" => now(200, json!({ "join": ["user_x"] }).to_string()),
            "order:huge" => now(200, json!({ "ack": ["x".repeat(5000)] }).to_string()),
            _ => now(404, ""),
        }
    })
    .await
}

/// `push` (1) to `room` through the API; how many sockets it reached.
async fn room_push(s: &InProc, room: &str) -> u64 {
    let r = s
        .api(
            "POST",
            "/api/room",
            Some(json!({ "room": room, "event": "push", "data": 1 })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["recipients"].as_u64().unwrap()
}

fn unavailable(v: &Value) -> bool {
    v["success"] == false && v["code"] == "BACKEND_UNAVAILABLE"
}

#[tokio::test]
async fn proxied_events_are_answered_by_the_backend() {
    let be = app().await;
    let s = InProc::start(&format!(
        "[rate_limits]\nevents_per_second = 1000\n{}",
        rule("[\"order:*\"]", &be.url("/socket-events"), 1000)
    ))
    .await;
    let mut a = s
        .client(
            "/",
            json!({ "auth": { "token": token("u1", Some("customer")) } }),
        )
        .await;
    let a_id = a.connected().await;
    let mut b = s.client("/", json!({})).await;
    b.connected().await;

    // The answer's ack becomes the client's.
    let ack = a.emit_ack("order:create", json!([{ "n": 3 }, "x"])).await;
    assert_eq!(ack, vec![json!({ "ok": true, "n": 3 })]);
    let seen = be.seen();
    let req = &seen[0];
    assert!(req.signature_ok, "{req:?}");
    assert!(req.timestamp.parse::<u64>().is_ok());
    assert_eq!(req.body["event"], "order:create");
    assert_eq!(req.body["args"], json!([{ "n": 3 }, "x"]));
    assert_eq!(req.body["socketId"], a_id.as_str());
    assert_eq!(req.body["userId"], "u1");
    assert_eq!(req.body["role"], "customer");
    assert_eq!(req.body["namespace"], "/");
    let rooms = req.body["rooms"].as_array().unwrap();
    assert!(rooms.contains(&json!("user_u1")) && rooms.contains(&json!("role_customer")));
    assert!(!rooms.contains(&json!(a_id)), "{rooms:?}");

    // The backend's refusal: its message and code, and nothing else applies.
    let ack = a.emit_ack("order:refuse", json!([{}])).await;
    assert_eq!(
        ack,
        vec![json!({ "success": false, "error": "Order closed", "code": "ORDER_CLOSED" })]
    );

    // join, then emit to the room and to the socket, then the ack.
    let ack = a.emit_ack("order:track", json!([{}])).await;
    assert_eq!(ack, vec![json!("tracking")]);
    assert_eq!(a.event("order:updated").await, vec![json!({ "id": 7 })]);
    assert_eq!(a.event("order:note").await, vec![json!("tracking")]);
    assert_eq!(room_push(&s, "order-7").await, 1);
    assert_eq!(a.event("push").await, vec![json!(1)]);
    assert_eq!(room_push(&s, "never").await, 0);
    b.none_before_ping("order:updated").await;

    // leave; an empty 2xx answer acks {success: true}.
    assert_eq!(
        a.emit_ack("order:untrack", json!([{}])).await,
        vec![json!({ "success": true })]
    );
    assert_eq!(
        a.emit_ack("order:quiet", json!([])).await,
        vec![json!({ "success": true })]
    );
    assert_eq!(room_push(&s, "order-7").await, 0);

    // Events no rule takes, and built-in ones, are untouched.
    assert_eq!(
        a.emit_ack("join-room", json!(["lobby"])).await,
        vec![json!({ "success": true, "room": "lobby" })]
    );
    let before = be.seen().len();
    a.emit("other:thing", json!([1])).await;
    a.emit_ack("ping", json!([])).await;
    assert_eq!(be.seen().len(), before);
}

#[tokio::test]
async fn an_https_backend_with_a_private_ca() {
    let Some((ca, tls)) = common::pki::test_tls() else {
        return;
    };
    let be = Backend::start_with(SECRET, Some(tls), |b: Value| {
        now(
            200,
            json!({ "ack": [{ "ok": true, "n": b["args"][0]["n"] }] }).to_string(),
        )
    })
    .await;
    let url = be.url("/socket-events");
    assert!(url.starts_with("https://"), "{url}");
    let rules = rule("[\"order:*\"]", &url, 5000);
    let s = InProc::start(&format!("[proxy_limits]\nca_file = \"{ca}\"\n{rules}")).await;
    let mut c = s.client("/", json!({})).await;
    c.connected().await;
    let ack = c.emit_ack("order:create", json!([{ "n": 5 }])).await;
    assert_eq!(ack, vec![json!({ "ok": true, "n": 5 })]);
    assert!(be.seen()[0].signature_ok);
    drop(s);
    // Without the CA the backend's certificate is not trusted.
    let s = InProc::start(&rules).await;
    let mut c = s.client("/", json!({})).await;
    c.connected().await;
    let ack = c.emit_ack("order:create", json!([{ "n": 6 }])).await;
    assert!(unavailable(&ack[0]), "{ack:?}");
    assert_eq!(be.seen().len(), 1, "no request got through");
}

#[tokio::test]
async fn a_backend_that_fails_answers_backend_unavailable() {
    let be = app().await;
    let dead = dead_port().await;
    let s = InProc::start(&format!(
        "[rate_limits]\nevents_per_second = 1000\n[proxy_limits]\nmax_answer_bytes = 1024\n\
         [namespaces.\"/other\"]\n{}{}{}namespaces = [\"/other\"]\n",
        rule("[\"order:*\"]", &be.url("/ev"), 400),
        rule("[\"gone:*\"]", &format!("http://127.0.0.1:{dead}/ev"), 2000),
        rule("[\"elsewhere:*\"]", &be.url("/ev"), 400),
    ))
    .await;
    let mut a = s.client("/", json!({})).await;
    a.connected().await;
    let started = std::time::Instant::now();
    let ack = a.emit_ack("order:slow", json!([{}])).await;
    assert!(unavailable(&ack[0]), "{ack:?}");
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(350)
            && took < std::time::Duration::from_millis(2500),
        "{took:?}"
    );
    for ev in [
        "order:fail",
        "order:garbled",
        "order:shape",
        "order:huge",
        "gone:away",
    ] {
        let ack = a.emit_ack(ev, json!([{}])).await;
        assert!(unavailable(&ack[0]), "{ev}: {ack:?}");
    }
    // Without an ack, the refusal is the `error` event.
    a.emit("order:fail", json!([{}])).await;
    let e = a.event("error").await;
    assert_eq!(e[0]["event"], "order:fail");
    assert_eq!(e[0]["code"], "BACKEND_UNAVAILABLE");
    // The socket still works, and the backend's join of a server room did not happen.
    assert_eq!(
        a.emit_ack("order:create", json!([{ "n": 1 }])).await,
        vec![json!({ "ok": true, "n": 1 })]
    );
    assert_eq!(room_push(&s, "user_x").await, 0);
    // A rule of another namespace does not take the event.
    let before = be.seen().len();
    a.emit("elsewhere:x", json!([{}])).await;
    a.emit_ack("ping", json!([])).await;
    assert_eq!(be.seen().len(), before);
    let m = s.http("GET", "/metrics", &[], b"").await.text();
    for (result, n) in [
        ("timeout", 1),
        ("status", 2),
        ("invalid", 3),
        ("unreachable", 1),
        ("ok", 1),
    ] {
        let line = format!(
            "socket_server_proxy_requests_total{{kind=\"event\",result=\"{result}\"}} {n}\n"
        );
        assert!(m.contains(&line), "{line} in {m}");
    }
}

/// The app for the ordering tests: later events answer sooner.
async fn staggered(first_ms: u64) -> Backend {
    Backend::start(SECRET, move |b: Value| {
        let n = b["args"][0].as_u64().unwrap_or(0);
        after(
            first_ms.saturating_sub(n * 40),
            200,
            json!({ "ack": [n] }).to_string(),
        )
    })
    .await
}

/// Emits `seq` 0..n without waiting (ack ids 0..n), then collects the
/// acks in the order they arrive: (id, first argument).
async fn burst(c: &mut common::Client, n: u64) -> Vec<(u64, Value)> {
    for i in 0..n {
        c.send_raw(json!({ "op": "emit", "event": "seq", "args": [i], "ack": true, "id": i }))
            .await;
    }
    let mut got = Vec::new();
    for _ in 0..n {
        let v = c.expect(10, "ack", |v| v["type"] == "ack").await;
        assert!(v["err"].is_null(), "{v}");
        got.push((v["id"].as_u64().unwrap(), v["args"][0].clone()));
    }
    got
}

/// The staggered app (the first answer after `first_ms`), and a server
/// proxying `seq` to it with `limits` (the `[proxy_limits]` keys).
async fn seq_server(first_ms: u64, limits: &str) -> (Backend, InProc) {
    let be = staggered(first_ms).await;
    let s = InProc::start(&format!(
        "[rate_limits]\nevents_per_second = 1000\n[proxy_limits]\n{limits}\n{}",
        rule("[\"seq\"]", &be.url("/ev"), 5000),
    ))
    .await;
    (be, s)
}

/// The first arguments of `acks`.
fn answers(acks: &[(u64, Value)]) -> Vec<Value> {
    acks.iter().map(|(_, a)| a.clone()).collect()
}

#[tokio::test]
async fn a_sockets_events_keep_their_order_within_the_concurrency_bounds() {
    let (be, s) = seq_server(250, "max_concurrent = 3\nmax_concurrent_per_socket = 2").await;
    let mut a = s.client("/", json!({})).await;
    let a_id = a.connected().await;
    let mut b = s.client("/", json!({})).await;
    let b_id = b.connected().await;
    let (ra, rb) = tokio::join!(burst(&mut a, 6), burst(&mut b, 6));
    // Answered in the order sent, though later ones were answered sooner.
    let in_order: Vec<Value> = (0..6).map(|i| json!(i)).collect();
    assert_eq!(answers(&ra), in_order);
    assert_eq!(answers(&rb), in_order);
    // Started in the order sent, two at a time per socket, three in all.
    let order: Vec<u64> = be
        .seen()
        .iter()
        .filter(|r| r.body["socketId"] == a_id.as_str())
        .map(|r| r.body["args"][0].as_u64().unwrap())
        .collect();
    assert_eq!(order, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(be.max_in_flight_of(&a_id), 2);
    assert_eq!(be.max_in_flight_of(&b_id), 2);
    assert_eq!(be.max_in_flight(), 3);
}

#[tokio::test]
async fn one_at_a_time_by_default_and_a_full_queue_is_busy() {
    let (be, s) = seq_server(1000, "max_queued_per_socket = 3").await;
    let mut a = s.client("/", json!({})).await;
    let a_id = a.connected().await;
    let acks = burst(&mut a, 5).await;
    // Three queued, answered in order; the two beyond were busy at once.
    let busy: Vec<u64> = acks
        .iter()
        .filter(|(_, a)| a["code"] == "BACKEND_BUSY")
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(busy, vec![3, 4], "{acks:?}");
    let answered: Vec<Value> = answers(&acks)
        .into_iter()
        .filter(|a| a["code"] != "BACKEND_BUSY")
        .collect();
    assert_eq!(answered, vec![json!(0), json!(1), json!(2)]);
    assert_eq!(be.max_in_flight_of(&a_id), 1);
    let m = s.http("GET", "/metrics", &[], b"").await.text();
    assert!(
        m.contains("socket_server_proxy_requests_total{kind=\"event\",result=\"busy\"} 2\n"),
        "{m}"
    );
    assert!(m.contains("socket_server_proxy_in_flight 0\n"), "{m}");
}
