//! Public keys for asymmetric token signatures: a JSON Web Key Set
//! (RFC 7517) parsed into [`KeySet`], and signature checks for RS256/384/512
//! (RSASSA-PKCS1-v1_5), ES256/384 (ECDSA, the fixed `r || s` form of
//! RFC 7518 §3.4) and EdDSA (Ed25519, RFC 8037) with `ring`.
//!
//! Owns parsing and verification only; fetching a set is
//! [`crate::jwks`]'s and the token rules are [`crate::jwt`]'s. Reads no
//! clock and does no I/O.
//!
//! Parsing follows RFC 7517 §5: a key this server cannot use (another
//! `kty` or curve, `use` other than `sig`, a `key_ops` without `verify`,
//! an RSA modulus under 2048 bits, bad base64) is skipped, not an error;
//! only a document that is not `{"keys": [...]}` is refused.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

use crate::jwa::Algorithm;

/// Most keys kept from one set; later ones are ignored (a set is bounded
/// in bytes by its fetcher, this bounds the per-token search).
pub const MAX_KEYS: usize = 64;

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3).
const MIN_RSA_BITS: usize = 2048;

/// The key material of one usable JWK.
#[derive(Clone, PartialEq, Eq)]
enum Material {
    /// `kty: RSA`: modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// `kty: EC`: the curve's algorithm and the uncompressed point
    /// `0x04 || x || y`.
    Ec { alg: Algorithm, point: Vec<u8> },
    /// `kty: OKP, crv: Ed25519`: the 32-byte public key.
    Ed25519(Vec<u8>),
}

/// One verification key of a set.
#[derive(Clone, PartialEq, Eq)]
pub struct Jwk {
    /// The key id (`kid`), if the set names one.
    pub kid: Option<String>,
    /// The algorithm the key is pinned to (`alg`), if any.
    pub alg: Option<Algorithm>,
    material: Material,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kty = match self.material {
            Material::Rsa { .. } => "RSA",
            Material::Ec { .. } => "EC",
            Material::Ed25519(_) => "OKP",
        };
        f.debug_struct("Jwk")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("kty", &kty)
            .finish()
    }
}

impl Jwk {
    /// Whether this key can check a signature made with `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        if self.alg.is_some_and(|a| a != alg) {
            return false;
        }
        match &self.material {
            Material::Rsa { .. } => {
                matches!(alg, Algorithm::Rs256 | Algorithm::Rs384 | Algorithm::Rs512)
            }
            Material::Ec { alg: curve, .. } => *curve == alg,
            Material::Ed25519(_) => alg == Algorithm::EdDsa,
        }
    }

    /// Whether `sig` is `alg`'s signature of `msg` under this key (false
    /// when the key does not fit `alg`).
    pub fn verify(&self, alg: Algorithm, msg: &[u8], sig: &[u8]) -> bool {
        if !self.fits(alg) {
            return false;
        }
        match &self.material {
            Material::Rsa { n, e } => {
                let params = match alg {
                    Algorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA512,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, msg, sig)
                    .is_ok()
            }
            Material::Ec { point, .. } => {
                let verifier = match alg {
                    Algorithm::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
                    _ => &signature::ECDSA_P384_SHA384_FIXED,
                };
                UnparsedPublicKey::new(verifier, point)
                    .verify(msg, sig)
                    .is_ok()
            }
            Material::Ed25519(key) => UnparsedPublicKey::new(&signature::ED25519, key)
                .verify(msg, sig)
                .is_ok(),
        }
    }

    /// Parses one JWK object; `None` for a key this server cannot use.
    pub fn parse(key: &Map<String, Value>) -> Option<Jwk> {
        let text = |k: &str| key.get(k).and_then(Value::as_str);
        if key.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
            return None;
        }
        if let Some(ops) = key.get("key_ops") {
            let ops = ops.as_array()?;
            if !ops.iter().any(|o| o.as_str() == Some("verify")) {
                return None;
            }
        }
        let alg = match key.get("alg") {
            None => None,
            Some(Value::String(a)) => Some(Algorithm::parse(a).filter(|a| !a.is_hmac())?),
            Some(_) => return None,
        };
        let kid = match key.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return None,
        };
        let b64 = |k: &str| URL_SAFE_NO_PAD.decode(text(k)?).ok();
        let material = match text("kty")? {
            "RSA" => rsa_material(b64("n")?, b64("e")?)?,
            "EC" => {
                let (alg, len) = match text("crv")? {
                    "P-256" => (Algorithm::Es256, 32),
                    "P-384" => (Algorithm::Es384, 48),
                    _ => return None,
                };
                let (x, y) = (b64("x")?, b64("y")?);
                if x.len() != len || y.len() != len {
                    return None;
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Material::Ec { alg, point }
            }
            "OKP" if text("crv")? == "Ed25519" => {
                let x = b64("x")?;
                (x.len() == 32).then_some(Material::Ed25519(x))?
            }
            _ => return None,
        };
        let jwk = Jwk { kid, alg, material };
        // A pinned `alg` of another key type makes the key unusable.
        jwk.alg.is_none_or(|a| jwk.fits(a)).then_some(jwk)
    }
}

fn rsa_material(n: Vec<u8>, e: Vec<u8>) -> Option<Material> {
    let strip = |v: Vec<u8>| {
        let skip = v.iter().take_while(|b| **b == 0).count();
        v[skip..].to_vec()
    };
    let (n, e) = (strip(n), strip(e));
    let bits = n
        .first()
        .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
    (bits >= MIN_RSA_BITS && !e.is_empty() && e.len() <= 8).then_some(Material::Rsa { n, e })
}

/// Why a key set document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksError {
    /// Not JSON, or not an object with a `keys` array.
    NotAKeySet,
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAKeySet => f.write_str("not a JSON Web Key Set ({\"keys\": [...]})"),
        }
    }
}

impl std::error::Error for JwksError {}

/// The usable keys of a JSON Web Key Set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<Jwk>,
}

impl KeySet {
    /// Parses a JWKS document (see the module documentation for what is
    /// skipped); keeps at most [`MAX_KEYS`] usable keys.
    pub fn parse(doc: &[u8]) -> Result<KeySet, JwksError> {
        let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(doc) else {
            return Err(JwksError::NotAKeySet);
        };
        let Some(Value::Array(keys)) = doc.remove("keys") else {
            return Err(JwksError::NotAKeySet);
        };
        let keys = keys
            .iter()
            .filter_map(|k| Jwk::parse(k.as_object()?))
            .take(MAX_KEYS)
            .collect();
        Ok(KeySet { keys })
    }

    /// A set of the given keys.
    pub fn from_keys(keys: Vec<Jwk>) -> KeySet {
        KeySet { keys }
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether some key has id `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys that may have signed a token with header `kid` and `alg`:
    /// those with that id when the token names one, else every key; only
    /// keys that fit `alg`.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys
            .iter()
            .filter(move |k| kid.is_none_or(|id| k.kid.as_deref() == Some(id)) && k.fits(alg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
    use serde_json::json;

    fn b64(b: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(b)
    }

    fn es256() -> (EcdsaKeyPair, Value) {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng).unwrap();
        let p = kp.public_key().as_ref();
        let jwk = json!({"kty":"EC","crv":"P-256","kid":"e1","x":b64(&p[1..33]),"y":b64(&p[33..])});
        (kp, jwk)
    }

    #[test]
    fn ec_and_ed25519_keys_verify_their_signatures_only() {
        let rng = SystemRandom::new();
        let (kp, jwk) = es256();
        let set = KeySet::parse(json!({ "keys": [jwk] }).to_string().as_bytes()).unwrap();
        assert_eq!(set.len(), 1);
        let sig = kp.sign(&rng, b"msg").unwrap();
        let key = set.candidates(Some("e1"), Algorithm::Es256).next().unwrap();
        assert!(key.verify(Algorithm::Es256, b"msg", sig.as_ref()));
        assert!(!key.verify(Algorithm::Es256, b"msh", sig.as_ref()));
        assert!(!key.verify(Algorithm::Es384, b"msg", sig.as_ref()));
        assert_eq!(set.candidates(Some("e2"), Algorithm::Es256).count(), 0);
        assert_eq!(set.candidates(None, Algorithm::Rs256).count(), 0);

        let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ed = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        let jwk = json!({"kty":"OKP","crv":"Ed25519","x":b64(ed.public_key().as_ref())});
        let key = Jwk::parse(jwk.as_object().unwrap()).unwrap();
        assert!(key.verify(Algorithm::EdDsa, b"m", ed.sign(b"m").as_ref()));
        assert!(!key.verify(Algorithm::EdDsa, b"n", ed.sign(b"m").as_ref()));
    }

    #[test]
    fn unusable_keys_are_skipped_and_bad_documents_refused() {
        let (_, good) = es256();
        let with = |k: &str, v: Value| {
            let mut j = good.clone();
            j[k] = v;
            j
        };
        let skipped = [
            with("use", json!("enc")),
            with("key_ops", json!(["sign"])),
            with("alg", json!("HS256")),
            with("alg", json!("RS256")),
            with("alg", json!(7)),
            with("kid", json!(1)),
            with("crv", json!("P-521")),
            with("x", json!("AAAA")),
            with("y", json!("not base64!")),
            json!({"kty":"oct","k":"c2VjcmV0"}),
            json!({"kty":"RSA","n":b64(&[0xff; 128]),"e":"AQAB"}),
            json!({"kty":"OKP","crv":"X25519","x":b64(&[1; 32])}),
            json!("not an object"),
        ];
        let set = KeySet::parse(json!({ "keys": skipped }).to_string().as_bytes()).unwrap();
        assert!(set.is_empty(), "{set:?}");
        let rsa = json!({"kty":"RSA","n":b64(&[0xff; 256]),"e":"AQAB","kid":"r"});
        let set = KeySet::parse(json!({ "keys": [rsa] }).to_string().as_bytes()).unwrap();
        assert!(set.has_kid("r") && !set.has_kid("s"));
        for bad in ["", "[]", "{}", r#"{"keys":{}}"#, "{\"keys\":[", "\u{0}"] {
            assert_eq!(KeySet::parse(bad.as_bytes()), Err(JwksError::NotAKeySet));
        }
        let many: Vec<Value> = (0..100).map(|_| good.clone()).collect();
        let set = KeySet::parse(json!({ "keys": many }).to_string().as_bytes()).unwrap();
        assert_eq!(set.len(), MAX_KEYS);
    }
}
