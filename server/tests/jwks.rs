//! RS256, ES256 and EdDSA tokens under the keys of a JWKS served by the
//! test, end to end with socket.io-client: key rotation (a new `kid`
//! refreshes the set), the rate limit on unknown `kid`s, issuer and
//! audience checks, HS tokens beside them, and numeric ids.

mod common;

use common::jwks::{set, Provider, Signer};
use common::{now, poll, Server};
use serde_json::{json, Value};

const ISS: &str = "https://id.test";

fn config(p: &Provider, min_refresh_ms: u64) -> String {
    format!(
        r#"
[auth]
jwt_algorithms = ["HS256", "RS256", "ES256", "EdDSA"]
jwks_url = "{}"
jwks_min_refresh_ms = {min_refresh_ms}
jwks_timeout_ms = 3000
issuer = "{ISS}"
audience = ["chat", "admin"]
"#,
        p.url()
    )
}

fn claims(sub: Value) -> Value {
    let t = now();
    json!({ "sub": sub, "iss": ISS, "aud": "chat", "iat": t, "exp": t + 600 })
}

async fn connect(s: &Server, token: &str) -> common::Client {
    s.client("/", json!({ "auth": { "token": token } })).await
}

/// Connects with `token` until the server accepts it (a JWKS refresh may
/// wait for the rate limit); a refusal must be for the unknown key.
async fn connects_eventually(s: &Server, token: &str) {
    poll(30, "token accepted", || async move {
        let mut c = connect(s, token).await;
        let v = c
            .expect(10, "connect", |v| {
                v["type"] == "connect" || v["type"] == "connect_error"
            })
            .await;
        if v["type"] == "connect_error" {
            assert_eq!(v["data"]["code"], "TOKEN_UNKNOWN_KEY", "{v}");
        }
        (v["type"] == "connect").then_some(())
    })
    .await;
}

/// The first `connected` event's `userId`.
async fn connected_user(c: &mut common::Client) -> Value {
    c.connected().await;
    c.event("connected").await[0]["userId"].clone()
}

#[tokio::test]
async fn public_key_tokens_connect_and_keep_numeric_ids() {
    let (rsa, ec, ed) = (Signer::rsa(), Signer::ec(), Signer::ed());
    let p = Provider::start(set(&[rsa.jwk("r1"), ec.jwk("e1"), ed.jwk("d1")])).await;
    let s = Server::start(&config(&p, 10_000)).await;

    let mut a = connect(&s, &rsa.token("r1", &claims(json!(42)))).await;
    assert_eq!(connected_user(&mut a).await, json!(42));
    let mut b = connect(&s, &ec.token("e1", &claims(json!("u-ec")))).await;
    assert_eq!(connected_user(&mut b).await, json!("u-ec"));
    let mut c = connect(&s, &ed.token("d1", &claims(json!("u-ed")))).await;
    assert_eq!(connected_user(&mut c).await, json!("u-ed"));
    // HS256 secrets keep working beside the JWKS (a string id stays one).
    let hs = socketio_server::jwt::sign(
        &claims(json!("7")),
        common::SECRET.as_bytes(),
        socketio_server::jwt::Algorithm::Hs256,
    );
    let mut h = connect(&s, &hs).await;
    assert_eq!(connected_user(&mut h).await, json!("7"));

    // A numeric id stays a number in replies.
    let ack = a.emit_ack("register", json!([{ "userId": 42 }])).await;
    assert_eq!(ack[0]["userId"], json!(42), "{ack:?}");

    // Another key's signature under a known kid is refused; a kid of
    // another key type fits no key.
    let forged = Signer::ec().token("e1", &claims(json!("x")));
    let e = connect(&s, &forged).await.refused().await;
    assert_eq!(e["data"]["code"], "INVALID_TOKEN", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("bad token signature"),
        "{e}"
    );
    let e = connect(&s, &ec.token("r1", &claims(json!("x"))))
        .await
        .refused()
        .await;
    assert_eq!(e["data"]["code"], "TOKEN_UNKNOWN_KEY", "{e}");
}

#[tokio::test]
async fn wrong_issuer_or_audience_is_refused_readably() {
    let ed = Signer::ed();
    let p = Provider::start(set(&[ed.jwk("d1")])).await;
    let s = Server::start(&config(&p, 10_000)).await;
    let mut bad_iss = claims(json!("u1"));
    bad_iss["iss"] = json!("https://evil.test");
    let e = connect(&s, &ed.token("d1", &bad_iss)).await.refused().await;
    assert_eq!(e["data"]["code"], "TOKEN_BAD_ISSUER", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("issuer not accepted"),
        "{e}"
    );
    let mut bad_aud = claims(json!("u1"));
    bad_aud["aud"] = json!(["billing"]);
    let e = connect(&s, &ed.token("d1", &bad_aud)).await.refused().await;
    assert_eq!(e["data"]["code"], "TOKEN_BAD_AUDIENCE", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("audience not accepted"),
        "{e}"
    );
    let mut no_iss = claims(json!("u1"));
    no_iss.as_object_mut().unwrap().remove("iss");
    let e = connect(&s, &ed.token("d1", &no_iss)).await.refused().await;
    assert_eq!(e["data"]["code"], "TOKEN_BAD_ISSUER", "{e}");
    // The HS path checks them too.
    let hs = socketio_server::jwt::sign(
        &json!({"userId": "u", "exp": now() + 60, "iss": ISS}),
        common::SECRET.as_bytes(),
        socketio_server::jwt::Algorithm::Hs256,
    );
    let e = connect(&s, &hs).await.refused().await;
    assert_eq!(e["data"]["code"], "TOKEN_BAD_AUDIENCE", "{e}");
}

#[tokio::test]
async fn a_new_kid_refreshes_the_set() {
    let (old, new) = (Signer::rsa(), Signer::ec());
    let p = Provider::start(set(&[old.jwk("k1")])).await;
    let s = Server::start(&config(&p, 300)).await;
    let mut a = connect(&s, &old.token("k1", &claims(json!("u1")))).await;
    a.connected().await;
    // The provider rotates: k2 signs from now on.
    p.serve(set(&[new.jwk("k2")]));
    let t = new.token("k2", &claims(json!("u2")));
    // A refresh may wait for the rate limit; a refused try is retried.
    connects_eventually(&s, &t).await;
    // The `authenticate` event takes a token of a later key too.
    let third = Signer::ed();
    p.serve(set(&[new.jwk("k2"), third.jwk("k3")]));
    let mut anon = s.client("/", json!({})).await;
    anon.connected().await;
    let t3 = third.token("k3", &claims(json!(9)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let body = loop {
        anon.emit("authenticate", json!([{ "token": t3 }])).await;
        let v = anon
            .expect(10, "authenticate answer", |v| {
                v["type"] == "event" && (v["event"] == "authenticated" || v["event"] == "authError")
            })
            .await;
        if v["event"] == "authenticated" {
            break v["args"][0].clone();
        }
        assert_eq!(v["args"][0]["code"], "TOKEN_UNKNOWN_KEY", "{v}");
        assert!(std::time::Instant::now() < deadline, "k3 never accepted");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(body["userId"], json!(9), "{body}");
}

#[tokio::test]
async fn unknown_kids_cannot_hammer_the_provider() {
    let ed = Signer::ed();
    let p = Provider::start(set(&[ed.jwk("d1")])).await;
    // One fetch per ten minutes for unknown kids.
    let s = Server::start(&config(&p, 600_000)).await;
    let mut ok = connect(&s, &ed.token("d1", &claims(json!("u1")))).await;
    ok.connected().await;
    let before = p.hits();
    assert!(before >= 1);
    let mut clients = Vec::new();
    for i in 0..8 {
        let t = ed.token(&format!("made-up-{i}"), &claims(json!("u1")));
        clients.push(connect(&s, &t).await);
    }
    for c in &mut clients {
        let e = c.refused().await;
        assert_eq!(e["data"]["code"], "TOKEN_UNKNOWN_KEY", "{e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("unknown token signing key"),
            "{e}"
        );
    }
    assert_eq!(p.hits(), before, "unknown kids fetched the set again");
    // The server is still fine for good tokens.
    let mut again = connect(&s, &ed.token("d1", &claims(json!("u2")))).await;
    again.connected().await;
}

#[tokio::test]
async fn an_oversized_or_broken_set_keeps_tokens_out_not_the_server() {
    let ed = Signer::ed();
    let huge = format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(4096));
    let p = Provider::start(huge).await;
    let cfg = format!("{}jwks_max_bytes = 1024\n", config(&p, 200));
    let s = Server::start(&cfg).await;
    let t = ed.token("d1", &claims(json!("u1")));
    let e = connect(&s, &t).await.refused().await;
    assert_eq!(e["data"]["code"], "TOKEN_UNKNOWN_KEY", "{e}");
    p.serve("not json".into());
    let e = connect(&s, &t).await.refused().await;
    assert_eq!(e["data"]["code"], "TOKEN_UNKNOWN_KEY", "{e}");
    // Fixed at the provider: the next refresh lets the token in.
    p.serve(set(&[ed.jwk("d1")]));
    connects_eventually(&s, &t).await;
}

#[tokio::test]
async fn an_https_jwks_with_a_private_ca() {
    let Some((ca, tls)) = common::pki::test_tls() else {
        return;
    };
    let ed = Signer::ed();
    let p = Provider::start_with(set(&[ed.jwk("d1")]), Some(tls)).await;
    let cfg = format!(
        "[auth]\njwt_algorithms = [\"EdDSA\"]\njwks_url = \"{}\"\njwks_ca_file = \"{ca}\"\n",
        p.https_url()
    );
    let s = Server::start(&cfg).await;
    connects_eventually(&s, &ed.token("d1", &claims(json!("u1")))).await;
    assert!(p.hits() >= 1);
    drop(s);
    // Without the CA the provider's certificate is not trusted: no keys.
    let cfg = format!(
        "[auth]\njwt_algorithms = [\"EdDSA\"]\njwks_url = \"{}\"\njwks_min_refresh_ms = 100\n",
        p.https_url()
    );
    let s = Server::start(&cfg).await;
    let e = connect(&s, &ed.token("d1", &claims(json!("u1"))))
        .await
        .refused()
        .await;
    assert_eq!(e["data"]["code"], "TOKEN_UNKNOWN_KEY", "{e}");
}
