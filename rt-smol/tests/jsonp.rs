//! JSONP polling on the smol engine with `allow_jsonp`, from a scripted
//! client sending what engine.io-client 3.x's JSONP transport sends: the
//! handshake and polls answered as `___eio[j]("...");`, form-encoded
//! POSTs with escaped newlines, bad `j` and bad forms refused, the limit.

mod common;

use std::time::Duration;

use common::{request, Answer, Seen, Server};
use engineio::{CloseReason, EngineConfig};

fn config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .allow_jsonp(true)
}

fn url(sid: Option<&str>, eio: &str) -> String {
    match sid {
        Some(s) => format!("/engine.io/?EIO={eio}&transport=polling&b64=1&j=9&sid={s}"),
        None => format!("/engine.io/?EIO={eio}&transport=polling&b64=1&j=9"),
    }
}

/// The string the page's `___eio[9]` callback receives.
fn script(a: &Answer) -> String {
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(
        a.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    let text = a.text();
    let lit = text
        .strip_prefix("___eio[9](")
        .and_then(|t| t.strip_suffix(");"))
        .unwrap_or_else(|| panic!("not a JSONP script: {text}"));
    serde_json::from_str(lit).unwrap()
}

/// The client's form: newlines as `\n`, a literal `\n` as `\\n`, encoded.
fn form(payload: &str) -> Vec<u8> {
    let escaped = payload.replace("\\n", "\\\n").replace('\n', "\\n");
    let mut out = b"d=".to_vec();
    for b in escaped.bytes() {
        match b.is_ascii_alphanumeric() {
            true => out.push(b),
            false => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
        }
    }
    out
}

fn post(s: &Server, sid: &str, eio: &str, body: &[u8]) -> Answer {
    let ct = ["Content-Type: application/x-www-form-urlencoded"];
    request(s.addr, "POST", &url(Some(sid), eio), &ct, body)
}

fn open(s: &Server, eio: &str) -> String {
    let text = script(&request(s.addr, "GET", &url(None, eio), &[], b""));
    let packet = match eio {
        "4" => text.as_str(),
        _ => text.split_once(':').unwrap().1,
    };
    let open: serde_json::Value = serde_json::from_str(&packet[1..]).unwrap();
    assert_eq!(s.next_seen(), Seen::Connect);
    open["sid"].as_str().unwrap().to_owned()
}

fn poll_until(s: &Server, sid: &str, eio: &str, want: &str) -> (String, String) {
    let (mut got, mut raw) = (String::new(), String::new());
    for _ in 0..10 {
        let a = request(s.addr, "GET", &url(Some(sid), eio), &[], b"");
        raw.push_str(&a.text());
        got.push_str(&script(&a));
        if got.contains(want) {
            return (got, raw);
        }
    }
    panic!("{want:?} never came: {got:?}");
}

#[test]
fn eio4_handshake_post_and_poll() {
    let s = Server::start(config());
    let sid = open(&s, "4");
    let msg = "a\nb \\n </script> \u{2028}\u{2029} é";
    let a = post(&s, &sid, "4", &form(&format!("4{msg}\u{1e}4second")));
    assert_eq!(a.text(), "ok");
    assert_eq!(s.next_seen(), Seen::Message(msg.into()));
    assert_eq!(s.next_seen(), Seen::Message("second".into()));
    let (got, raw) = poll_until(&s, &sid, "4", "4second");
    assert!(got.contains(&format!("4{msg}")), "{got:?}");
    assert!(!raw.contains('<') && !raw.contains('\n'), "{raw}");
    assert!(
        !raw.contains('\u{2028}') && !raw.contains('\u{2029}'),
        "{raw}"
    );
}

#[test]
fn eio3_client_as_socket_io_v2_sends() {
    let s = Server::start(config().allow_eio3(true));
    let sid = open(&s, "3");
    assert_eq!(post(&s, &sid, "3", &form("3:4hé1:2")).text(), "ok");
    assert_eq!(s.next_seen(), Seen::Message("hé".into()));
    let (got, _) = poll_until(&s, &sid, "3", "3:4hé");
    assert!(got.contains("1:3"), "the pong: {got:?}");
}

#[test]
fn off_by_default_j_is_plain_polling() {
    let s = Server::start(config().allow_jsonp(false));
    let a = request(s.addr, "GET", &url(None, "4"), &[], b"");
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("text/plain; charset=UTF-8"));
    assert!(a.text().starts_with("0{"), "{}", a.text());
}

#[test]
fn a_j_that_is_not_a_number_is_refused() {
    let s = Server::start(config());
    for j in ["x", "", "1%29%3Balert%281%29", "1234567890"] {
        let target = format!("/engine.io/?EIO=4&transport=polling&j={j}");
        let a = request(s.addr, "GET", &target, &[], b"");
        assert_eq!((a.status, a.code()), (400, 3), "{j}");
    }
}

#[test]
fn bad_forms_end_the_session() {
    let s = Server::start(config());
    for body in [&b"4hello"[..], b"d=4a%G0"] {
        let sid = open(&s, "4");
        let a = post(&s, &sid, "4", body);
        assert_eq!((a.status, a.code()), (400, 3));
        assert_eq!(s.next_seen(), Seen::Close(CloseReason::TransportError));
    }
}

#[test]
fn a_form_beyond_max_payload_is_413() {
    let s = Server::start(config().max_payload(100));
    let sid = open(&s, "4");
    let a = post(&s, &sid, "4", &form(&format!("4{}", "x".repeat(120))));
    assert_eq!(a.status, 413);
    assert_eq!(s.next_seen(), Seen::Close(CloseReason::TransportError));
}
