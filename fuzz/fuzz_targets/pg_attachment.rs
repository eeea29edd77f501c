//! The PostgreSQL adapter's attachment row decoder (msgpack), on any bytes.
//! Never a panic; a message re-encodes to a row that decodes with the same
//! binary parts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_postgres::wire;
use socketio_cluster::wire as values;

fuzz_target!(|data: &[u8]| {
    let Ok(d) = wire::decode_attachment(data) else {
        return;
    };
    let row = values::encode_mp(&d.value, &d.attachments);
    let back = wire::decode_attachment(&row).expect("a re-encoded row decodes");
    assert_eq!(back.attachments, d.attachments);
    assert_eq!(back.value["type"], d.value["type"]);
});
