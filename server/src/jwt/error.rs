//! [`JwtError`]: why a token was refused, with its stable code.
//!
//! Owns the refusal's variants, codes and messages; decides nothing about
//! which token is refused (that is [`super::Verifier`]'s).

use std::fmt;

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is longer than [`Verifier::max_token_len`](super::Verifier::max_token_len).
    TooLong,
    /// The token is not a well-formed compact JWS / JWT.
    Malformed,
    /// The header names the `none` algorithm (in any letter case).
    AlgNone,
    /// The header names an algorithm that is not accepted; carries the
    /// (possibly truncated) `alg` value.
    UnsupportedAlgorithm(String),
    /// The signature does not verify under any configured secret.
    BadSignature,
    /// The `exp` claim (plus leeway) has passed.
    Expired,
    /// The `nbf` claim is later than now plus leeway.
    NotYetValid,
    /// The `iat` claim is later than now plus leeway.
    IssuedInFuture,
    /// The token has no `exp` claim and one is required.
    MissingExpiry,
    /// Neither `userId` nor `sub` holds a non-empty string or an integer.
    MissingSubject,
    /// No (non-empty) secret is configured, so no token can be verified.
    NoSecret,
    /// A public-key token whose key is not in the set: carries the
    /// (possibly truncated) `kid`, `None` when the header names none.
    UnknownKey(Option<String>),
    /// `iss` is missing or not an accepted issuer.
    BadIssuer,
    /// `aud` is missing or names no accepted audience.
    BadAudience,
}

impl JwtError {
    /// A stable machine-readable code for clients and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLong => "TOKEN_TOO_LONG",
            Self::Malformed
            | Self::AlgNone
            | Self::UnsupportedAlgorithm(_)
            | Self::BadSignature
            | Self::MissingSubject => "INVALID_TOKEN",
            Self::Expired => "TOKEN_EXPIRED",
            Self::NotYetValid => "TOKEN_NOT_YET_VALID",
            Self::IssuedInFuture => "TOKEN_ISSUED_IN_FUTURE",
            Self::MissingExpiry => "TOKEN_MISSING_EXPIRY",
            Self::NoSecret => "AUTH_NOT_CONFIGURED",
            Self::UnknownKey(_) => "TOKEN_UNKNOWN_KEY",
            Self::BadIssuer => "TOKEN_BAD_ISSUER",
            Self::BadAudience => "TOKEN_BAD_AUDIENCE",
        }
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => f.write_str("token too long"),
            Self::Malformed => f.write_str("malformed token"),
            Self::AlgNone => f.write_str("unsigned token (alg none) refused"),
            Self::UnsupportedAlgorithm(alg) => write!(f, "unsupported token algorithm {alg:?}"),
            Self::BadSignature => f.write_str("bad token signature"),
            Self::Expired => f.write_str("token expired"),
            Self::NotYetValid => f.write_str("token not yet valid"),
            Self::IssuedInFuture => f.write_str("token issued in the future"),
            Self::MissingExpiry => f.write_str("token has no expiry"),
            Self::MissingSubject => f.write_str("token has no subject"),
            Self::NoSecret => f.write_str("no token secret configured"),
            Self::UnknownKey(Some(kid)) => write!(f, "unknown token signing key {kid:?}"),
            Self::UnknownKey(None) => f.write_str("no signing key fits the token"),
            Self::BadIssuer => f.write_str("token issuer not accepted"),
            Self::BadAudience => f.write_str("token audience not accepted"),
        }
    }
}

impl std::error::Error for JwtError {}
