//! An identity provider for the JWKS tests: serves a key set (replaceable
//! while running) at `/jwks.json`, counts the requests, and signs RS256,
//! ES256 and EdDSA tokens with its keys.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// The test-only RSA key (PKCS#8 DER, 2048 bits, made for these tests).
const RSA_PKCS8: &[u8] = include_bytes!("../keys/test-only-rsa2048.pk8");

/// A running key server.
#[derive(Clone)]
pub struct Provider {
    /// Its port on 127.0.0.1.
    pub port: u16,
    doc: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl Provider {
    /// Serves `doc` (the body of every answer) on a free port.
    pub async fn start(doc: String) -> Provider {
        Provider::start_with(doc, None).await
    }

    /// [`Provider::start`] over TLS with `tls`.
    pub async fn start_with(doc: String, tls: Option<tokio_rustls::TlsAcceptor>) -> Provider {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let p = Provider {
            port,
            doc: Arc::new(Mutex::new(doc)),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let (doc, hits) = (p.doc.clone(), p.hits.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (doc, hits, tls) = (doc.clone(), hits.clone(), tls.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| {
                        hits.fetch_add(1, Ordering::SeqCst);
                        let body = doc.lock().unwrap().clone();
                        let mut r = http::Response::new(Full::new(Bytes::from(body)));
                        r.headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        std::future::ready(Ok::<_, Infallible>(r))
                    });
                    super::pki::serve(stream, tls, svc).await;
                });
            }
        });
        p
    }

    /// The set's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/jwks.json", self.port)
    }

    /// The set's https URL (for a certificate of `localhost`).
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}/jwks.json", self.port)
    }

    /// Replaces the set served.
    pub fn serve(&self, doc: String) {
        *self.doc.lock().unwrap() = doc;
    }

    /// Requests answered so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A signing key with its public JWK.
pub enum Signer {
    /// RS256.
    Rsa(RsaKeyPair),
    /// ES256.
    Ec(EcdsaKeyPair),
    /// EdDSA.
    Ed(Ed25519KeyPair),
}

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

impl Signer {
    /// The test RSA key.
    pub fn rsa() -> Signer {
        Signer::Rsa(RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap())
    }

    /// A new P-256 key.
    pub fn ec() -> Signer {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        Signer::Ec(EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng).unwrap())
    }

    /// A new Ed25519 key.
    pub fn ed() -> Signer {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Signer::Ed(Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap())
    }

    /// The `alg` it signs with.
    pub fn alg(&self) -> &'static str {
        match self {
            Signer::Rsa(_) => "RS256",
            Signer::Ec(_) => "ES256",
            Signer::Ed(_) => "EdDSA",
        }
    }

    /// Its public JWK with id `kid`.
    pub fn jwk(&self, kid: &str) -> Value {
        match self {
            Signer::Rsa(k) => {
                let c: ring::rsa::PublicKeyComponents<Vec<u8>> = k.public().into();
                json!({"kty":"RSA","kid":kid,"alg":"RS256","use":"sig","n":b64(&c.n),"e":b64(&c.e)})
            }
            Signer::Ec(k) => {
                let p = k.public_key().as_ref();
                json!({"kty":"EC","kid":kid,"crv":"P-256","x":b64(&p[1..33]),"y":b64(&p[33..])})
            }
            Signer::Ed(k) => {
                json!({"kty":"OKP","kid":kid,"crv":"Ed25519","x":b64(k.public_key().as_ref())})
            }
        }
    }

    /// A token of `claims` with header `kid`.
    pub fn token(&self, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": self.alg(), "typ": "JWT", "kid": kid});
        socketio_server::jwt::sign_with(&header, claims, |input| self.sign(input))
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Signer::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .unwrap();
                sig
            }
            Signer::Ec(k) => k.sign(&rng, msg).unwrap().as_ref().to_vec(),
            Signer::Ed(k) => k.sign(msg).as_ref().to_vec(),
        }
    }
}

/// A key set of `keys` (JWKs).
pub fn set(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}
