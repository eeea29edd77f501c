//! `[content]`: the CMS bridge's settings (`POST /api/webhooks/strapi` and
//! `POST /api/webhooks/content`, see [`crate::content`]): which fields never
//! leave the server, whether drafts are dropped, the event names and how
//! relations are sent.
//!
//! Owns the shape and its checks only; must not touch sockets or state.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[content]`: how CMS entries become content-type events (run-time
/// changeable).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ContentSection {
    /// Namespace the content-type events are emitted on. Default `/`.
    pub namespace: String,
    /// Field names removed from entries at any depth (in nested
    /// components, relations and arrays too) before they are sent. Default
    /// `["password", "resetPasswordToken", "confirmationToken"]`.
    pub exclude_fields: Vec<String>,
    /// Drop entries without `publishedAt` (drafts). A publish then reads as
    /// `create` and an unpublish as `delete`, since clients only ever see
    /// published entries. Default false (publish and unpublish are
    /// `update`s).
    pub only_published: bool,
    /// Name the events `{model}:created`, `:updated`, `:deleted` instead of
    /// `:create`, `:update`, `:delete`. Default false.
    pub custom_event_names: bool,
    /// Send related entries as they come; when false, a nested entry (an
    /// object with an `id` or `documentId`, not a dynamic-zone component
    /// marked by `__component`) is reduced to its id, and a list of them to
    /// a list of ids. Default true.
    pub include_relations: bool,
    /// Accept webhooks without a request signature even when
    /// `api.require_signature` is on (a CMS sends fixed headers and cannot
    /// sign); the API key is still required. Default false.
    pub allow_unsigned_webhooks: bool,
}

impl Default for ContentSection {
    fn default() -> Self {
        ContentSection {
            namespace: "/".into(),
            exclude_fields: vec![
                "password".into(),
                "resetPasswordToken".into(),
                "confirmationToken".into(),
            ],
            only_published: false,
            custom_event_names: false,
            include_relations: true,
            allow_unsigned_webhooks: false,
        }
    }
}

impl ContentSection {
    /// Checks the namespace (`/` or one of `namespaces`) and the field
    /// names.
    pub(super) fn check<'a>(
        &self,
        mut namespaces: impl Iterator<Item = &'a String>,
    ) -> Result<(), ConfigError> {
        if self.namespace != "/" && !namespaces.any(|n| *n == self.namespace) {
            return Err(ConfigError::Invalid(format!(
                "content.namespace `{}` must be `/` or a configured namespace",
                self.namespace
            )));
        }
        if self.exclude_fields.len() > 1000
            || self
                .exclude_fields
                .iter()
                .any(|f| f.is_empty() || f.len() > 256)
        {
            return Err(ConfigError::Invalid(
                "content.exclude_fields: at most 1000 names of 1 to 256 bytes".into(),
            ));
        }
        Ok(())
    }
}
