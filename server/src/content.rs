//! The CMS bridge's pure part: a webhook body (Strapi v4 or v5, or the
//! generic `{model, action, entry}`) becomes a content-type event
//! `{model}:{create|update|delete}` (`created|updated|deleted` with
//! `content.custom_event_names`) with the payload `{id, attributes, meta}`
//! (`{id}` for a delete), after the `[content]` filter: excluded fields
//! removed at any depth, drafts dropped with `only_published`, relations
//! reduced to ids without `include_relations`.
//!
//! Pure and total on input: never panics, returns [`ContentError`] for a
//! body it cannot use. Who receives the event (role permissions) and the
//! emit itself are the API's (`api::webhooks`).

use std::collections::HashSet;
use std::fmt;

use serde_json::{json, Map, Value};

use crate::config::ContentSection;

/// Longest model name, in bytes.
pub const MAX_MODEL_LEN: usize = 128;

/// What a client sees happen to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// A new entry.
    Create,
    /// A changed entry.
    Update,
    /// A removed entry.
    Delete,
}

impl Action {
    /// `create`, `update` or `delete`: the name role permissions use.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }

    /// The event suffix: [`as_str`](Self::as_str), or `created`, `updated`,
    /// `deleted` with custom names.
    pub fn event_suffix(self, custom: bool) -> &'static str {
        match (self, custom) {
            (a, false) => a.as_str(),
            (Action::Create, true) => "created",
            (Action::Update, true) => "updated",
            (Action::Delete, true) => "deleted",
        }
    }
}

/// What the CMS says happened, before the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// `entry.create` / `create`.
    Create,
    /// `entry.update` / `update`.
    Update,
    /// `entry.delete` / `delete`.
    Delete,
    /// `entry.publish` / `publish`.
    Publish,
    /// `entry.unpublish` / `unpublish`.
    Unpublish,
}

impl Change {
    /// The change named `s` (`create`, `update`, `delete`, `publish`,
    /// `unpublish`).
    pub fn parse(s: &str) -> Option<Change> {
        Some(match s {
            "create" => Change::Create,
            "update" => Change::Update,
            "delete" => Change::Delete,
            "publish" => Change::Publish,
            "unpublish" => Change::Unpublish,
            _ => return None,
        })
    }

    /// The action clients see: publish and unpublish are updates, or with
    /// `only_published` a creation and a removal (clients see published
    /// entries only).
    pub fn action(self, only_published: bool) -> Action {
        match (self, only_published) {
            (Change::Create, _) => Action::Create,
            (Change::Update, _) => Action::Update,
            (Change::Delete, _) => Action::Delete,
            (Change::Publish, true) => Action::Create,
            (Change::Unpublish, true) => Action::Delete,
            (Change::Publish | Change::Unpublish, false) => Action::Update,
        }
    }
}

/// One entry change a webhook reports.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryChange {
    /// The content type's name (`article`), which role permissions and
    /// the event name use.
    pub model: String,
    /// Strapi's `uid` (`api::article.article`), when sent.
    pub uid: Option<String>,
    /// What happened.
    pub change: Change,
    /// The entry, as sent.
    pub entry: Map<String, Value>,
}

/// A webhook body that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentError {
    /// A field is missing or has the wrong type; the message says which.
    Field(&'static str),
    /// The generic body's `action` is not one of the known changes.
    UnknownAction(String),
}

impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentError::Field(m) => f.write_str(m),
            ContentError::UnknownAction(a) => write!(
                f,
                "`action` `{a}` must be create, update, delete, publish or unpublish"
            ),
        }
    }
}

impl std::error::Error for ContentError {}

/// What a Strapi webhook asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Webhook {
    /// An entry change.
    Entry(EntryChange),
    /// An event the bridge does not turn into content events (`media.*`,
    /// `entry.draft-discard`, `review-workflows.*`...): answered 200 so
    /// the CMS does not retry, nothing is emitted.
    Ignored(String),
}

/// Reads a Strapi v4 or v5 webhook body: `{event, model, uid, entry}`.
pub fn strapi(body: &Value) -> Result<Webhook, ContentError> {
    let event = body
        .get("event")
        .and_then(Value::as_str)
        .ok_or(ContentError::Field("`event` must be a string"))?;
    let change = match event.strip_prefix("entry.").and_then(Change::parse) {
        Some(c) => c,
        None => return Ok(Webhook::Ignored(event.to_owned())),
    };
    entry_change(body, change).map(Webhook::Entry)
}

/// Reads the generic body `{model, action, entry}` (`uid` optional).
pub fn generic(body: &Value) -> Result<EntryChange, ContentError> {
    let action = body
        .get("action")
        .and_then(Value::as_str)
        .ok_or(ContentError::Field("`action` must be a string"))?;
    let change = Change::parse(action).ok_or_else(|| ContentError::UnknownAction(action.into()))?;
    entry_change(body, change)
}

fn entry_change(body: &Value, change: Change) -> Result<EntryChange, ContentError> {
    let model = model_name(body.get("model"))?;
    let uid = match body.get("uid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 256 => Some(s.clone()),
        Some(_) => return Err(ContentError::Field("`uid` must be a string")),
    };
    let entry = match body.get("entry") {
        Some(Value::Object(m)) => m.clone(),
        _ => return Err(ContentError::Field("`entry` must be an object")),
    };
    match entry.get("id") {
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => {}
        _ => {
            return Err(ContentError::Field(
                "`entry.id` must be a non-empty string or an integer",
            ))
        }
    }
    Ok(EntryChange {
        model,
        uid,
        change,
        entry,
    })
}

/// The model's name: a plain name (`article`), or the last part of a uid
/// (`api::article.article`).
fn model_name(v: Option<&Value>) -> Result<String, ContentError> {
    const BAD: ContentError = ContentError::Field(
        "`model` must be a content type name (1 to 128 bytes, letters, digits, `-`, `_`, `.`)",
    );
    let s = v.and_then(Value::as_str).ok_or(BAD)?;
    let name = match s.split_once("::") {
        Some((_, rest)) => rest.rsplit('.').next().unwrap_or(rest),
        None => s,
    };
    let ok = !name.is_empty()
        && name.len() <= MAX_MODEL_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(BAD)
    }
}

/// A content-type event ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// `{model}:{action}`.
    pub event: String,
    /// The action, for role permissions.
    pub action: Action,
    /// `{id, attributes, meta}`, or `{id}` for a delete.
    pub payload: Value,
}

/// What the filter makes of a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Send this.
    Emit(Outgoing),
    /// Dropped: a draft under `only_published`.
    Unpublished,
}

/// Runs a change through the `[content]` filter.
pub fn prepare(c: EntryChange, cfg: &ContentSection) -> Outcome {
    let published = c.entry.get("publishedAt").is_some_and(|v| !v.is_null());
    if cfg.only_published && !published && c.change != Change::Unpublish {
        return Outcome::Unpublished;
    }
    let action = c.change.action(cfg.only_published);
    let event = format!(
        "{}:{}",
        c.model,
        action.event_suffix(cfg.custom_event_names)
    );
    let mut entry = c.entry;
    let id = entry.remove("id").unwrap_or(Value::Null);
    let payload = if action == Action::Delete {
        let mut p = json!({ "id": id });
        if let Some(d) = entry.get("documentId") {
            p["documentId"] = d.clone();
        }
        p
    } else {
        let excluded: HashSet<&str> = cfg.exclude_fields.iter().map(String::as_str).collect();
        let mut attributes = Value::Object(entry);
        strip(&mut attributes, &excluded);
        if !cfg.include_relations {
            if let Value::Object(m) = &mut attributes {
                m.values_mut().for_each(reduce_relations);
            }
        }
        let mut meta = json!({ "model": c.model, "action": action.as_str() });
        if let Some(uid) = c.uid {
            meta["uid"] = uid.into();
        }
        json!({ "id": id, "attributes": attributes, "meta": meta })
    };
    Outcome::Emit(Outgoing {
        event,
        action,
        payload,
    })
}

/// Removes the keys named in `fields` from every object in `v`, at any
/// depth (the depth is bounded by the JSON parser's).
pub fn strip(v: &mut Value, fields: &HashSet<&str>) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !fields.contains(k.as_str()));
            m.values_mut().for_each(|x| strip(x, fields));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| strip(x, fields)),
        _ => {}
    }
}

/// The id of a related entry: an object with `id` (or, without one,
/// `documentId`) that is not a dynamic-zone component.
fn relation_id(m: &Map<String, Value>) -> Option<&Value> {
    if m.contains_key("__component") {
        return None;
    }
    m.get("id").or_else(|| m.get("documentId"))
}

/// Replaces related entries in a field's value by their ids: a related
/// entry by its id, a list of them by the list of ids; other objects
/// (components) are searched for relations inside.
pub fn reduce_relations(v: &mut Value) {
    match v {
        Value::Object(m) => match relation_id(m) {
            Some(id) => *v = id.clone(),
            None => m.values_mut().for_each(reduce_relations),
        },
        Value::Array(a) => a.iter_mut().for_each(reduce_relations),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ContentSection {
        ContentSection::default()
    }

    fn emitted(o: Outcome) -> Outgoing {
        match o {
            Outcome::Emit(e) => e,
            o => panic!("not emitted: {o:?}"),
        }
    }

    #[test]
    fn strapi_v4_and_v5_bodies() {
        let v4 = json!({"event": "entry.create", "createdAt": "2024-01-01T00:00:00.000Z",
            "model": "article", "uid": "api::article.article",
            "entry": {"id": 7, "title": "Hi", "publishedAt": null}});
        let Webhook::Entry(c) = strapi(&v4).unwrap() else {
            panic!()
        };
        assert_eq!(c.model, "article");
        assert_eq!(c.change, Change::Create);
        let o = emitted(prepare(c, &cfg()));
        assert_eq!(o.event, "article:create");
        assert_eq!(o.payload["id"], 7);
        assert_eq!(o.payload["attributes"]["title"], "Hi");
        assert!(o.payload["attributes"].get("id").is_none());
        assert_eq!(o.payload["meta"]["uid"], "api::article.article");
        let v5 = json!({"event": "entry.delete", "model": "article", "uid": "api::article.article",
            "entry": {"id": 3, "documentId": "abc123", "title": "x"}});
        let Webhook::Entry(c) = strapi(&v5).unwrap() else {
            panic!()
        };
        let o = emitted(prepare(c, &cfg()));
        assert_eq!(o.event, "article:delete");
        assert_eq!(o.payload, json!({"id": 3, "documentId": "abc123"}));
        assert_eq!(
            strapi(&json!({"event": "media.create", "media": {}})).unwrap(),
            Webhook::Ignored("media.create".into())
        );
        assert_eq!(
            strapi(&json!({"event": "entry.draft-discard", "model": "a", "entry": {}})).unwrap(),
            Webhook::Ignored("entry.draft-discard".into())
        );
    }

    #[test]
    fn bad_bodies_say_why() {
        for (b, want) in [
            (json!({}), "`event`"),
            (json!({"event": 1}), "`event`"),
            (
                json!({"event": "entry.create", "entry": {"id": 1}}),
                "`model`",
            ),
            (
                json!({"event": "entry.create", "model": "a b", "entry": {"id": 1}}),
                "`model`",
            ),
            (
                json!({"event": "entry.create", "model": "", "entry": {"id": 1}}),
                "`model`",
            ),
            (json!({"event": "entry.create", "model": "a"}), "`entry`"),
            (
                json!({"event": "entry.create", "model": "a", "entry": []}),
                "`entry`",
            ),
            (
                json!({"event": "entry.create", "model": "a", "entry": {}}),
                "`entry.id`",
            ),
            (
                json!({"event": "entry.create", "model": "a", "entry": {"id": 1.5}}),
                "`entry.id`",
            ),
            (
                json!({"event": "entry.create", "model": "a", "uid": 3, "entry": {"id": 1}}),
                "`uid`",
            ),
        ] {
            let e = strapi(&b).unwrap_err().to_string();
            assert!(e.contains(want), "{b}: {e}");
        }
        let e = generic(&json!({"model": "a", "action": "explode", "entry": {"id": 1}}));
        assert_eq!(e, Err(ContentError::UnknownAction("explode".into())));
        assert!(generic(&json!({"model": "a", "entry": {"id": 1}})).is_err());
        let c = generic(
            &json!({"model": "api::blog-post.blog-post", "action": "update", "entry": {"id": "x"}}),
        )
        .unwrap();
        assert_eq!(c.model, "blog-post");
    }

    #[test]
    fn excluded_fields_go_at_any_depth() {
        let body = json!({"model": "user", "action": "create", "entry": {
            "id": 1, "username": "a", "password": "h",
            "profile": {"password": "p", "bio": "b", "deep": [{"resetPasswordToken": "t", "ok": 1}]},
            "list": [[{"confirmationToken": "c"}]]
        }});
        let o = emitted(prepare(generic(&body).unwrap(), &cfg()));
        let s = o.payload.to_string();
        for f in ["password", "resetPasswordToken", "confirmationToken"] {
            assert!(!s.contains(f), "{s}");
        }
        assert_eq!(o.payload["attributes"]["profile"]["bio"], "b");
        assert_eq!(o.payload["attributes"]["profile"]["deep"][0]["ok"], 1);
    }

    #[test]
    fn only_published_drops_drafts_and_maps_publishing() {
        let c = ContentSection {
            only_published: true,
            ..cfg()
        };
        let draft = |a: &str, p: Value| {
            generic(&json!({"model": "article", "action": a, "entry": {"id": 1, "publishedAt": p}}))
                .unwrap()
        };
        assert_eq!(
            prepare(draft("create", Value::Null), &c),
            Outcome::Unpublished
        );
        assert_eq!(
            prepare(
                generic(&json!({"model": "article", "action": "update", "entry": {"id": 1}}))
                    .unwrap(),
                &c
            ),
            Outcome::Unpublished
        );
        let at = json!("2024-01-01T00:00:00.000Z");
        assert_eq!(
            emitted(prepare(draft("update", at.clone()), &c)).event,
            "article:update"
        );
        assert_eq!(
            emitted(prepare(draft("publish", at.clone()), &c)).event,
            "article:create"
        );
        assert_eq!(
            emitted(prepare(draft("unpublish", Value::Null), &c)).event,
            "article:delete"
        );
        // Without only_published, both are updates and drafts go out.
        assert_eq!(
            emitted(prepare(draft("publish", at), &cfg())).event,
            "article:update"
        );
        assert_eq!(
            emitted(prepare(draft("unpublish", Value::Null), &cfg())).event,
            "article:update"
        );
        assert_eq!(
            emitted(prepare(draft("create", Value::Null), &cfg())).event,
            "article:create"
        );
    }

    #[test]
    fn custom_event_names() {
        let c = ContentSection {
            custom_event_names: true,
            ..cfg()
        };
        for (a, e) in [
            ("create", "created"),
            ("update", "updated"),
            ("delete", "deleted"),
        ] {
            let ch =
                generic(&json!({"model": "article", "action": a, "entry": {"id": 1}})).unwrap();
            assert_eq!(emitted(prepare(ch, &c)).event, format!("article:{e}"));
        }
    }

    #[test]
    fn relations_are_kept_or_reduced_to_ids() {
        let body = json!({"model": "article", "action": "update", "entry": {
            "id": 1, "title": "t",
            "author": {"id": 5, "name": "Ann"},
            "tags": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
            "category": {"documentId": "cat1", "name": "c"},
            "seo": {"metaTitle": "m", "image": {"id": 9, "url": "/x.png"}},
            "blocks": [{"__component": "shared.quote", "id": 3, "body": "q", "by": {"id": 6}}],
            "empty": null
        }});
        let kept = emitted(prepare(generic(&body).unwrap(), &cfg()));
        assert_eq!(kept.payload["attributes"]["author"]["name"], "Ann");
        let c = ContentSection {
            include_relations: false,
            ..cfg()
        };
        let a = emitted(prepare(generic(&body).unwrap(), &c)).payload["attributes"].clone();
        assert_eq!(a["author"], 5);
        assert_eq!(a["tags"], json!([1, 2]));
        assert_eq!(a["category"], "cat1");
        assert_eq!(a["seo"], json!({"metaTitle": "m", "image": 9}));
        assert_eq!(
            a["blocks"],
            json!([{"__component": "shared.quote", "id": 3, "body": "q", "by": 6}])
        );
        assert_eq!(a["title"], "t");
        assert!(a["empty"].is_null());
    }
}
