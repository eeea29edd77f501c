//! Settings of the hardening pass: which surfaces the IP lists guard
//! (`security.ip_lists_apply_to`) and which request signatures
//! `api.require_signature` demands.
//!
//! Owns the shapes only; enforcing them is the HTTP front's and the API's.

use serde::{Deserialize, Serialize};

/// `[security.ip_lists_apply_to]`: where `security.ip_allow` and `ip_deny`
/// are enforced.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct IpListSurfaces {
    /// The engine path (Socket.IO clients). Default true.
    pub engine: bool,
    /// `/api/*` (and any other path the API answers 404). Default true.
    pub api: bool,
    /// `/metrics`. Default true.
    pub metrics: bool,
    /// `/health` and `/ready`, which load balancers probe from addresses
    /// often outside the lists. Default false.
    pub health: bool,
}

impl Default for IpListSurfaces {
    fn default() -> Self {
        IpListSurfaces {
            engine: true,
            api: true,
            metrics: true,
            health: false,
        }
    }
}

/// `api.require_signature`: `false` (a signature is checked when sent),
/// `true` or `"v1"` (every request signed, `v1` or `v2`), or `"v2"` (every
/// request signed with `v2`, which also covers the query and the body).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BoolOrString", into = "BoolOrString")]
#[non_exhaustive]
pub enum RequireSignature {
    /// Not required.
    #[default]
    No,
    /// Required, any version.
    Any,
    /// Required, version `v2`.
    V2,
}

impl RequireSignature {
    /// Whether every request must be signed.
    pub fn required(self) -> bool {
        self != RequireSignature::No
    }
}

/// A bool or a string, as `api.require_signature` takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BoolOrString {
    /// `true` / `false`.
    Bool(bool),
    /// `"v1"` / `"v2"`.
    Str(String),
}

impl TryFrom<BoolOrString> for RequireSignature {
    type Error = String;
    fn try_from(v: BoolOrString) -> Result<Self, String> {
        match v {
            BoolOrString::Bool(false) => Ok(RequireSignature::No),
            BoolOrString::Bool(true) => Ok(RequireSignature::Any),
            BoolOrString::Str(s) if s == "v1" => Ok(RequireSignature::Any),
            BoolOrString::Str(s) if s == "v2" => Ok(RequireSignature::V2),
            BoolOrString::Str(s) => Err(format!(
                "api.require_signature `{s}` must be true, false, \"v1\" or \"v2\""
            )),
        }
    }
}

impl From<RequireSignature> for BoolOrString {
    fn from(r: RequireSignature) -> BoolOrString {
        match r {
            RequireSignature::No => BoolOrString::Bool(false),
            RequireSignature::Any => BoolOrString::Bool(true),
            RequireSignature::V2 => BoolOrString::Str("v2".into()),
        }
    }
}
