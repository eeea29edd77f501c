//! A server with `Parser::Msgpack` on virtual time: every packet in and
//! out is one binary message; binary arguments reach handlers as
//! attachments and go back out as msgpack `bin`; acks both ways,
//! broadcasts (encoded once) and recovery offsets work as with JSON; a
//! text message or bad msgpack closes the connection as a parse error.
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use socketio::packet::placeholder;
use socketio::parser::msgpack::{decode_packet, encode_packet};
use socketio::{
    Data, DisconnectReason, Packet, PacketType, Parser, RecoveryConfig, SocketIoConfig,
};
use support::pair::Client;
use support::Pair;

fn config() -> SocketIoConfig {
    SocketIoConfig::default().parser(Parser::Msgpack)
}

fn send(c: &Client, p: &Packet) {
    c.send_binary(&encode_packet(p));
}

/// The next packet the server sent, decoded.
fn recv(c: &Client) -> Packet {
    let sent = c.try_recv().expect("the server sent nothing");
    assert!(
        sent.text.is_empty() && sent.attachments.is_empty(),
        "{sent:?}"
    );
    decode_packet(&sent.binary.expect("one binary message"), 10).expect("valid msgpack")
}

/// Connects to `/`; returns the CONNECT answer's data.
fn join(c: &Client, auth: Option<Value>) -> Value {
    send(c, &Packet::new(PacketType::Connect, "/", auth));
    let answer = recv(c);
    assert_eq!((answer.ty, answer.nsp.as_str()), (PacketType::Connect, "/"));
    answer.data.unwrap()
}

#[test]
fn binary_events_and_acks_both_ways() {
    let pair = Pair::new(config());
    pair.io.of("/").on_connection(|s| async move {
        // Echoes its args, and whether the first is binary as it sees it.
        s.on("up", |s, data: Data, ack| async move {
            let is_binary = data.binary_arg(0).is_some();
            let _ = s.emit("down", data.arg(is_binary));
            if let Some(ack) = ack {
                let _ = ack.send(Data::new().arg("got").binary(Bytes::from_static(b"\xff")));
            }
        });
        s.on("ask", |s, _, _| async move {
            let answer = s
                .emit_with_ack("question", json!(1), Duration::from_secs(5))
                .await
                .unwrap();
            let _ = s.emit("answer", answer);
        });
    });
    let c = pair.open();
    let sid = join(&c, Some(json!({"token": "t"})));
    assert!(sid["sid"].is_string(), "{sid}");

    let file = Bytes::from_static(&[1, 2, 3]);
    let up = Packet::event(
        "/",
        json!(["up", placeholder(0), {"n": 1}]),
        Some(4),
        vec![file.clone()],
    );
    send(&c, &up);
    let down = recv(&c);
    assert_eq!(down.ty, PacketType::BinaryEvent);
    assert_eq!(
        down.data,
        Some(json!(["down", placeholder(0), {"n": 1}, true]))
    );
    assert_eq!(down.attachments, vec![file]);
    let ack = recv(&c);
    assert_eq!((ack.ty, ack.id), (PacketType::BinaryAck, Some(4)));
    assert_eq!(ack.data, Some(json!(["got", placeholder(0)])));
    assert_eq!(ack.attachments, vec![Bytes::from_static(b"\xff")]);

    // The server asks, the client answers with binary.
    send(&c, &Packet::event("/", json!(["ask"]), None, vec![]));
    let q = recv(&c);
    assert_eq!(
        (q.ty, q.data),
        (PacketType::Event, Some(json!(["question", 1])))
    );
    let id = q.id.expect("an ack id");
    send(
        &c,
        &Packet::ack(
            "/",
            json!([placeholder(0)]),
            id,
            vec![Bytes::from_static(b"ok")],
        ),
    );
    let a = recv(&c);
    assert_eq!(a.data, Some(json!(["answer", placeholder(0)])));
    assert_eq!(a.attachments, vec![Bytes::from_static(b"ok")]);
}

#[test]
fn a_broadcast_is_encoded_once_for_every_recipient() {
    let pair = Pair::new(config());
    let (a, b) = (pair.open(), pair.open());
    join(&a, None);
    join(&b, None);
    let data = Data::new().arg("x").binary(Bytes::from_static(b"bin"));
    pair.io.emit("all", data).unwrap();
    let (sa, sb) = (a.try_recv().unwrap(), b.try_recv().unwrap());
    let (ba, bb) = (sa.binary.unwrap(), sb.binary.unwrap());
    // The same buffer, not two encodings.
    assert_eq!(ba.as_ptr(), bb.as_ptr());
    let p = decode_packet(&ba, 10).unwrap();
    assert_eq!(p.data, Some(json!(["all", "x", placeholder(0)])));
}

#[test]
fn recovery_offsets_are_appended_to_the_data() {
    let pair = Pair::new(config().recovery(Some(RecoveryConfig::default())));
    let c = pair.open();
    let answer = join(&c, None);
    let pid = answer["pid"].as_str().expect("a pid").to_owned();
    pair.io.emit("tick", json!(1)).unwrap();
    let tick = recv(&c);
    let offset = tick.data.as_ref().unwrap()[2].as_str().unwrap().to_owned();
    c.drop_transport();
    pair.io.emit("missed", json!(2)).unwrap();
    let c = pair.open();
    send(
        &c,
        &Packet::new(
            PacketType::Connect,
            "/",
            Some(json!({"pid": pid, "offset": offset})),
        ),
    );
    // The missed packet comes before the answer, as the reference sends it.
    let missed = recv(&c);
    let data = missed.data.unwrap();
    assert_eq!((&data[0], &data[1]), (&json!("missed"), &json!(2)));
    assert!(data[2].is_string(), "{data}");
    let answer = recv(&c);
    assert_eq!((answer.ty, answer.nsp.as_str()), (PacketType::Connect, "/"));
    assert_eq!(answer.data.unwrap()["pid"], json!(pid));
}

#[test]
fn text_or_bad_msgpack_is_a_parse_error() {
    for bad in [
        None,
        Some(&b"\x83\xa4type\x02"[..]),
        Some(&b"\x82\xa4type\x05\xa3nsp\xa1/"[..]),
    ] {
        let pair = Pair::new(config());
        let reason = Arc::new(Mutex::new(None));
        let r = reason.clone();
        pair.io.of("/").on_connection(move |s| {
            let r = r.clone();
            async move {
                s.on_disconnect(move |_, why| {
                    *r.lock().unwrap() = Some(why.clone());
                });
            }
        });
        let c = pair.open();
        join(&c, None);
        match bad {
            None => c.send("2[\"a\"]"),
            Some(b) => c.send_binary(b),
        }
        assert!(c.is_closed(), "{bad:?}");
        assert_eq!(*reason.lock().unwrap(), Some(DisconnectReason::ParseError));
    }
}
