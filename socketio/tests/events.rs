//! Events: ordering, binary both ways, catch-alls, packet middlewares, parse errors.
mod common;
use common::*;

use std::sync::{Arc, Mutex};

use engineio::bytes::Bytes;
use serde_json::json;
use socketio::{Data, EmitError, SocketIo};

#[tokio::test]
async fn events_reach_handlers_in_arrival_order() {
    let io = SocketIo::new();
    io.of("/barrier");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let gate = Arc::new(Gate::default());
    let (seen2, gate2) = (seen.clone(), gate.clone());
    io.of("/").on_connection(move |s| {
        let (seen, gate) = (seen2.clone(), gate2.clone());
        async move {
            let seen2 = seen.clone();
            s.on("slow", move |s, d: Data, _| {
                let (seen, gate) = (seen2.clone(), gate.clone());
                async move {
                    gate.wait().await;
                    seen.lock().unwrap().push(d.get::<i32>(0).unwrap());
                    if seen.lock().unwrap().len() == 3 {
                        let _ = s.emit("done", ());
                    }
                }
            });
            let seen3 = seen.clone();
            s.on("fast", move |s, d: Data, _| {
                let seen = seen3.clone();
                async move {
                    seen.lock().unwrap().push(d.get::<i32>(0).unwrap());
                    if seen.lock().unwrap().len() == 3 {
                        let _ = s.emit("done", ());
                    }
                }
            });
        }
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"42["slow",1]"#).await;
    c.send(r#"42["fast",2]"#).await;
    c.send(r#"42["slow",3]"#).await;
    // All three dispatched while the first is held: none may have passed it.
    c.barrier().await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    gate.open();
    assert_eq!(c.text().await, r#"42["done"]"#);
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
}

#[tokio::test]
async fn binary_in_both_directions_at_any_depth() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        s.on("upload", |s, d: Data, _| async move {
            let first = d.binary_arg(0).cloned().unwrap_or_default();
            let nested = d.resolve(&d.args()[1]["file"]).cloned().unwrap_or_default();
            let mut out = Data::new()
                .arg("sizes")
                .arg(json!([first.len(), nested.len()]));
            let p = out.attach(Bytes::from_static(b"\xff\x00"));
            out.push(json!({ "deep": [p] }));
            let _ = s.emit("result", out);
        });
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(
        r#"452-["upload",{"_placeholder":true,"num":0},{"file":{"_placeholder":true,"num":1}}]"#,
    )
    .await;
    c.send_binary(&[1, 2, 3]).await;
    c.send_binary(&[4]).await;
    assert_eq!(
        c.text().await,
        r#"451-["result","sizes",[3,1],{"deep":[{"_placeholder":true,"num":0}]}]"#
    );
    assert_eq!(c.binary().await, [0xff, 0x00]);
}

#[tokio::test]
async fn catch_all_listeners_see_incoming_and_outgoing() {
    let io = SocketIo::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    io.of("/").on_connection(move |s| {
        let log = log2.clone();
        async move {
            let l1 = log.clone();
            s.on_any(move |_, ev, _| l1.lock().unwrap().push(format!("in:{ev}")));
            let l2 = log.clone();
            s.on_any_outgoing(move |_, ev, _| l2.lock().unwrap().push(format!("out:{ev}")));
            s.on("ping-me", |s, _, _| async move {
                let _ = s.emit("pong", ());
            });
        }
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"42["ping-me"]"#).await;
    assert_eq!(c.text().await, r#"42["pong"]"#);
    c.send(r#"42["unhandled",1]"#).await;
    eventually(|| log.lock().unwrap().len() == 3).await;
    assert_eq!(
        *log.lock().unwrap(),
        ["in:ping-me", "out:pong", "in:unhandled"]
    );
}

#[tokio::test]
async fn the_fallback_gets_events_without_a_handler_with_their_name_and_ack() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        s.on("own", |s, _, _| async move {
            let _ = s.emit("ran", "own");
        });
        s.on_fallback(|s, name, d: Data, ack| async move {
            match ack {
                Some(a) => {
                    let _ = a.send(json!({ "name": name, "args": d.args() }));
                }
                None => {
                    let _ = s.emit("fell-back", name);
                }
            }
        });
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"42["own"]"#).await;
    assert_eq!(c.text().await, r#"42["ran","own"]"#);
    c.send(r#"42["order:create",{"n":1}]"#).await;
    assert_eq!(c.text().await, r#"42["fell-back","order:create"]"#);
    c.send(r#"427["order:update",2,3]"#).await;
    assert_eq!(
        c.text().await,
        r#"437[{"name":"order:update","args":[2,3]}]"#
    );
}

#[tokio::test]
async fn packet_middleware_drops_and_reports_errors_on_the_server() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        s.use_packet(|_, ev, _| match ev {
            "forbidden" => Err(Some(Data::from(json!({"message": "not allowed"})))),
            "ignored" => Err(None),
            _ => Ok(()),
        });
        s.on_error(|s, err| {
            // The error stays on the server; this test forwards it to look at it.
            let _ = s.emit("server-saw", err.clone());
        });
        for ev in ["forbidden", "ignored", "fine"] {
            s.on(ev, move |s, _, _| async move {
                let _ = s.emit("ran", ev);
            });
        }
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"42["forbidden"]"#).await;
    assert_eq!(
        c.text().await,
        r#"42["server-saw",{"message":"not allowed"}]"#
    );
    c.send(r#"42["ignored"]"#).await;
    c.send(r#"42["fine"]"#).await;
    assert_eq!(c.text().await, r#"42["ran","fine"]"#);
}

#[tokio::test]
async fn reserved_event_names_cannot_be_emitted() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        let r = s.emit("disconnect", ());
        let _ = s.emit("result", format!("{r:?}"));
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    assert_eq!(
        c.text().await,
        format!(r#"42["result","{:?}"]"#, Err::<(), _>(EmitError::Reserved))
    );
}

#[tokio::test]
async fn reserved_event_names_cannot_be_broadcast_with_acks_either() {
    let io = SocketIo::new();
    let addr = serve(&io).await;
    let (mut c, id) = Client::connect(addr, "/").await;
    let r = io
        .of("/")
        .broadcast()
        .emit_with_ack("connect", (), std::time::Duration::from_secs(1))
        .await;
    assert_eq!(
        r.unwrap_err(),
        socketio::AdapterError::Emit(EmitError::Reserved)
    );
    // Nothing reached the client.
    c.nothing_before_probe(&io, &id).await;
}

#[tokio::test]
async fn protocol_violations_close_the_connection() {
    let cases: &[&[&str]] = &[
        &["4abc"],
        &["42{}"],
        &[r#"42abc["message"]"#],
        &[r#"42["connect"]"#],
        &["41{}"],
        &[r#"4511-["a"]"#],
        &[r#"451-["a",{"_placeholder":true,"num":3}]"#, "BIN"],
        &[
            r#"451-["a",{"_placeholder":true,"num":0}]"#,
            r#"42["text while waiting"]"#,
        ],
    ];
    for frames in cases {
        let io = SocketIo::new();
        let addr = serve(&io).await;
        let (mut c, _) = Client::connect(addr, "/").await;
        for f in *frames {
            if *f == "BIN" {
                c.send_binary(&[1]).await;
            } else {
                c.send(f).await;
            }
        }
        c.closed().await;
    }
    // A binary frame with no binary packet pending.
    let io = SocketIo::new();
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send_binary(&[1, 2]).await;
    c.closed().await;
}

#[tokio::test]
async fn attachment_cap_is_configurable() {
    let io = SocketIo::builder()
        .config(socketio::SocketIoConfig::default().max_attachments(1))
        .build();
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"452-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    c.closed().await;
}

#[tokio::test]
async fn a_panicking_handler_does_not_stall_later_events() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        s.on("boom", |_, _, _| async move { panic!("handler bug") });
        s.on("after", |s, _, _| async move {
            let _ = s.emit("alive", ());
        });
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"42["boom"]"#).await;
    c.send(r#"42["after"]"#).await;
    assert_eq!(c.text().await, r#"42["alive"]"#);
}

#[tokio::test]
async fn a_refused_event_with_an_ack_is_answered_by_on_refused_ack() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        s.use_packet(|_, ev, _| match ev {
            "no" => Err(Some(socketio::Data::from(serde_json::json!("refused")))),
            "quiet" => Err(None),
            _ => Ok(()),
        });
        s.on_refused_ack(|_, ev, err, ack| {
            let err = err.map(|d| d.args()[0].clone());
            let _ = ack.send(serde_json::json!({ "event": ev, "error": err }));
        });
        s.on("ok", |_, _, ack| async move {
            if let Some(a) = ack {
                let _ = a.send("fine");
            }
        });
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"421["no"]"#).await;
    assert_eq!(c.text().await, r#"431[{"event":"no","error":"refused"}]"#);
    c.send(r#"422["quiet",1]"#).await;
    assert_eq!(c.text().await, r#"432[{"event":"quiet","error":null}]"#);
    // Without an ack id, nothing is sent; events that pass are handled.
    c.send(r#"42["no"]"#).await;
    c.send(r#"423["ok"]"#).await;
    assert_eq!(c.text().await, r#"433["fine"]"#);
}

#[tokio::test]
async fn a_panic_before_the_handlers_future_does_not_stall_later_events() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        // Panics while the event is dispatched, outside any future: in a
        // packet middleware, and in a handler before it returns its future.
        s.use_packet(|_, event, _| match event {
            "mw-boom" => panic!("middleware bug"),
            _ => Ok(()),
        });
        s.on("sync-boom", |_, _, _| -> std::future::Ready<()> {
            panic!("handler bug")
        });
        s.on("after", |s, _, _| async move {
            let _ = s.emit("alive", ());
        });
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"42["mw-boom"]"#).await;
    c.send(r#"42["sync-boom"]"#).await;
    c.send(r#"42["after"]"#).await;
    assert_eq!(c.text().await, r#"42["alive"]"#);
}

/// Registers "slow" (answers "slow-done" once the returned gate opens),
/// lets `quick` register "quick", then sends "slow" and "quick".
async fn slow_then_quick(quick: fn(&socketio::Socket)) -> (Client, Arc<Gate>) {
    let io = SocketIo::new();
    io.of("/barrier");
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    io.of("/").on_connection(move |s| {
        let g = g.clone();
        async move {
            s.on("slow", move |s, _, _| {
                let g = g.clone();
                async move {
                    g.wait().await;
                    let _ = s.emit("slow-done", ());
                }
            });
            quick(&s);
            let _ = s.emit("ready", ());
        }
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    assert_eq!(c.text().await, r#"42["ready"]"#);
    c.send(r#"42["slow"]"#).await;
    c.send(r#"42["quick"]"#).await;
    (c, gate)
}

#[tokio::test]
async fn concurrent_handlers_are_opt_in() {
    let (mut c, gate) = slow_then_quick(|s| {
        s.on_concurrent("quick", |s, _, _| async move {
            let _ = s.emit("quick-done", ());
        })
    })
    .await;
    // "slow" is held until the gate opens: only an overtaking handler answers.
    assert_eq!(
        c.text().await,
        r#"42["quick-done"]"#,
        "overtakes the slow handler"
    );
    gate.open();
    assert_eq!(c.text().await, r#"42["slow-done"]"#);
}

#[tokio::test]
async fn on_replaces_a_concurrent_handler_with_a_serial_one() {
    let (mut c, gate) = slow_then_quick(|s| {
        s.on_concurrent("quick", |s, _, _| async move {
            let _ = s.emit("concurrent-handler", ());
        });
        // Re-registered with `on`: it must queue behind "slow" again.
        s.on("quick", |s, _, _| async move {
            let _ = s.emit("quick-done", ());
        });
    })
    .await;
    // Both were dispatched and nothing answered yet (the barrier's answer
    // comes first), then they answer in order.
    c.barrier().await;
    gate.open();
    assert_eq!(
        [c.text().await, c.text().await],
        [r#"42["slow-done"]"#, r#"42["quick-done"]"#],
        "waits its turn"
    );
}

#[tokio::test]
async fn events_queued_during_the_connection_handler_meet_handlers_it_adds_later() {
    let io = SocketIo::new();
    io.of("/barrier");
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    io.of("/").on_connection(move |s| {
        let g = g.clone();
        async move {
            // Say, loading the user before listening: events sent meanwhile wait.
            g.wait().await;
            s.use_packet(|_, event, _| match event {
                "blocked" => Err(None),
                _ => Ok(()),
            });
            s.on("chat", |s, d: Data, _| async move {
                let _ = s.emit("chat-seen", d);
            });
            s.on("blocked", |s, _, _| async move {
                let _ = s.emit("blocked-ran", ());
            });
        }
    });
    let addr = serve(&io).await;
    let (mut c, _) = Client::connect(addr, "/").await;
    c.send(r#"42["blocked"]"#).await;
    c.send(r#"42["chat","hi"]"#).await;
    // Both arrived while the handler was still loading.
    c.barrier().await;
    gate.open();
    assert_eq!(c.text().await, r#"42["chat-seen","hi"]"#);
}
