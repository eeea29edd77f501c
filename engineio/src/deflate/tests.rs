use super::*;

fn cfg() -> PerMessageDeflate {
    PerMessageDeflate::default()
}

fn agree(offer: &str, config: &PerMessageDeflate) -> Option<String> {
    negotiate([offer], config).map(|n| n.response())
}

#[test]
fn a_plain_offer_gets_no_context_on_both_sides_by_default() {
    assert_eq!(
        agree("permessage-deflate", &cfg()).as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    let n = negotiate(["permessage-deflate; client_max_window_bits"], &cfg()).unwrap();
    assert!(!n.deflater().keeps_context() && !n.inflater().keeps_context());
    assert_eq!(n.threshold, 1024);
}

#[test]
fn context_takeover_only_when_allowed_and_not_refused() {
    let allow = cfg().context_takeover(true);
    assert_eq!(
        agree("permessage-deflate; client_max_window_bits", &allow).as_deref(),
        Some("permessage-deflate")
    );
    let n = negotiate(["permessage-deflate"], &allow).unwrap();
    assert!(n.deflater().keeps_context() && n.inflater().keeps_context());
    assert_eq!(
        agree("permessage-deflate; server_no_context_takeover", &allow).as_deref(),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert_eq!(
        agree("permessage-deflate;client_no_context_takeover", &allow).as_deref(),
        Some("permessage-deflate; client_no_context_takeover")
    );
    // A narrow server window: the server drops its context and echoes it.
    assert_eq!(
        agree("permessage-deflate; server_max_window_bits=10", &allow).as_deref(),
        Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=10")
    );
    assert_eq!(
        agree("permessage-deflate; server_max_window_bits=\"15\"", &allow).as_deref(),
        Some("permessage-deflate; server_max_window_bits=15")
    );
}

#[test]
fn bad_offers_are_declined_and_the_next_one_taken() {
    for bad in [
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; client_max_window_bits=8.5",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; unknown",
        "permessage-deflate; client_max_window_bits=\"1",
        "x-webkit-deflate-frame",
        "",
    ] {
        assert_eq!(agree(bad, &cfg()), None, "{bad}");
        let two = format!("{bad}, permessage-deflate; client_max_window_bits=\"12\"");
        let n = negotiate([two.as_str()], &cfg());
        if bad.contains('"') {
            // An open quote swallows the rest of the header.
            assert_eq!(n, None, "{bad}");
        } else {
            assert!(n.is_some(), "{bad}");
        }
    }
    // Offers in several header lines, in order.
    let n = negotiate(
        [
            "foo, permessage-deflate; bad",
            "permessage-deflate; server_max_window_bits=9",
        ],
        &cfg(),
    )
    .unwrap();
    assert_eq!(n.server_max_window_bits, Some(9));
}

#[test]
fn headers_are_read_only_when_the_option_is_on() {
    let mut h = HeaderMap::new();
    h.insert(
        SEC_WEBSOCKET_EXTENSIONS,
        "permessage-deflate".parse().unwrap(),
    );
    assert!(negotiate_headers(&h, None).is_none());
    assert!(negotiate_headers(&h, Some(&cfg())).is_some());
    assert!(negotiate_headers(&HeaderMap::new(), Some(&cfg())).is_none());
}

fn agreed(offer: &str, config: PerMessageDeflate) -> Negotiated {
    negotiate([offer], &config).unwrap()
}

/// RFC 7692 section 7.2.3.1 and 7.2.3.2: "Hello" compressed, then again
/// with the context of the first.
#[test]
fn inflates_the_rfc_examples() {
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut fresh = agreed("permessage-deflate", cfg()).inflater();
    assert_eq!(&fresh.inflate(&hello, 100).unwrap()[..], b"Hello");
    assert_eq!(&fresh.inflate(&hello, 100).unwrap()[..], b"Hello");
    let mut ctx = agreed("permessage-deflate", cfg().context_takeover(true)).inflater();
    assert_eq!(&ctx.inflate(&hello, 100).unwrap()[..], b"Hello");
    let again = [0xf2, 0x00, 0x11, 0x00, 0x00];
    assert_eq!(&ctx.inflate(&again, 100).unwrap()[..], b"Hello");
    // Section 7.2.3.3: a stored (uncompressed) block.
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, b'H', b'e', b'l', b'l', b'o', 0x00,
    ];
    assert_eq!(&fresh.inflate(&stored, 100).unwrap()[..], b"Hello");
    // Section 7.2.3.5: a final block (BFINAL) is fine too.
    let last = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(&ctx.inflate(&last, 100).unwrap()[..], b"Hello");
    assert_eq!(&ctx.inflate(&hello, 100).unwrap()[..], b"Hello");
}

fn text(n: usize) -> Vec<u8> {
    (0..n).map(|i| b"abcdefgh"[(i * 7 / 5) % 8]).collect()
}

#[test]
fn compress_and_inflate_round_trip_with_and_without_context() {
    for takeover in [false, true] {
        let n = agreed(
            "permessage-deflate",
            cfg().context_takeover(takeover).threshold(0),
        );
        let (mut d, mut i) = (n.deflater(), n.inflater());
        for len in [0, 1, 100, 5000, 70_000, 300_000] {
            let msg = text(len);
            let (a, b) = msg.split_at(len / 3);
            let Some(z) = d.compress(&[a, b], None) else {
                assert!(!takeover && len < 10, "{len} not compressed");
                continue;
            };
            assert!(len <= 100 || z.len() < len / 4, "{len}: {}", z.len());
            assert_eq!(&i.inflate(&z, len).unwrap()[..], &msg[..], "{len}");
        }
    }
}

#[test]
fn the_threshold_and_the_window_limit_what_is_compressed() {
    let mut d = agreed("permessage-deflate", cfg()).deflater();
    assert!(d.compress(&[&text(1023)], None).is_none());
    assert!(d.compress(&[&text(1024)], None).is_some());
    let n = agreed(
        "permessage-deflate; server_max_window_bits=9",
        cfg().threshold(0),
    );
    let mut d = n.deflater();
    let z = d.compress(&[&text(512)], None).unwrap();
    assert!(z.len() < 300);
    // Past the window: stored blocks, which any window inflates.
    let mut i = n.inflater();
    for len in [513, 65_535, 65_536, 200_000] {
        let msg = text(len);
        let (a, b) = msg.split_at(len / 2);
        let z = d.compress(&[a, b], None).unwrap();
        assert!(z.len() > len, "{len}: stored");
        let back = i.inflate(&z, len).unwrap();
        assert_eq!(back, msg, "{len}");
    }
}

#[test]
fn a_decompression_bomb_stops_at_the_cap() {
    let n = agreed("permessage-deflate", cfg().threshold(0));
    let bomb = n
        .deflater()
        .compress(&[&vec![0u8; 20 << 20]], None)
        .unwrap();
    assert!(bomb.len() < 64 << 10);
    let mut i = n.inflater();
    assert_eq!(i.inflate(&bomb, 1_000_000), Err(InflateError::TooBig));
    let at = n.deflater().compress(&[&vec![0u8; 1000]], None).unwrap();
    assert_eq!(i.inflate(&at, 1000).unwrap().len(), 1000);
    assert_eq!(i.inflate(&at, 999), Err(InflateError::TooBig));
}

#[test]
fn invalid_deflate_data_is_an_error() {
    let mut i = agreed("permessage-deflate", cfg()).inflater();
    // BTYPE 11 is reserved.
    assert_eq!(i.inflate(&[0xff, 0x00], 100), Err(InflateError::Invalid));
    // A stored block whose length check fails.
    assert_eq!(
        i.inflate(&[0x00, 0x05, 0x00, 0x00, 0x00, b'H'], 100),
        Err(InflateError::Invalid)
    );
    // The inflater is usable after an error (a fresh context each time).
    assert_eq!(
        &i.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100)
            .unwrap()[..],
        b"Hello"
    );
}

#[test]
fn a_shared_message_is_compressed_once() {
    let n = agreed("permessage-deflate", cfg());
    let msg = Bytes::from(text(50_000));
    let first = n
        .deflater()
        .compress(&[b"4", &msg], Some((&msg, b'4')))
        .unwrap();
    assert!(shared_has(&msg, b'4'));
    let second = n
        .deflater()
        .compress(&[b"4", &msg], Some((&msg, b'4')))
        .unwrap();
    assert_eq!(first.as_ptr(), second.as_ptr(), "the same compressed frame");
    // A copy of the text is another message: compressed on its own.
    let copy = Bytes::from(text(50_000));
    let third = n
        .deflater()
        .compress(&[b"4", &copy], Some((&copy, b'4')))
        .unwrap();
    assert_ne!(first.as_ptr(), third.as_ptr());
    assert_eq!(first, third);
    // With context takeover nothing is shared.
    let mut own = agreed("permessage-deflate", cfg().context_takeover(true)).deflater();
    let ctx = own.compress(&[b"4", &msg], Some((&msg, b'4'))).unwrap();
    assert_ne!(ctx.as_ptr(), first.as_ptr());
    // Far over the cache's budget: not kept.
    let big = Bytes::from(text(SHARED_BYTES));
    n.deflater().compress(&[&big], Some((&big, 0))).unwrap();
    assert!(!shared_has(&big, 0));
}

/// Found by Autobahn 12.2.9 (a bitmap in 64 KiB messages, with context):
/// a flush call of miniz_oxide that only copied pending output was taken
/// for the flush, and the message went uncompressed, desyncing the
/// client's context. Every message must compress, and inflate back.
#[test]
fn long_runs_with_context_always_compress() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7692);
    let mut data = Vec::new();
    while data.len() < 300_000 {
        let run = rng.random_range(1..400);
        match rng.random_range(0..3) {
            0 => data.extend((0..run).map(|_| rng.random::<u8>())),
            1 => data.extend(std::iter::repeat_n(rng.random::<u8>(), run)),
            _ => data.extend((0..run).map(|i| (i % 7) as u8)),
        }
    }
    let n = agreed(
        "permessage-deflate",
        cfg().context_takeover(true).threshold(0),
    );
    let (mut d, mut i) = (n.deflater(), n.inflater());
    let mut ptr = 0;
    for k in 0..100 {
        let len = [65_536, 65_535, 4096, 131_072][k % 4];
        let to = (ptr + len) % data.len();
        let msg = match to > ptr {
            true => data[ptr..to].to_vec(),
            false => [&data[ptr..], &data[..to]].concat(),
        };
        ptr = to;
        let z = d.compress(&[&msg], None).expect("compressed");
        assert_eq!(i.inflate(&z, 1 << 20).unwrap(), msg, "message {k}");
    }
}

/// `client_max_window_bits` is asked only of an offer that allows it, and
/// never above the client's own limit (RFC 7692 section 7.1.2.2).
#[test]
fn client_window_is_asked_only_when_offered() {
    let want = cfg().client_max_window_bits(Some(10));
    let n = agreed("permessage-deflate; client_max_window_bits", want);
    assert_eq!(n.client_max_window_bits, Some(10));
    assert!(n.response().ends_with("; client_max_window_bits=10"));
    let n = agreed("permessage-deflate; client_max_window_bits=9", want);
    assert_eq!(n.client_max_window_bits, Some(9));
    let n = agreed("permessage-deflate; client_max_window_bits=12", want);
    assert_eq!(n.client_max_window_bits, Some(10));
    // Not offered: not asked; offered but not configured: not asked.
    let n = agreed("permessage-deflate", want);
    assert_eq!(n.client_max_window_bits, None);
    assert!(!n.response().contains("client_max_window_bits"));
    let n = agreed("permessage-deflate; client_max_window_bits", cfg());
    assert_eq!(n.client_max_window_bits, None);
    // A bad value still declines the offer, and the next one is taken.
    let n = negotiate(
        ["permessage-deflate; client_max_window_bits=16, permessage-deflate; client_max_window_bits=11"],
        &want,
    )
    .unwrap();
    assert_eq!(n.client_max_window_bits, Some(10));
    // The setter clamps to the valid range.
    assert_eq!(
        cfg().client_max_window_bits(Some(3)).client_max_window_bits,
        Some(8)
    );
    assert_eq!(
        cfg()
            .client_max_window_bits(Some(20))
            .client_max_window_bits,
        Some(15)
    );
}

/// A narrow window asked of the server is accepted and honoured: the
/// messages it compresses are no longer than the window.
#[test]
fn a_narrow_server_window_is_honoured() {
    let n = agreed(
        "permessage-deflate; server_max_window_bits=9",
        cfg().threshold(0).context_takeover(true),
    );
    assert_eq!(n.server_max_window_bits, Some(9));
    assert!(
        n.server_no_context_takeover,
        "no context under a narrow window"
    );
    assert!(n.response().contains("server_max_window_bits=9"));
    let (mut d, mut i) = (n.deflater(), n.inflater());
    for len in [100, 512, 513, 5000] {
        let msg = text(len);
        let z = d.compress(&[&msg], None).unwrap();
        if len > 512 {
            // Stored blocks: longer than the message.
            assert!(z.len() > len, "{len}: {} bytes", z.len());
        } else {
            assert!(z.len() < len, "{len}: {} bytes", z.len());
        }
        assert_eq!(&i.inflate(&z, 1 << 20).unwrap()[..], &msg[..]);
    }
}

/// The level knob: 0 stores, 9 compresses at least as well as 1, and each
/// round-trips.
#[test]
fn the_level_is_applied() {
    let msg = text(50_000);
    let size = |level: u32| {
        let n = agreed("permessage-deflate", cfg().threshold(0).level(level));
        assert_eq!(n.level, level.min(9));
        let z = n.deflater().compress(&[&msg], None).unwrap();
        assert_eq!(&n.inflater().inflate(&z, 1 << 20).unwrap()[..], &msg[..]);
        z.len()
    };
    assert!(size(0) > msg.len(), "level 0 stores");
    assert!(size(9) <= size(1));
    assert!(size(1) < msg.len() / 4);
    assert_eq!(cfg().level(12).level, 9);
}
