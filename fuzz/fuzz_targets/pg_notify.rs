//! The PostgreSQL adapter's NOTIFY payload decoder, on whatever a channel
//! carries: a message or a header naming a row. Never a panic; a message
//! re-encodes to a payload that decodes to the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_postgres::wire::{self, Notification, Outgoing};
use socketio_cluster::wire as values;

fuzz_target!(|data: &[u8]| {
    let Ok(Notification::Message(d)) = wire::decode_notification(data) else {
        return;
    };
    // The fields the adapter reads.
    let body = d.value.get("data");
    let _ = values::opts_from(body.and_then(|b| b.get("opts")));
    let _ = values::strings(body.and_then(|b| b.get("rooms")));
    if let Some(p) = body.and_then(|b| b.get("packet")) {
        let _ = values::packet_from(p, &d.attachments, "/");
    }
    let t = d.value["type"].as_u64().expect("a decoded message has a type");
    let Outgoing::Notify(text) = wire::encode(&d.value, t, &d.attachments, usize::MAX) else {
        panic!("JSON without binary went through the table");
    };
    match wire::decode_notification(text.as_bytes()) {
        Ok(Notification::Message(back)) => assert_eq!(back.value, d.value),
        other => panic!("a re-encoded message decodes to {other:?}"),
    }
});
