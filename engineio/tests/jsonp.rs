//! JSONP polling with `allow_jsonp`, driven by a scripted HTTP client as
//! engine.io-client 3.x's JSONP transport sends: a handshake and polls
//! answered as `___eio[j]("...");` scripts, POSTs as `d=<payload>` forms
//! with newlines escaped, bad `j` and bad forms refused, the POST limit.
mod common;
use common::*;

use engineio::CloseReason;

fn jsonp(sid: Option<&str>, eio: &str) -> String {
    match sid {
        Some(s) => format!("/engine.io/?EIO={eio}&transport=polling&b64=1&j=4&sid={s}"),
        None => format!("/engine.io/?EIO={eio}&transport=polling&b64=1&j=4"),
    }
}

/// The string a browser's `___eio[4]` callback receives from `r`.
fn script(r: &Resp) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    let text = r.text();
    let lit = text
        .strip_prefix("___eio[4](")
        .and_then(|t| t.strip_suffix(");"))
        .unwrap_or_else(|| panic!("not a JSONP script: {text}"));
    serde_json::from_str(lit).unwrap()
}

/// A form body as the client's hidden form posts it: newlines as `\n`, a
/// literal `\n` as `\\n`, then form-urlencoded.
fn form(payload: &str) -> Vec<u8> {
    let escaped = payload.replace("\\n", "\\\n").replace('\n', "\\n");
    let mut out = b"d=".to_vec();
    for b in escaped.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

fn post_form(
    srv: &Server,
    sid: &str,
    eio: &str,
    body: &[u8],
) -> impl std::future::Future<Output = Resp> {
    let addr = srv.addr;
    let target = jsonp(Some(sid), eio);
    let body = body.to_vec();
    async move {
        let ct = [("Content-Type", "application/x-www-form-urlencoded")];
        request(addr, "POST", &target, &ct, &body).await
    }
}

async fn open(srv: &Server, eio: &str) -> String {
    let text = script(&get(srv.addr, &jsonp(None, eio)).await);
    let open = match eio {
        "4" => text.strip_prefix('0').unwrap().to_owned(),
        _ => text
            .split_once(':')
            .unwrap()
            .1
            .strip_prefix('0')
            .unwrap()
            .to_owned(),
    };
    let open: serde_json::Value = serde_json::from_str(&open).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}

/// Polls until the decoded payloads hold `want`.
async fn poll_until(srv: &Server, sid: &str, eio: &str, want: &str) -> String {
    let mut got = String::new();
    for _ in 0..10 {
        got.push_str(&script(&get(srv.addr, &jsonp(Some(sid), eio)).await));
        if got.contains(want) {
            return got;
        }
    }
    panic!("{want:?} never came: {got:?}");
}

#[tokio::test]
async fn eio4_handshake_post_and_poll() {
    let srv = start(fast_config().allow_jsonp(true)).await;
    let sid = open(&srv, "4").await;
    let msg = "a\nb \\n </script> \u{2028}\u{2029} é";
    let payload = format!("4{msg}\u{1e}4second");
    let r = post_form(&srv, &sid, "4", &form(&payload)).await;
    assert_eq!(r.text(), "ok");
    let events = srv.rec.events(&sid);
    assert_eq!(events[1], Seen::Text(msg.into()), "{events:?}");
    assert_eq!(events[2], Seen::Text("second".into()));
    // The echo comes back as a script with nothing raw that could end a
    // script element or a JavaScript string.
    let r = get(srv.addr, &jsonp(Some(&sid), "4")).await;
    let raw = r.text();
    assert!(!raw.contains('<') && !raw.contains('\n'), "{raw}");
    assert!(
        !raw.contains('\u{2028}') && !raw.contains('\u{2029}'),
        "{raw}"
    );
    let mut got = script(&r);
    if !got.contains("second") {
        got.push_str(&poll_until(&srv, &sid, "4", "second").await);
    }
    assert!(got.contains(&format!("4{msg}")), "{got:?}");
}

#[tokio::test]
async fn eio3_client_as_socket_io_v2_sends() {
    let srv = start(fast_config().allow_eio3(true).allow_jsonp(true)).await;
    let sid = open(&srv, "3").await;
    let r = post_form(&srv, &sid, "3", &form("3:4hé1:2")).await;
    assert_eq!(r.text(), "ok");
    let got = poll_until(&srv, &sid, "3", "3:4hé").await;
    assert!(got.contains("1:3"), "the pong: {got:?}");
}

#[tokio::test]
async fn off_by_default_j_is_plain_polling() {
    let srv = start(fast_config()).await;
    let r = get(srv.addr, &jsonp(None, "4")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
    assert!(r.text().starts_with("0{"), "{}", r.text());
}

#[tokio::test]
async fn a_j_that_is_not_a_number_is_refused() {
    let srv = start(fast_config().allow_jsonp(true)).await;
    for j in ["x", "", "1%29%3Balert%281%29", "1234567890"] {
        let target = format!("/engine.io/?EIO=4&transport=polling&j={j}");
        get(srv.addr, &target).await.assert_error(400, 3);
    }
    let sid = open(&srv, "4").await;
    let target = format!("/engine.io/?EIO=4&transport=polling&sid={sid}&j=a");
    get(srv.addr, &target).await.assert_error(400, 3);
    assert_polls(srv.addr, &sid).await;
}

#[tokio::test]
async fn a_body_without_d_ends_the_session() {
    let srv = start(fast_config().allow_jsonp(true)).await;
    let sid = open(&srv, "4").await;
    post_form(&srv, &sid, "4", b"4hello")
        .await
        .assert_error(400, 3);
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn bad_percent_encoding_ends_the_session() {
    let srv = start(fast_config().allow_jsonp(true)).await;
    let sid = open(&srv, "4").await;
    post_form(&srv, &sid, "4", b"d=4a%G0")
        .await
        .assert_error(400, 3);
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn a_form_beyond_max_payload_is_413() {
    let srv = start(fast_config().allow_jsonp(true).max_payload(100)).await;
    let sid = open(&srv, "4").await;
    let r = post_form(&srv, &sid, "4", &form(&format!("4{}", "x".repeat(120)))).await;
    assert_eq!(r.status, 413);
    assert_eq!(srv.rec.closed(&sid).await, CloseReason::TransportError);
}
