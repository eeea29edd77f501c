//! The CMS bridge end to end: Strapi v4 and v5 webhook bodies and the
//! generic `{model, action, entry}` reach real socket.io clients as
//! content-type events, only for the roles allowed to receive them, through
//! the `[content]` filter (excluded fields gone at any depth, drafts
//! dropped, custom names, relations reduced to ids); the key as
//! `X-API-Key` or `Authorization: Bearer`; bad bodies get a clear 400 and
//! the server keeps working.

mod common;

use common::{Client, HttpResponse, InProc, KEY};
use serde_json::{json, Value};

const ROLES: &str = r#"
[roles.public.content_types.article]
create = true
update = true
[roles.editor.content_types.article]
create = true
update = true
delete = true
[roles.editor.content_types.user]
create = true
"#;

async fn post(s: &InProc, path: &str, headers: &[(&str, &str)], body: &Value) -> HttpResponse {
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(headers);
    s.http("POST", path, &h, body.to_string().as_bytes()).await
}

async fn hook(s: &InProc, body: Value) -> Value {
    let r = post(s, "/api/webhooks/strapi", &[("x-api-key", KEY)], &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn clients(s: &InProc) -> (Client, Client) {
    (
        s.connected(None, None).await,
        s.connected(Some("e"), Some("editor")).await,
    )
}

#[tokio::test]
async fn strapi_v4_webhooks_reach_the_allowed_roles() {
    let s = InProc::start(ROLES).await;
    let (mut anon, mut ed) = clients(&s).await;
    let v4 = json!({
        "event": "entry.create", "createdAt": "2024-05-01T10:00:00.000Z",
        "model": "article", "uid": "api::article.article",
        "entry": { "id": 7, "title": "Hello", "publishedAt": "2024-05-01T10:00:00.000Z",
                   "author": { "id": 2, "username": "ann", "password": "$2a$hash" } }
    });
    let b = hook(&s, v4).await;
    assert_eq!(b["emitted"], true, "{b}");
    assert_eq!(b["event"], "article:create");
    assert_eq!(b["recipients"], 2);
    for c in [&mut anon, &mut ed] {
        let a = c.event("article:create").await;
        assert_eq!(a[0]["id"], 7);
        assert_eq!(a[0]["attributes"]["title"], "Hello");
        assert_eq!(a[0]["attributes"]["author"]["username"], "ann");
        assert!(!a[0].to_string().contains("password"), "{}", a[0]);
        assert_eq!(a[0]["meta"]["model"], "article");
        assert_eq!(a[0]["meta"]["uid"], "api::article.article");
    }
    // A delete only reaches the role allowed to receive it, as `{id}`.
    let b = hook(
        &s,
        json!({ "event": "entry.delete", "model": "article", "entry": { "id": 7, "title": "Hello" } }),
    )
    .await;
    assert_eq!(b["recipients"], 1, "{b}");
    assert_eq!(ed.event("article:delete").await, vec![json!({ "id": 7 })]);
    anon.none_before_ping("article:delete").await;
    // A model no role lists reaches nobody; a user entry only the editor.
    let b = hook(
        &s,
        json!({ "event": "entry.create", "model": "page", "entry": { "id": 1 } }),
    )
    .await;
    assert_eq!(b["recipients"], 0, "{b}");
    assert_eq!(b["emitted"], true);
    let b = hook(
        &s,
        json!({ "event": "entry.create", "model": "user", "uid": "plugin::users-permissions.user",
                "entry": { "id": 3, "email": "a@b.c", "password": "x", "resetPasswordToken": "t" } }),
    )
    .await;
    assert_eq!(b["recipients"], 1);
    let u = ed.event("user:create").await;
    assert_eq!(u[0]["attributes"], json!({ "email": "a@b.c" }));
    anon.none_before_ping("page:create").await;
    anon.none_before_ping("user:create").await;
    // Non-entry webhook events are acknowledged, not emitted.
    let b = hook(&s, json!({ "event": "media.create", "media": { "id": 1 } })).await;
    assert_eq!(b["emitted"], false);
    assert!(b["reason"].as_str().unwrap().contains("media.create"));
}

#[tokio::test]
async fn strapi_v5_with_a_bearer_key_and_the_generic_route() {
    let s = InProc::start(ROLES).await;
    let (mut anon, mut ed) = clients(&s).await;
    let bearer = format!("Bearer {KEY}");
    let v5 = json!({
        "event": "entry.update", "model": "article", "uid": "api::article.article",
        "entry": { "id": 12, "documentId": "k2x9", "title": "v5", "locale": "en",
                   "publishedAt": null }
    });
    let r = post(
        &s,
        "/api/webhooks/strapi",
        &[("authorization", &bearer)],
        &v5,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let a = anon.event("article:update").await;
    assert_eq!(a[0]["id"], 12);
    assert_eq!(a[0]["attributes"]["documentId"], "k2x9");
    ed.event("article:update").await;
    let r = post(
        &s,
        "/api/webhooks/strapi",
        &[("authorization", &bearer)],
        &json!({ "event": "entry.delete", "model": "article", "entry": { "id": 12, "documentId": "k2x9" } }),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        ed.event("article:delete").await,
        vec![json!({ "id": 12, "documentId": "k2x9" })]
    );
    // The generic route, with a uid as the model.
    let r = post(
        &s,
        "/api/webhooks/content",
        &[("x-api-key", KEY)],
        &json!({ "model": "api::article.article", "action": "create", "entry": { "id": "a1", "title": "g" } }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["event"], "article:create");
    assert_eq!(anon.event("article:create").await[0]["id"], "a1");
    // A bearer key is not taken by the other routes, nor a wrong one here.
    let r = s
        .http("GET", "/api/status", &[("authorization", &bearer)], b"")
        .await;
    assert_eq!(r.status, 401);
    let r = post(
        &s,
        "/api/webhooks/strapi",
        &[("authorization", "Bearer wrong-key-0123456789")],
        &v5,
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["code"], "INVALID_API_KEY");
    let r = post(&s, "/api/webhooks/content", &[], &v5).await;
    assert_eq!(r.status, 401);
    assert!(r.json()["error"].as_str().unwrap().contains("Bearer"));
}

#[tokio::test]
async fn the_content_filter() {
    let s = InProc::start(&format!(
        "{ROLES}\n[content]\nonly_published = true\ncustom_event_names = true\ninclude_relations = false\nexclude_fields = [\"secret\", \"password\"]\n"
    ))
    .await;
    let (mut anon, mut ed) = clients(&s).await;
    let published = "2024-05-01T10:00:00.000Z";
    // A draft is dropped.
    let b = hook(
        &s,
        json!({ "event": "entry.create", "model": "article", "entry": { "id": 1, "publishedAt": null } }),
    )
    .await;
    assert_eq!(b["emitted"], false, "{b}");
    assert!(b["reason"].as_str().unwrap().contains("only_published"));
    // Publishing reads as a creation, with custom names, relations as ids
    // and excluded fields gone at any depth.
    hook(
        &s,
        json!({ "event": "entry.publish", "model": "article", "entry": {
            "id": 1, "title": "t", "publishedAt": published, "secret": "s",
            "author": { "id": 4, "name": "A", "password": "p" },
            "tags": [{ "id": 1 }, { "id": 2, "secret": "s" }],
            "seo": { "meta": { "secret": "s", "keep": true }, "cover": { "id": 9, "url": "/c.png" } }
        } }),
    )
    .await;
    let a = anon.event("article:created").await;
    let attrs = &a[0]["attributes"];
    assert_eq!(attrs["author"], 4, "{attrs}");
    assert_eq!(attrs["tags"], json!([1, 2]));
    assert_eq!(
        attrs["seo"],
        json!({ "meta": { "keep": true }, "cover": 9 })
    );
    assert!(!a[0].to_string().contains("secret"), "{}", a[0]);
    ed.event("article:created").await;
    // Unpublishing removes it for the clients; the update name is custom.
    hook(
        &s,
        json!({ "event": "entry.update", "model": "article", "entry": { "id": 1, "publishedAt": published } }),
    )
    .await;
    anon.event("article:updated").await;
    hook(
        &s,
        json!({ "event": "entry.unpublish", "model": "article", "entry": { "id": 1, "publishedAt": null } }),
    )
    .await;
    assert_eq!(ed.event("article:deleted").await, vec![json!({ "id": 1 })]);
    anon.none_before_ping("article:deleted").await;
    // `/api/broadcast` of a custom-named content event follows the roles too.
    let r = s
        .api(
            "POST",
            "/api/broadcast",
            Some(json!({ "event": "article:deleted", "data": { "id": 3 } })),
        )
        .await;
    assert_eq!(r.json()["recipients"], 1, "{}", r.text());
    assert_eq!(ed.event("article:deleted").await, vec![json!({ "id": 3 })]);
    anon.none_before_ping("article:deleted").await;
    // The filter changes at run time through the settings API.
    let r = s
        .admin(
            "PATCH",
            "/api/settings",
            &json!({ "content": { "custom_event_names": false, "only_published": false } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["settings"]["content"]["custom_event_names"], false);
    hook(
        &s,
        json!({ "event": "entry.create", "model": "article", "entry": { "id": 2 } }),
    )
    .await;
    anon.event("article:create").await;
}

#[tokio::test]
async fn bad_webhook_bodies_get_a_clear_400() {
    let s = InProc::start(ROLES).await;
    let (mut anon, _ed) = clients(&s).await;
    let k = [("x-api-key", KEY)];
    for (path, body, says) in [
        ("/api/webhooks/strapi", json!({}), "`event`"),
        (
            "/api/webhooks/strapi",
            json!({ "event": "entry.create", "entry": { "id": 1 } }),
            "`model`",
        ),
        (
            "/api/webhooks/strapi",
            json!({ "event": "entry.create", "model": "a:b", "entry": { "id": 1 } }),
            "`model`",
        ),
        (
            "/api/webhooks/strapi",
            json!({ "event": "entry.create", "model": "article", "entry": "x" }),
            "`entry`",
        ),
        (
            "/api/webhooks/strapi",
            json!({ "event": "entry.create", "model": "article", "entry": { "id": [] } }),
            "`entry.id`",
        ),
        (
            "/api/webhooks/content",
            json!({ "model": "article", "action": "upsert", "entry": { "id": 1 } }),
            "upsert",
        ),
        (
            "/api/webhooks/content",
            json!({ "model": "article", "entry": { "id": 1 } }),
            "`action`",
        ),
    ] {
        let r = post(&s, path, &k, &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let b = r.json();
        assert_eq!(b["code"], "INVALID_REQUEST");
        assert!(b["error"].as_str().unwrap().contains(says), "{b}");
    }
    let r = s
        .http(
            "POST",
            "/api/webhooks/strapi",
            &[("x-api-key", KEY)],
            b"{not json",
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .http("GET", "/api/webhooks/strapi", &[("x-api-key", KEY)], b"")
        .await;
    assert_eq!(r.status, 405);
    // Still serving.
    hook(
        &s,
        json!({ "event": "entry.create", "model": "article", "entry": { "id": 5 } }),
    )
    .await;
    assert_eq!(anon.event("article:create").await[0]["id"], 5);
}

#[tokio::test]
async fn signatures_and_unsigned_webhooks() {
    let body = json!({ "event": "entry.create", "model": "article", "entry": { "id": 1 } });
    let s = InProc::start(&format!("{ROLES}\n[api]\nrequire_signature = true\n")).await;
    let r = post(&s, "/api/webhooks/strapi", &[("x-api-key", KEY)], &body).await;
    assert_eq!(r.status, 401, "{}", r.text());
    let s = InProc::start(&format!(
        "{ROLES}\n[api]\nrequire_signature = true\n[content]\nallow_unsigned_webhooks = true\n"
    ))
    .await;
    let r = post(&s, "/api/webhooks/strapi", &[("x-api-key", KEY)], &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The other routes still need a signature, and a key is still needed.
    let r = s
        .http("GET", "/api/status", &[("x-api-key", KEY)], b"")
        .await;
    assert_eq!(r.status, 401);
    let r = post(&s, "/api/webhooks/strapi", &[], &body).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_bad_content_section_is_refused() {
    for bad in [
        "[content]\nnamespace = \"/nowhere\"",
        "[content]\nnamespace = \"x\"",
        "[content]\nexclude_fields = [\"\"]",
        "[content]\nonly_published = \"yes\"",
        "[content]\nunknown = 1",
    ] {
        assert!(
            socketio_server::config::Config::from_toml(bad).is_err(),
            "accepted: {bad}"
        );
    }
    let ok = socketio_server::config::Config::from_toml(
        "[namespaces.\"/cms\"]\n[content]\nnamespace = \"/cms\"",
    )
    .unwrap();
    assert_eq!(ok.content.namespace, "/cms");
}
