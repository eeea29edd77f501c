use super::*;
use crate::packet::tests::random_batch;

fn text_payload(s: &str) -> Result<Vec<Packet>, PacketError> {
    decode_payload(Bytes::copy_from_slice(s.as_bytes()), false, usize::MAX)
}

#[test]
fn protocol_from_eio_as_the_reference_reads_it() {
    assert_eq!(Protocol::from_eio(Some("4")), Protocol::V4);
    assert_eq!(Protocol::from_eio(Some("3")), Protocol::V3);
    assert_eq!(Protocol::from_eio(None), Protocol::V3);
    assert_eq!(Protocol::from_eio(Some("5")), Protocol::V3);
}

#[test]
fn text_payload_examples() {
    assert_eq!(
        text_payload("6:4hello2:2x1:2").unwrap(),
        vec![
            Packet::Message("hello".into()),
            Packet::Ping("x".into()),
            Packet::Ping(Str::new())
        ]
    );
    // Lengths count UTF-16 code units: `é` is one, `😀` two (4 UTF-8 bytes).
    assert_eq!(text_payload("3:4é😀"), Err(PacketError::BadLength));
    assert_eq!(
        text_payload("4:4é😀").unwrap(),
        vec![Packet::Message("é😀".into())]
    );
    assert_eq!(
        text_payload("6:b4AQI=").unwrap(),
        vec![Packet::Binary(Bytes::from_static(&[1, 2]))]
    );
    // An empty record is skipped, as the reference does.
    assert_eq!(text_payload("0:1:6").unwrap(), vec![Packet::Noop]);
}

#[test]
fn encodes_text_payload_with_utf16_lengths() {
    let p = [
        Packet::Message("é😀".into()),
        Packet::Binary(Bytes::from_static(&[1, 2])),
    ];
    assert_eq!(&encode_payload(&p, true)[..], "4:4é😀6:b4AQI=".as_bytes());
    assert_eq!(&encode_payload(&[Packet::Noop], false)[..], b"1:6");
    assert_eq!(&encode_payload(&[], false)[..], b"0:");
}

#[test]
fn encodes_binary_payload_when_the_client_takes_binary() {
    let p = [
        Packet::Message("hi".into()),
        Packet::Binary(Bytes::from_static(&[9; 10])),
    ];
    let mut want = vec![0, 3, 255, b'4', b'h', b'i', 1, 1, 1, 255, 4];
    want.extend_from_slice(&[9; 10]);
    assert_eq!(&encode_payload(&p, false)[..], &want[..]);
    assert_eq!(decode_payload(Bytes::from(want), true, 10).unwrap(), p);
}

#[test]
fn websocket_binary_frames_carry_the_type_byte() {
    assert_eq!(
        decode_binary(Bytes::from_static(&[4, 1, 2])).unwrap(),
        Packet::Binary(Bytes::from_static(&[1, 2]))
    );
    assert_eq!(
        decode_binary(Bytes::from_static(&[2])),
        Err(PacketError::UnknownType(2))
    );
    assert_eq!(decode_binary(Bytes::new()), Err(PacketError::Empty));
    assert_eq!(
        decode_text(Str::from("b4AQI=")).unwrap(),
        Packet::Binary(Bytes::from_static(&[1, 2]))
    );
    assert_eq!(
        decode_text(Str::from("b2AQI=")),
        Err(PacketError::UnknownType(b'2'))
    );
    assert_eq!(
        decode_text(Str::from("2probe")).unwrap(),
        Packet::Ping("probe".into())
    );
}

#[test]
fn malformed_text_payloads_are_errors() {
    let bad: [(&str, PacketError); 10] = [
        ("", PacketError::Empty),
        ("4hello", PacketError::BadLength),
        (":4", PacketError::BadLength),
        ("x:4", PacketError::BadLength),
        ("2:4", PacketError::BadLength),
        ("3:4ab1", PacketError::BadLength),
        ("99999999999:4", PacketError::BadLength),
        ("1:9", PacketError::UnknownType(b'9')),
        ("3:b4!", PacketError::InvalidBase64),
        // A length that splits a surrogate pair.
        ("2:4😀", PacketError::BadLength),
    ];
    for (input, want) in bad {
        assert_eq!(text_payload(input), Err(want), "{input:?}");
    }
    assert_eq!(
        decode_payload(Bytes::from_static(b"1:\xff"), false, 9),
        Err(PacketError::InvalidUtf8)
    );
}

#[test]
fn malformed_binary_payloads_are_errors() {
    let bad: [&[u8]; 7] = [
        b"",
        &[2, 1, 255, 4],
        &[0, 1],
        &[0, 255, b'4'],
        &[0, 12, 255, b'4'],
        &[1, 5, 255, 4, 1],
        &[0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 255],
    ];
    for input in bad {
        assert!(
            decode_payload(Bytes::copy_from_slice(input), true, 9).is_err(),
            "{input:?}"
        );
    }
    assert_eq!(
        decode_payload(Bytes::from_static(&[1, 1, 255, 3]), true, 9),
        Err(PacketError::UnknownType(3))
    );
    assert_eq!(
        decode_payload(Bytes::from_static(&[0, 2, 255, 0xc3, 0x28]), true, 9),
        Err(PacketError::InvalidUtf8)
    );
}

#[test]
fn packet_count_is_bounded() {
    let body = "1:6".repeat(5);
    assert_eq!(
        decode_payload(Bytes::from(body.clone()), false, 4),
        Err(PacketError::TooManyPackets { limit: 4 })
    );
    assert_eq!(
        decode_payload(Bytes::from(body), false, 5).unwrap().len(),
        5
    );
    let bin = [0u8, 1, 255, b'6'].repeat(3);
    assert_eq!(
        decode_payload(Bytes::from(bin), true, 2),
        Err(PacketError::TooManyPackets { limit: 2 })
    );
}

#[test]
fn round_trip_property() {
    let mut rng = rand::rng();
    for _ in 0..2000 {
        let packets = random_batch(&mut rng);
        for base64 in [false, true] {
            let wire = encode_payload(&packets, base64);
            let binary = wire.first().is_some_and(|b| *b < 2);
            assert_eq!(
                binary,
                !base64 && packets.iter().any(|p| matches!(p, Packet::Binary(_)))
            );
            assert_eq!(
                decode_payload(wire.clone(), binary, 16).unwrap(),
                packets,
                "{wire:?}"
            );
            for p in &packets {
                assert!(
                    encode_payload([p], true).len() <= encoded_len(p)
                        && encode_payload([p], false).len() <= encoded_len(p),
                    "{p:?}"
                );
            }
        }
        for p in &packets {
            let text = Str::from(encode_text(p));
            assert_eq!(&decode_text(text).unwrap(), p);
        }
    }
}
