//! CIDR lists and `X-Forwarded-For` resolution on arbitrary input: never
//! panics; an untrusted peer is always its own client address (canonical).
#![no_main]

use std::net::IpAddr;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use socketio_server::ipnet::{client_ip, IpList, IpNet};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    nets: Vec<&'a str>,
    peer: [u8; 16],
    v4: bool,
    forwarded_for: Option<&'a str>,
}

fuzz_target!(|i: Input| {
    for n in &i.nets {
        if let Ok(net) = n.parse::<IpNet>() {
            let again: IpNet = net.to_string().parse().expect("display re-parses");
            assert_eq!(again, net);
        }
    }
    let Ok(trusted) = IpList::parse(&i.nets) else {
        return;
    };
    let peer: IpAddr = if i.v4 {
        IpAddr::from([i.peer[0], i.peer[1], i.peer[2], i.peer[3]])
    } else {
        IpAddr::from(i.peer)
    };
    let ip = client_ip(peer, i.forwarded_for, &trusted);
    if !trusted.contains(peer) {
        // IPv4-mapped IPv6 peers come back as IPv4.
        assert_eq!(ip, peer.to_canonical());
    }
});
