//! The `[auth]` section: HS* secrets, the JWKS of an identity provider for
//! RS*/ES*/EdDSA tokens, the issuer and audience checks, token limits and
//! roles. Shape and defaults only (checks are [`super::validate`]'s).

use serde::{Deserialize, Deserializer, Serialize};

use crate::jwt::Algorithm;

/// `[auth]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// Refuse sockets without a valid token on every namespace. Default false
    /// (a token, when sent, must still be valid).
    pub require_authentication: bool,
    /// HS* secrets; the first signs `gen-token` tokens, all verify (key
    /// rotation). Default none.
    pub jwt_secrets: Vec<String>,
    /// Accepted algorithms: `HS256`, `HS384`, `HS512` (secrets), `RS256`,
    /// `RS384`, `RS512`, `ES256`, `ES384`, `EdDSA` (keys of `jwks_url`).
    /// Default `["HS256"]`.
    pub jwt_algorithms: Vec<Algorithm>,
    /// The identity provider's JSON Web Key Set (http or https), for the
    /// RS*/ES*/EdDSA algorithms. Default none.
    pub jwks_url: Option<String>,
    /// Interval of the periodic JWKS refresh, in seconds. Default 300.
    pub jwks_refresh_secs: u64,
    /// Shortest interval between two JWKS fetches caused by tokens naming an
    /// unknown `kid` (and between retries after a failed fetch), in
    /// milliseconds. Default 10000.
    pub jwks_min_refresh_ms: u64,
    /// Deadline of one JWKS fetch, in milliseconds. Default 5000.
    pub jwks_timeout_ms: u64,
    /// Longest JWKS answer read, in bytes. Default 262144 (256 KiB).
    pub jwks_max_bytes: usize,
    /// PEM file of extra trust anchors for an https `jwks_url` (a private
    /// CA), beside Mozilla's roots. Default none.
    pub jwks_ca_file: Option<String>,
    /// Accepted `iss` values (one string or a list); when set, a token must
    /// carry one of them. Default none (any issuer).
    #[serde(deserialize_with = "one_or_many")]
    pub issuer: Vec<String>,
    /// Accepted audiences (one string or a list); when set, the token's
    /// `aud` must name one of them. Default none (any audience).
    #[serde(deserialize_with = "one_or_many")]
    pub audience: Vec<String>,
    /// Clock skew allowed for `exp`, `iat` and `nbf`, in seconds. Default 30.
    pub leeway_secs: u64,
    /// Longest accepted token in bytes. Default 8192.
    pub max_token_len: usize,
    /// Refuse tokens without `exp`. Default true.
    pub require_exp: bool,
    /// Role of sockets without a token. Default `public`.
    pub anonymous_role: String,
    /// Role of tokens without a `role` claim. Default `authenticated`.
    pub default_role: String,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            require_authentication: false,
            jwt_secrets: Vec::new(),
            jwt_algorithms: vec![Algorithm::Hs256],
            jwks_url: None,
            jwks_refresh_secs: 300,
            jwks_min_refresh_ms: 10_000,
            jwks_timeout_ms: 5_000,
            jwks_max_bytes: 256 * 1024,
            jwks_ca_file: None,
            issuer: Vec::new(),
            audience: Vec::new(),
            leeway_secs: 30,
            max_token_len: 8192,
            require_exp: true,
            anonymous_role: "public".into(),
            default_role: "authenticated".into(),
        }
    }
}

impl AuthSection {
    /// Whether some accepted algorithm is a public-key one (RS*/ES*/EdDSA).
    pub fn uses_keys(&self) -> bool {
        self.jwt_algorithms.iter().any(|a| !a.is_hmac())
    }
}

/// A string or a list of strings, as a list.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "a string or a list of strings")]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn refused(toml: &str) -> String {
        Config::from_toml(toml).unwrap_err().to_string()
    }

    #[test]
    fn jwks_keys_are_checked() {
        let base = "[auth]\njwt_algorithms = [\"RS256\", \"EdDSA\"]\n";
        let c = Config::from_toml(&format!(
            "{base}jwks_url = \"https://id.example/.well-known/jwks.json\"\nissuer = \"https://id.example\"\naudience = [\"a\", \"b\"]\n"
        ))
        .unwrap();
        assert_eq!(c.auth.issuer, vec!["https://id.example".to_string()]);
        assert_eq!(c.auth.audience, vec!["a".to_string(), "b".to_string()]);
        assert!(c.auth.uses_keys());
        let cases = [
            (base.to_owned(), "auth.jwks_url is not set"),
            (
                "[auth]\njwks_url = \"http://x.example/k\"\n".to_owned(),
                "names no public-key algorithm",
            ),
            (
                format!("{base}jwks_url = \"ftp://x.example/k\"\n"),
                "must be an http:// or https:// URL",
            ),
            (
                format!("{base}jwks_url = \"/keys\"\n"),
                "must be an http:// or https:// URL",
            ),
            (
                format!("{base}jwks_url = \"not a url\"\n"),
                "must be an http:// or https:// URL",
            ),
            (
                format!("{base}jwks_url = \"http://x/k\"\njwks_timeout_ms = 0\n"),
                "auth.jwks_timeout_ms",
            ),
            (
                format!("{base}jwks_url = \"http://x/k\"\njwks_max_bytes = 1\n"),
                "auth.jwks_max_bytes",
            ),
            (
                format!("{base}jwks_url = \"http://x/k\"\njwks_refresh_secs = 0\n"),
                "auth.jwks_refresh_secs",
            ),
            (
                "[auth]\njwks_ca_file = \"ca.pem\"\n".to_owned(),
                "auth.jwks_ca_file is set",
            ),
            (
                "[auth]\nissuer = \"\"\n".to_owned(),
                "auth.issuer entries must not be empty",
            ),
            (
                "[auth]\naudience = [\"\"]\n".to_owned(),
                "auth.audience entries must not be empty",
            ),
            (
                "[auth]\nissuer = 5\n".to_owned(),
                "a string or a list of strings",
            ),
            (
                "[auth]\njwt_algorithms = [\"PS256\"]\n".to_owned(),
                "unsupported `PS256`",
            ),
            (
                "[auth]\nrequire_authentication = true\n".to_owned(),
                "neither auth.jwt_secrets nor auth.jwks_url",
            ),
        ];
        for (toml, want) in cases {
            let e = refused(&toml);
            assert!(e.contains(want), "{toml:?}: {e}");
        }
        // A JWKS alone is enough to require authentication.
        let c = format!("{base}jwks_url = \"http://x/k\"\nrequire_authentication = true\n");
        assert!(Config::from_toml(&c).is_ok());
    }
}
