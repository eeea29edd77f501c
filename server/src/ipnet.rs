//! IP networks (CIDR), lists of them, and the client address behind trusted
//! proxies.
//!
//! This module owns the parsing and matching of address ranges used for
//! trusted-proxy and allow/deny configuration, and the rule that picks the
//! client address from the peer address and an `X-Forwarded-For` header. It
//! performs no I/O.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are treated as the IPv4
//! address they carry: they match IPv4 networks, and IPv4 addresses match
//! IPv6 networks that contain their mapped form. Addresses returned by
//! [`client_ip`] are canonical (mapped addresses become IPv4).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Most `X-Forwarded-For` entries examined (the rightmost ones).
pub const MAX_FORWARDED_ENTRIES: usize = 64;

/// Longest part of a bad input echoed in an [`IpNetError`].
const MAX_ECHO: usize = 64;

/// An IPv4 or IPv6 network: an address and a prefix length.
///
/// Parsed from `"10.0.0.0/8"`, `"fd00::/8"`, or a bare address (a host
/// network, `/32` or `/128`). Host bits beyond the prefix are cleared, so
/// `"10.1.2.3/8"` is the network `10.0.0.0/8`; [`Display`](fmt::Display)
/// shows the canonical form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// An invalid network or address list entry; its message names the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpNetError(String);

impl IpNetError {
    fn new(input: &str) -> Self {
        Self(input.chars().take(MAX_ECHO).collect())
    }

    /// The offending input (truncated to 64 characters).
    pub fn input(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IpNetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid ip network {:?}", self.0)
    }
}

impl std::error::Error for IpNetError {}

fn mask_v4(addr: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let mask = u32::MAX
        .checked_shl(32_u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0);
    Ipv4Addr::from(u32::from(addr) & mask)
}

fn mask_v6(addr: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let mask = u128::MAX
        .checked_shl(128_u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0);
    Ipv6Addr::from(u128::from(addr) & mask)
}

impl IpNet {
    /// Builds a network, clearing host bits; `None` when `prefix` exceeds
    /// 32 (IPv4) or 128 (IPv6).
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let addr = match addr {
            IpAddr::V4(a) if prefix <= 32 => IpAddr::V4(mask_v4(a, prefix)),
            IpAddr::V6(a) if prefix <= 128 => IpAddr::V6(mask_v6(a, prefix)),
            _ => return None,
        };
        Some(Self { addr, prefix })
    }

    /// The network address (host bits cleared).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in this network, treating IPv4-mapped IPv6
    /// addresses as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_v4(ip, self.prefix) == net,
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask_v6(ip, self.prefix) == net,
            (IpAddr::V6(net), IpAddr::V4(ip)) => mask_v6(ip.to_ipv6_mapped(), self.prefix) == net,
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = IpNetError;

    /// Parses `addr/prefix` or a bare address; surrounding whitespace is
    /// ignored. The prefix is 1 to 3 decimal digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || IpNetError::new(s);
        let text = s.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err())?;
        let prefix = match prefix {
            None if addr.is_ipv4() => 32,
            None => 128,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().map_err(|_| err())?
            }
            Some(_) => return Err(err()),
        };
        Self::new(addr, prefix).ok_or_else(err)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A list of networks; an address is in the list when any network contains
/// it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpList(pub Vec<IpNet>);

impl IpList {
    /// Parses every entry; blank entries are skipped, and the first invalid
    /// one fails the whole list.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, IpNetError> {
        entries
            .iter()
            .map(AsRef::as_ref)
            .filter(|e| !e.trim().is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether any network of the list contains `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    /// Whether the list has no network.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses one `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `::1`,
/// `[::1]` or `[::1]:5678`, with surrounding spaces.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    let valid_port = |p: &str| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok()
    };
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(valid_port);
        return if port_ok {
            host.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        } else {
            None
        };
    }
    let (host, port) = entry.split_once(':')?;
    if !valid_port(port) {
        return None;
    }
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The client address of a connection from `peer` carrying the given
/// `X-Forwarded-For` header value.
///
/// When `peer` is not in `trusted`, the header is ignored and `peer` is
/// returned. Otherwise the header's entries are walked from right to left
/// (at most the last [`MAX_FORWARDED_ENTRIES`]), skipping trusted proxies;
/// the first untrusted entry is the client. An unparsable (or empty) entry
/// stops the walk and the last trusted hop seen is returned; when every
/// examined entry is trusted, the leftmost one is returned. The result is
/// canonical (IPv4-mapped IPv6 becomes IPv4).
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &IpList) -> IpAddr {
    let peer = peer.to_canonical();
    let Some(header) = forwarded_for else {
        return peer;
    };
    if !trusted.contains(peer) {
        return peer;
    }
    let mut last_trusted = peer;
    for entry in header.rsplit(',').take(MAX_FORWARDED_ENTRIES) {
        let Some(ip) = parse_forwarded(entry) else {
            return last_trusted;
        };
        let ip = ip.to_canonical();
        if !trusted.contains(ip) {
            return ip;
        }
        last_trusted = ip;
    }
    last_trusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn list(items: &[&str]) -> IpList {
        IpList::parse(items).unwrap()
    }

    #[test]
    fn parse_and_display() {
        let cases = [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("192.168.1.7", "192.168.1.7/32"),
            ("::1", "::1/128"),
            ("fd00::/8", "fd00::/8"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("::/0", "::/0"),
            ("  172.16.0.0/12 ", "172.16.0.0/12"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("fd12:3456::1/16", "fd12::/16"),
            ("192.168.1.255/31", "192.168.1.254/31"),
            ("1.2.3.4/032", "1.2.3.4/32"),
            ("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104"),
        ];
        for (input, want) in cases {
            assert_eq!(net(input).to_string(), want, "{input}");
        }
        let n = net("10.1.2.3/8");
        assert_eq!((n.addr(), n.prefix()), (ip("10.0.0.0"), 8));
        assert_eq!(IpNet::new(ip("1.2.3.4"), 33), None);
        assert_eq!(IpNet::new(ip("::"), 129), None);
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "",
            "/",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.0.0.0/ 8",
            "10.0.0.0/1000",
            "10.0.0",
            "300.0.0.1",
            "[::1]",
            "1.2.3.4:80",
            "fe80::1%eth0",
            "example.com",
            "10.0.0.0/8 x",
        ] {
            let e = bad.parse::<IpNet>().unwrap_err();
            assert_eq!(e.input(), bad);
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
        let long = "x".repeat(1000);
        assert_eq!(long.parse::<IpNet>().unwrap_err().input().len(), 64);
    }

    #[test]
    fn contains_v4_v6() {
        let n = net("10.0.0.0/8");
        assert!(n.contains(ip("10.255.0.1")));
        assert!(!n.contains(ip("11.0.0.0")));
        assert!(!n.contains(ip("::1")));
        let host = net("192.168.1.7");
        assert!(host.contains(ip("192.168.1.7")));
        assert!(!host.contains(ip("192.168.1.8")));
        let v6 = net("fd00::/8");
        assert!(v6.contains(ip("fdff::1")));
        assert!(!v6.contains(ip("fe00::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!net("0.0.0.0/0").contains(ip("::2")));
        assert!(net("::/0").contains(ip("::2")));
    }

    #[test]
    fn ipv4_mapped_matches_both_ways() {
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(!net("10.0.0.0/8").contains(ip("::ffff:11.1.2.3")));
        assert!(net("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
        assert!(net("::ffff:10.0.0.0/104").contains(ip("10.9.9.9")));
        assert!(!net("::ffff:10.0.0.0/104").contains(ip("11.9.9.9")));
        assert!(net("::ffff:10.0.0.0/104").contains(ip("::ffff:10.9.9.9")));
        assert!(net("::ffff:1.2.3.4").contains(ip("1.2.3.4")));
        // The deprecated IPv4-compatible form is not special.
        assert!(!net("10.0.0.0/8").contains(ip("::10.1.2.3")));
    }

    #[test]
    fn list_parse() {
        let items = vec!["10.0.0.0/8".to_string(), " ".to_string(), "::1".to_string()];
        let l = IpList::parse(&items).unwrap();
        assert_eq!(l.0.len(), 2);
        assert!(l.contains(ip("10.2.3.4")) && l.contains(ip("::1")));
        assert!(!l.contains(ip("192.168.0.1")));
        assert!(!l.is_empty());
        let e = IpList::parse(&["10.0.0.0/8", "bogus", "also bad"]).unwrap_err();
        assert_eq!(e.input(), "bogus");
        let empty: [&str; 0] = [];
        assert!(IpList::parse(&empty).unwrap().is_empty());
        assert!(!IpList::default().contains(ip("1.2.3.4")));
    }

    #[test]
    fn forwarded_entry_forms() {
        let cases = [
            ("1.2.3.4", Some("1.2.3.4")),
            ("  1.2.3.4 ", Some("1.2.3.4")),
            ("1.2.3.4:5678", Some("1.2.3.4")),
            ("::1", Some("::1")),
            ("[::1]", Some("::1")),
            ("[2001:db8::7]:443", Some("2001:db8::7")),
            ("1.2.3.4:", None),
            ("1.2.3.4:99999", None),
            ("1.2.3.4:x", None),
            ("[::1]:", None),
            ("[::1]x", None),
            ("[1.2.3.4]", None),
            ("[::1", None),
            ("unknown", None),
            ("_hidden", None),
            ("", None),
            ("::1:80x", None),
        ];
        for (entry, want) in cases {
            assert_eq!(parse_forwarded(entry), want.map(ip), "{entry:?}");
        }
    }

    #[test]
    fn untrusted_peer_ignores_header() {
        let trusted = list(&["10.0.0.0/8"]);
        let peer = ip("203.0.113.5");
        assert_eq!(client_ip(peer, Some("1.1.1.1"), &trusted), peer);
        assert_eq!(client_ip(peer, None, &trusted), peer);
        assert_eq!(client_ip(peer, Some("1.1.1.1"), &IpList::default()), peer);
        // Canonical form is returned.
        assert_eq!(client_ip(ip("::ffff:203.0.113.5"), None, &trusted), peer);
    }

    #[test]
    fn walks_right_to_left_skipping_trusted() {
        let trusted = list(&["10.0.0.0/8", "fd00::/8"]);
        let peer = ip("10.0.0.1");
        let xff = "6.6.6.6, 1.2.3.4, 10.0.0.2";
        assert_eq!(client_ip(peer, Some(xff), &trusted), ip("1.2.3.4"));
        assert_eq!(client_ip(peer, Some("1.2.3.4"), &trusted), ip("1.2.3.4"));
        assert_eq!(
            client_ip(peer, Some("[2001:db8::1]:80 , [fd00::5]"), &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), Some("::ffff:1.2.3.4:"), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), Some("::ffff:1.2.3.4"), &trusted),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn garbage_stops_at_last_trusted_hop() {
        let trusted = list(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        assert_eq!(client_ip(peer, Some("1.2.3.4, garbage"), &trusted), peer);
        assert_eq!(
            client_ip(peer, Some("1.2.3.4, garbage, 10.0.0.9"), &trusted),
            ip("10.0.0.9")
        );
        assert_eq!(client_ip(peer, Some(""), &trusted), peer);
        assert_eq!(
            client_ip(peer, Some("1.2.3.4,,10.0.0.3"), &trusted),
            ip("10.0.0.3")
        );
        assert_eq!(client_ip(peer, Some("1.2.3.4, 10.0.0.2,"), &trusted), peer);
    }

    #[test]
    fn all_trusted_returns_leftmost_or_peer() {
        let trusted = list(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        assert_eq!(client_ip(peer, None, &trusted), peer);
        assert_eq!(
            client_ip(peer, Some("10.0.0.7, 10.0.0.8"), &trusted),
            ip("10.0.0.7")
        );
    }

    #[test]
    fn header_capped_at_64_entries() {
        let trusted = list(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        let hops: Vec<String> = (0..64).map(|i| format!("10.0.1.{i}")).collect();
        let xff = format!("1.2.3.4, {}", hops.join(", "));
        // The client sits 65th from the right: not examined.
        assert_eq!(client_ip(peer, Some(&xff), &trusted), ip("10.0.1.0"));
        let xff = format!("1.2.3.4, {}", hops[1..].join(", "));
        assert_eq!(client_ip(peer, Some(&xff), &trusted), ip("1.2.3.4"));
        // A huge header of untrusted entries stops at the first.
        let huge = "9.9.9.9,".repeat(100_000) + "8.8.8.8";
        assert_eq!(client_ip(peer, Some(&huge), &trusted), ip("8.8.8.8"));
    }
}
