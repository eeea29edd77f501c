//! Signed JSON Web Tokens in the compact form of RFC 7519 / RFC 7515:
//! HMAC (HS256, HS384, HS512) under configured secrets, and RS256/384/512,
//! ES256/384 and EdDSA under the public keys of a [`KeySet`]
//! ([`crate::jwk`], fetched by [`crate::jwks`]).
//!
//! This module owns token verification for client authentication: structural
//! checks, header policy (`alg`, `typ`, `crit`, `kid`), constant-time
//! checking of HMAC tags against a set of rotating secrets, public-key
//! signature checks, the registered time claims (`exp`, `nbf`, `iat`) and
//! the issuer and audience (`iss`, `aud`). It also owns [`sign`] and
//! [`sign_with`], used by tests and tooling to mint tokens. It performs no
//! I/O and reads no clock: the caller passes the current Unix time in
//! seconds and the key set.
//!
//! Verification order (each step runs only if the previous ones passed):
//! 1. token length against [`Verifier::max_token_len`] (before any decoding);
//! 2. at least one non-empty secret configured, unless a public-key
//!    algorithm is accepted;
//! 3. exactly three unpadded base64url segments, header a JSON object;
//! 4. header policy: `alg` (none / allowed), `typ`, `crit`, `kid` (a string);
//! 5. signature, before the payload is parsed: an HMAC algorithm against
//!    every secret (constant time; [`JwtError::NoSecret`] without one), a
//!    public-key algorithm against the keys of the set with the header's
//!    `kid` (every key fitting the algorithm when there is none);
//!    [`JwtError::UnknownKey`] when no key fits, so that the caller can
//!    refresh the set;
//! 6. payload JSON object and claim types;
//! 7. `exp` presence and expiry, `nbf`, `iat`, then `iss` and `aud`, then
//!    the subject.

use std::fmt;

use serde_json::{Map, Value};

mod claims;
mod error;
mod sign;

pub use crate::jwa::Algorithm;
use crate::jwk::KeySet;
pub use claims::Claims;
use claims::{decode_object, decode_segment, numeric_claim, subject};
pub use error::JwtError;
pub use sign::{sign, sign_with};

/// Longest `alg` or `kid` value kept verbatim in an error.
const MAX_ALG_ECHO: usize = 32;

/// Token verification policy and keys.
///
/// Empty entries in [`secrets`](Self::secrets) are ignored (an empty HMAC key
/// would let anyone forge tokens); with no non-empty secret every token is
/// refused with [`JwtError::NoSecret`] unless a public-key algorithm is
/// accepted (its keys come with each call, see [`Verifier::verify_with`]).
#[derive(Clone)]
pub struct Verifier {
    /// Accepted HMAC keys; a token verifying under any of them is accepted
    /// (key rotation). Order does not matter.
    pub secrets: Vec<Vec<u8>>,
    /// Accepted `alg` values; any other algorithm is refused.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Longest accepted token, in bytes; checked before any decoding.
    pub max_token_len: usize,
    /// Whether a token without an `exp` claim is refused.
    pub require_exp: bool,
    /// Accepted `iss` values; when not empty, a token must name one of them.
    pub issuers: Vec<String>,
    /// Accepted audiences; when not empty, the token's `aud` (a string or
    /// an array of strings) must name one of them.
    pub audiences: Vec<String>,
}

impl Default for Verifier {
    /// No secrets, `[Hs256]`, 30 s leeway, 8192-byte tokens, `exp`
    /// required, any issuer and audience.
    fn default() -> Self {
        Self {
            secrets: Vec::new(),
            algorithms: vec![Algorithm::Hs256],
            leeway_secs: 30,
            max_token_len: 8192,
            require_exp: true,
            issuers: Vec::new(),
            audiences: Vec::new(),
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("Verifier")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field("algorithms", &self.algorithms)
            .field("leeway_secs", &self.leeway_secs)
            .field("max_token_len", &self.max_token_len)
            .field("require_exp", &self.require_exp)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .finish()
    }
}

impl Verifier {
    /// Verifies `token` at time `now_unix_secs` and returns its claims.
    ///
    /// See the module documentation for the order of the checks. Expiry is
    /// `now >= exp + leeway`; `nbf` and `iat` are refused when later than
    /// `now + leeway`.
    pub fn verify(&self, token: &str, now_unix_secs: u64) -> Result<Claims, JwtError> {
        self.verify_with(token, now_unix_secs, &KeySet::default())
    }

    /// [`Verifier::verify`] with `keys` for the public-key algorithms.
    pub fn verify_with(
        &self,
        token: &str,
        now_unix_secs: u64,
        keys: &KeySet,
    ) -> Result<Claims, JwtError> {
        if token.len() > self.max_token_len {
            return Err(JwtError::TooLong);
        }
        let public = self.algorithms.iter().any(|a| !a.is_hmac());
        if !public && !self.has_secret() {
            return Err(JwtError::NoSecret);
        }

        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };

        let header = decode_object(header_b64)?;
        let (alg, kid) = self.check_header(&header)?;

        let signature = decode_segment(sig_b64)?;
        // `header.payload`, exactly as sent.
        let signing_input = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(JwtError::Malformed)?;
        self.check_signature(alg, kid, keys, signing_input.as_bytes(), &signature)?;

        let raw = decode_object(payload_b64)?;
        let exp = numeric_claim(&raw, "exp")?;
        let iat = numeric_claim(&raw, "iat")?;
        let nbf = numeric_claim(&raw, "nbf")?;
        let role = match raw.get("role") {
            None => None,
            Some(Value::String(r)) => Some(r.clone()),
            Some(_) => return Err(JwtError::Malformed),
        };

        let horizon = now_unix_secs.saturating_add(self.leeway_secs);
        match exp {
            None if self.require_exp => return Err(JwtError::MissingExpiry),
            Some(exp) if now_unix_secs >= exp.saturating_add(self.leeway_secs) => {
                return Err(JwtError::Expired)
            }
            _ => {}
        }
        if nbf.is_some_and(|nbf| nbf > horizon) {
            return Err(JwtError::NotYetValid);
        }
        if iat.is_some_and(|iat| iat > horizon) {
            return Err(JwtError::IssuedInFuture);
        }
        self.check_issuer_audience(&raw)?;

        let user_id = subject(&raw).ok_or(JwtError::MissingSubject)?;
        Ok(Claims {
            user_id,
            role,
            exp,
            iat,
            raw,
        })
    }

    fn has_secret(&self) -> bool {
        self.secrets.iter().any(|s| !s.is_empty())
    }

    fn check_signature(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        keys: &KeySet,
        input: &[u8],
        signature: &[u8],
    ) -> Result<(), JwtError> {
        let verified = if alg.is_hmac() {
            if !self.has_secret() {
                return Err(JwtError::NoSecret);
            }
            self.secrets
                .iter()
                .filter(|s| !s.is_empty())
                .any(|secret| alg.verify(secret, input, signature))
        } else {
            let mut fitting = keys.candidates(kid, alg).peekable();
            if fitting.peek().is_none() {
                let echo = kid.map(|k| k.chars().take(MAX_ALG_ECHO).collect());
                return Err(JwtError::UnknownKey(echo));
            }
            fitting.any(|k| k.verify(alg, input, signature))
        };
        if verified {
            Ok(())
        } else {
            Err(JwtError::BadSignature)
        }
    }

    fn check_issuer_audience(&self, raw: &Map<String, Value>) -> Result<(), JwtError> {
        if !self.issuers.is_empty() {
            let iss = raw.get("iss").and_then(Value::as_str);
            if !iss.is_some_and(|i| self.issuers.iter().any(|a| a == i)) {
                return Err(JwtError::BadIssuer);
            }
        }
        if !self.audiences.is_empty() {
            let accepted = |v: &Value| {
                v.as_str()
                    .is_some_and(|a| self.audiences.iter().any(|x| x == a))
            };
            let ok = match raw.get("aud") {
                Some(Value::Array(list)) => list.iter().any(accepted),
                Some(v) => accepted(v),
                None => false,
            };
            if !ok {
                return Err(JwtError::BadAudience);
            }
        }
        Ok(())
    }

    fn check_header<'h>(
        &self,
        header: &'h Map<String, Value>,
    ) -> Result<(Algorithm, Option<&'h str>), JwtError> {
        let Some(Value::String(alg)) = header.get("alg") else {
            return Err(JwtError::Malformed);
        };
        if alg.eq_ignore_ascii_case("none") {
            return Err(JwtError::AlgNone);
        }
        let alg = match Algorithm::parse(alg) {
            Some(a) if self.algorithms.contains(&a) => a,
            _ => {
                let echo: String = alg.chars().take(MAX_ALG_ECHO).collect();
                return Err(JwtError::UnsupportedAlgorithm(echo));
            }
        };
        match header.get("typ") {
            None => {}
            Some(Value::String(t)) if t.eq_ignore_ascii_case("JWT") => {}
            Some(_) => return Err(JwtError::Malformed),
        }
        if header.contains_key("crit") {
            return Err(JwtError::Malformed);
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(JwtError::Malformed),
        };
        Ok((alg, kid))
    }
}

#[cfg(test)]
mod tests {
    use super::JwtError::*;
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;
    const SECRET: &[u8] = b"test-secret-0123456789";
    const ALL: [Algorithm; 3] = [Algorithm::Hs256, Algorithm::Hs384, Algorithm::Hs512];
    const HS256: &str = r#"{"alg":"HS256"}"#;

    fn verifier() -> Verifier {
        let (secrets, algorithms) = (vec![SECRET.to_vec()], ALL.to_vec());
        Verifier {
            secrets,
            algorithms,
            ..Verifier::default()
        }
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    /// Signs `claims` with HS256 under the test secret.
    fn hs(claims: Value) -> String {
        sign(&claims, SECRET, Algorithm::Hs256)
    }

    /// Verifies with the test verifier at `NOW`.
    fn run(token: &str) -> Result<Claims, JwtError> {
        verifier().verify(token, NOW)
    }

    /// Builds a token from raw header/payload JSON text, signed with HS256.
    fn raw(header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let tag = Algorithm::Hs256.mac(SECRET, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    fn good() -> Value {
        json!({ "userId": "u1", "exp": NOW + 60, "iat": NOW })
    }

    /// The three segments of a token.
    fn parts(token: &str) -> Vec<String> {
        token.split('.').map(str::to_string).collect()
    }

    /// Asserts that every token is refused with `want`.
    fn refuse<T: AsRef<str>>(tokens: impl IntoIterator<Item = T>, want: JwtError) {
        for token in tokens {
            let token = token.as_ref();
            assert_eq!(run(token), Err(want.clone()), "{token:?}");
        }
    }

    #[test]
    fn rfc7515_a1_example() {
        let k = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let sig = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let mut v = verifier();
        v.secrets = vec![URL_SAFE_NO_PAD.decode(k).unwrap()];
        let tag = Algorithm::Hs256.mac(&v.secrets[0], input.as_bytes());
        assert_eq!(URL_SAFE_NO_PAD.encode(tag), sig);
        // The signature verifies; the payload (exp 1300819380) has no subject.
        let token = format!("{input}.{sig}");
        assert_eq!(v.verify(&token, 1_300_819_000), Err(MissingSubject));
        assert_eq!(v.verify(&token, 1_300_819_410), Err(Expired));
        let tampered = format!("{input}.{}", sig.replace('d', "e"));
        assert_eq!(v.verify(&tampered, 1_300_819_000), Err(BadSignature));
    }

    #[test]
    fn round_trip_all_algorithms() {
        for alg in ALL {
            assert_eq!(Algorithm::parse(alg.as_str()), Some(alg));
            let claims = run(&sign(&good(), SECRET, alg)).unwrap();
            assert_eq!((claims.user_id.as_str(), claims.role), ("u1", None));
            assert_eq!((claims.exp, claims.iat), (Some(NOW + 60), Some(NOW)));
            assert_eq!(claims.raw.get("userId"), Some(&json!("u1")));
        }
        assert_eq!(Algorithm::parse("hs256"), None);
        assert_eq!(Algorithm::parse("rs256"), None);
    }

    #[test]
    fn rotation_and_secrets() {
        let token = sign(&good(), b"new-secret", Algorithm::Hs256);
        let mut v = verifier();
        assert_eq!(v.verify(&token, NOW), Err(BadSignature));
        v.secrets.push(b"new-secret".to_vec());
        assert_eq!(v.verify(&token, NOW).unwrap().user_id, "u1");
        assert!(v.verify(&hs(good()), NOW).is_ok());
        // No secret, or only empty ones (which would let anyone sign).
        let forged = sign(&good(), b"", Algorithm::Hs256);
        v.secrets = vec![Vec::new()];
        assert_eq!(v.verify(&forged, NOW), Err(NoSecret));
        v.secrets.clear();
        assert_eq!(v.verify(&hs(good()), NOW), Err(NoSecret));
        v.secrets = vec![Vec::new(), SECRET.to_vec()];
        assert_eq!(v.verify(&forged, NOW), Err(BadSignature));
    }

    #[test]
    fn bad_signatures() {
        let p = parts(&hs(good()));
        let evil = b64(&json!({ "userId": "admin", "exp": NOW + 60 }).to_string());
        let p384 = parts(&sign(&good(), SECRET, Algorithm::Hs384));
        let cases = [
            format!("{}.{evil}.{}", p[0], p[2]),
            format!("{}.{}.", p[0], p[1]),
            format!("{}.{}.{}", p[0], p[1], &p[2][..20]),
            // Checked before the payload is parsed.
            format!("{}.{}.{}", p[0], b64("not json"), p[2]),
            // An HS256 header over an HS384 MAC.
            format!("{}.{}.{}", p[0], p384[1], p384[2]),
        ];
        refuse(cases, BadSignature);
    }

    #[test]
    fn algorithm_rules() {
        let mut v = verifier();
        v.algorithms = vec![Algorithm::Hs256];
        let t512 = sign(&good(), SECRET, Algorithm::Hs512);
        let unsupported = |s: &str| Err(UnsupportedAlgorithm(s.into()));
        assert_eq!(v.verify(&t512, NOW), unsupported("HS512"));
        assert_eq!(
            v.verify(&raw(r#"{"alg":"RS256"}"#, "{}"), NOW),
            unsupported("RS256")
        );
        let long_alg = raw(&format!(r#"{{"alg":"{}"}}"#, "X".repeat(100)), "{}");
        assert_eq!(v.verify(&long_alg, NOW), unsupported(&"X".repeat(32)));
        for alg in ["none", "None", "NONE"] {
            let t = format!("{}.{}.", b64(&format!(r#"{{"alg":"{alg}"}}"#)), b64("{}"));
            assert_eq!(run(&t), Err(AlgNone));
        }
    }

    #[test]
    fn header_rules() {
        let payload = good().to_string();
        let cases = [
            r#"{"typ":"JWT"}"#,
            r#"{"alg":256}"#,
            r#"["alg","HS256"]"#,
            "not json",
            r#"{"alg":"HS256","typ":"JWS"}"#,
            r#"{"alg":"HS256","typ":1}"#,
            r#"{"alg":"HS256","crit":["exp"]}"#,
        ];
        refuse(cases.map(|h| raw(h, &payload)), Malformed);
        assert!(run(&raw(r#"{"alg":"HS256","typ":"jwt"}"#, &payload)).is_ok());
        assert!(run(&raw(HS256, &payload)).is_ok());
    }

    #[test]
    fn segment_count_and_encoding() {
        let token = hs(good());
        let p = parts(&token);
        let std_alphabet = p[2].replace(['-', '_'], "+") + "/";
        let mut cases = vec![
            format!("{}.{}", p[0], p[1]),
            format!("{token}.{}", p[2]),
            format!("{}=.{}.{}", p[0], p[1], p[2]),
            format!("{token}="),
            format!("{}.{}.{std_alphabet}", p[0], p[1]),
            format!(" {token}"),
        ];
        cases.extend(["", ".", "..", "abc", "..."].map(String::from));
        refuse(cases, Malformed);
    }

    #[test]
    fn too_long_checked_first() {
        let mut v = verifier();
        assert_eq!(v.verify(&"a".repeat(8193), NOW), Err(TooLong));
        let token = hs(good());
        v.max_token_len = token.len();
        assert!(v.verify(&token, NOW).is_ok());
        v.max_token_len = token.len() - 1;
        v.secrets.clear();
        assert_eq!(v.verify(&token, NOW), Err(TooLong));
    }

    #[test]
    fn payload_and_claim_types() {
        let payloads = [
            "[]",
            "\"x\"",
            "1",
            "null",
            "{",
            "",
            r#"{"userId":"u","exp":"1800000000"}"#,
            r#"{"userId":"u","exp":-1}"#,
            r#"{"userId":"u","exp":-0.5}"#,
            r#"{"userId":"u","exp":null}"#,
            r#"{"userId":"u","exp":1800000000,"iat":true}"#,
            r#"{"userId":"u","exp":1800000000,"nbf":[1]}"#,
            r#"{"userId":"u","exp":1800000000,"role":7}"#,
        ];
        refuse(payloads.map(|p| raw(HS256, p)), Malformed);
        // Floats are truncated; huge floats saturate.
        let c = run(&hs(json!({"userId":"u","exp":1.8e9,"iat":1_699_999_999.9}))).unwrap();
        assert_eq!((c.exp, c.iat), (Some(1_800_000_000), Some(1_699_999_999)));
        let c = run(&hs(json!({"userId":"u","exp":1e300}))).unwrap();
        assert_eq!(c.exp, Some(u64::MAX));
    }

    #[test]
    fn time_claim_edges() {
        let mut v = verifier(); // leeway 30
        let t = hs(json!({"userId":"u","exp":NOW}));
        assert!(v.verify(&t, NOW + 29).is_ok());
        assert_eq!(v.verify(&t, NOW + 30), Err(Expired));
        v.leeway_secs = 0;
        assert_eq!(v.verify(&t, NOW), Err(Expired));
        assert!(v.verify(&t, NOW - 1).is_ok());
        let exp = NOW + 1000;
        assert!(run(&hs(json!({"userId":"u","exp":exp,"nbf":NOW + 30}))).is_ok());
        assert!(run(&hs(json!({"userId":"u","exp":exp,"iat":NOW + 30}))).is_ok());
        refuse(
            [hs(json!({"userId":"u","exp":exp,"nbf":NOW + 31}))],
            NotYetValid,
        );
        refuse(
            [hs(json!({"userId":"u","exp":exp,"iat":NOW + 31}))],
            IssuedInFuture,
        );
        refuse([hs(json!({"userId":"u"}))], MissingExpiry);
        v.require_exp = false;
        assert_eq!(v.verify(&hs(json!({"userId":"u"})), NOW).unwrap().exp, None);
        // exp + leeway and now + leeway saturate instead of overflowing.
        v.leeway_secs = 30;
        let t = hs(json!({"userId":"u","exp":u64::MAX,"iat":u64::MAX,"nbf":u64::MAX}));
        assert!(v.verify(&t, u64::MAX - 1).is_ok());
    }

    #[test]
    fn subject_forms() {
        let exp = NOW + 60;
        let user = |claims: Value| run(&hs(claims)).map(|c| c.user_id);
        assert_eq!(user(json!({"userId":42,"exp":exp})).as_deref(), Ok("42"));
        assert_eq!(user(json!({"userId":-7,"exp":exp})).as_deref(), Ok("-7"));
        assert_eq!(user(json!({"sub":"s1","exp":exp})).as_deref(), Ok("s1"));
        assert_eq!(user(json!({"sub":9,"exp":exp})).as_deref(), Ok("9"));
        assert_eq!(
            user(json!({"userId":"a","sub":"b","exp":exp})).as_deref(),
            Ok("a")
        );
        let c = run(&hs(json!({"userId":"a","role":"admin","exp":exp}))).unwrap();
        assert_eq!(c.role.as_deref(), Some("admin"));
        let bad = [
            json!({"exp":exp}),
            json!({"userId":"","exp":exp}),
            json!({"userId":1.5,"exp":exp}),
            json!({"userId":null,"sub":"b","exp":exp}),
            json!({"userId":true,"exp":exp}),
            json!({"sub":{"id":1},"exp":exp}),
            json!({"sub":["x"],"exp":exp}),
        ];
        refuse(bad.map(hs), MissingSubject);
    }

    #[test]
    fn issuer_and_audience() {
        let mut v = verifier();
        v.issuers = vec!["https://id.example".into()];
        v.audiences = vec!["chat".into(), "api".into()];
        let exp = NOW + 60;
        let ok = |c: Value| v.verify(&hs(c), NOW);
        assert!(ok(json!({"sub":"u","exp":exp,"iss":"https://id.example","aud":"chat"})).is_ok());
        assert!(
            ok(json!({"sub":"u","exp":exp,"iss":"https://id.example","aud":["x","api"]})).is_ok()
        );
        let bad_iss = [
            json!({"sub":"u","exp":exp,"aud":"chat"}),
            json!({"sub":"u","exp":exp,"iss":"https://evil.example","aud":"chat"}),
            json!({"sub":"u","exp":exp,"iss":["https://id.example"],"aud":"chat"}),
        ];
        for c in bad_iss {
            assert_eq!(ok(c), Err(BadIssuer));
        }
        let bad_aud = [
            json!({"sub":"u","exp":exp,"iss":"https://id.example"}),
            json!({"sub":"u","exp":exp,"iss":"https://id.example","aud":"other"}),
            json!({"sub":"u","exp":exp,"iss":"https://id.example","aud":[]}),
            json!({"sub":"u","exp":exp,"iss":"https://id.example","aud":[1, "CHAT"]}),
        ];
        for c in bad_aud {
            assert_eq!(ok(c), Err(BadAudience));
        }
        // Without the settings, any issuer and audience pass.
        assert!(run(&hs(json!({"sub":"u","exp":exp,"iss":7,"aud":{}}))).is_ok());
    }

    #[test]
    fn public_key_tokens_need_a_fitting_key() {
        use crate::jwk::Jwk;
        use ring::signature::{Ed25519KeyPair, KeyPair};
        let doc = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
        let kp = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        let x = URL_SAFE_NO_PAD.encode(kp.public_key().as_ref());
        let jwk = json!({"kty":"OKP","crv":"Ed25519","kid":"k1","x":x});
        let keys = KeySet::from_keys(vec![Jwk::parse(jwk.as_object().unwrap()).unwrap()]);
        let v = Verifier {
            algorithms: vec![Algorithm::EdDsa],
            ..Verifier::default()
        };
        let token = |kid: Value| {
            let mut h = json!({"alg":"EdDSA","typ":"JWT"});
            if !kid.is_null() {
                h["kid"] = kid;
            }
            sign_with(&h, &good(), |m| kp.sign(m).as_ref().to_vec())
        };
        let c = v.verify_with(&token(json!("k1")), NOW, &keys).unwrap();
        assert_eq!(c.user_id, "u1");
        // No kid: every key of the algorithm is tried.
        assert!(v.verify_with(&token(Value::Null), NOW, &keys).is_ok());
        let unknown = v.verify_with(&token(json!("k2")), NOW, &keys);
        assert_eq!(unknown, Err(UnknownKey(Some("k2".into()))));
        assert_eq!(v.verify(&token(Value::Null), NOW), Err(UnknownKey(None)));
        assert_eq!(v.verify_with(&token(json!(3)), NOW, &keys), Err(Malformed));
        let long = v.verify_with(&token(json!("k".repeat(100))), NOW, &keys);
        assert_eq!(long, Err(UnknownKey(Some("k".repeat(32)))));
        // A forged signature, and an HS token when only EdDSA is accepted.
        let t = token(json!("k1"));
        let forged = format!("{}AAAA", &t[..t.len() - 4]);
        assert_eq!(v.verify_with(&forged, NOW, &keys), Err(BadSignature));
        assert_eq!(
            v.verify_with(&hs(good()), NOW, &keys),
            Err(UnsupportedAlgorithm("HS256".into()))
        );
        // HS beside EdDSA with no secret: HS tokens say so.
        let mut both = v.clone();
        both.algorithms.push(Algorithm::Hs256);
        assert_eq!(both.verify_with(&hs(good()), NOW, &keys), Err(NoSecret));
        assert!(both.verify_with(&t, NOW, &keys).is_ok());
    }

    #[test]
    fn every_algorithm_name_round_trips() {
        for name in Algorithm::NAMES {
            let a = Algorithm::parse(name).unwrap();
            assert_eq!(a.as_str(), *name);
            assert_eq!(a.is_hmac(), name.starts_with("HS"));
        }
        assert_eq!(Algorithm::parse("eddsa"), None);
        assert_eq!(Algorithm::parse("ES512"), None);
    }

    #[test]
    fn errors_display_and_codes() {
        let codes = [
            (TooLong, "TOKEN_TOO_LONG"),
            (Malformed, "INVALID_TOKEN"),
            (AlgNone, "INVALID_TOKEN"),
            (UnsupportedAlgorithm("x".into()), "INVALID_TOKEN"),
            (BadSignature, "INVALID_TOKEN"),
            (Expired, "TOKEN_EXPIRED"),
            (NotYetValid, "TOKEN_NOT_YET_VALID"),
            (IssuedInFuture, "TOKEN_ISSUED_IN_FUTURE"),
            (MissingExpiry, "TOKEN_MISSING_EXPIRY"),
            (MissingSubject, "INVALID_TOKEN"),
            (NoSecret, "AUTH_NOT_CONFIGURED"),
            (UnknownKey(Some("k".into())), "TOKEN_UNKNOWN_KEY"),
            (UnknownKey(None), "TOKEN_UNKNOWN_KEY"),
            (BadIssuer, "TOKEN_BAD_ISSUER"),
            (BadAudience, "TOKEN_BAD_AUDIENCE"),
        ];
        for (e, code) in codes {
            let s = e.to_string();
            assert!(
                !s.is_empty() && !s.ends_with('.') && s == s.to_lowercase(),
                "{s}"
            );
            assert_eq!(e.code(), code);
        }
        let dbg = format!("{:?}", verifier());
        assert!(
            !dbg.contains("test-secret") && dbg.contains("redacted"),
            "{dbg}"
        );
    }
}
