//! Structured Socket.IO packets: encode then decode (with attachments
//! through the stateful decoder) gives the same packet.
#![no_main]

use arbitrary::Unstructured;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use socketio::packet::{placeholder, MAX_ACK_ID, RESERVED_EVENTS};
use socketio::{Decoder, Packet, PacketType};

fn value(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Value> {
    let pick = if depth > 3 {
        u.int_in_range(0..=3)?
    } else {
        u.int_in_range(0..=5)?
    };
    Ok(match pick {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => json!(u.arbitrary::<i64>()?),
        3 => Value::String(u.arbitrary()?),
        4 => Value::Array(
            (0..u.int_in_range(0..=3)?)
                .map(|_| value(u, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..u.int_in_range(0..=3)? {
                let k: String = u.arbitrary()?;
                if k != "_placeholder" {
                    m.insert(k, value(u, depth + 1)?);
                }
            }
            Value::Object(m)
        }
    })
}

fn packet(u: &mut Unstructured<'_>) -> arbitrary::Result<Packet> {
    let nsp = match u.int_in_range(0..=2)? {
        0 => "/".to_owned(),
        1 => "/admin".to_owned(),
        _ => {
            let s: String = u.arbitrary()?;
            format!("/{}", s.replace(',', ""))
        }
    };
    let id = if u.arbitrary()? {
        Some(u.int_in_range(0..=MAX_ACK_ID)?)
    } else {
        None
    };
    let n = u.int_in_range(0..=3usize)?;
    let bins: Vec<Bytes> = (0..n)
        .map(|_| u.arbitrary::<Vec<u8>>().map(Bytes::from))
        .collect::<Result<_, _>>()?;
    let mut args = vec![value(u, 0)?];
    args.extend((0..n).map(placeholder));
    Ok(match u.int_in_range(0..=4)? {
        0 => {
            let name: String = u.arbitrary()?;
            if RESERVED_EVENTS.contains(&name.as_str()) {
                return Err(arbitrary::Error::IncorrectFormat);
            }
            args.insert(0, Value::String(name));
            Packet::event(nsp, Value::Array(args), id, bins)
        }
        1 => Packet::ack(nsp, Value::Array(args), id.unwrap_or(0), bins),
        2 => Packet::new(
            PacketType::Connect,
            nsp,
            if u.arbitrary()? {
                Some(json!({"k": value(u, 1)?}))
            } else {
                None
            },
        ),
        3 => Packet::new(PacketType::Disconnect, nsp, None),
        _ => Packet::new(
            PacketType::ConnectError,
            nsp,
            Some(json!({"message": u.arbitrary::<String>()?})),
        ),
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(p) = packet(&mut u) else { return };
    let mut d = Decoder::new(10);
    let mut out = d.decode_text(&p.encode()).expect("encoded packet decodes");
    for b in &p.attachments {
        assert!(out.is_none());
        out = d.decode_binary(b.clone()).expect("attachment accepted");
    }
    assert_eq!(out.expect("complete"), p);
});
