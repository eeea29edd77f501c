//! The long-polling-only transport, never upgraded, on [`HttpConn`]s.
//!
//! Each client keeps two keep-alive connections: one loops `GET`s (the
//! server holds each until it has packets or a ping is due) and one carries
//! `POST`s, one in flight at a time; packets queued meanwhile go out
//! together in the next `POST`, separated by the byte 0x1e, as do the
//! packets of a `GET` answer. One task drives both: it waits on the `GET`
//! in flight, the `POST` in flight and the command channel at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use super::cli::Target;
use super::http::{get_request, post_request, HttpConn, Response};
use super::session::{room_query, Cmd, ConnReport, Reply, Session};
use super::ws::idle_from_open;

/// Engine.IO's packet separator in a polling payload.
const SEP: char = '\x1e';
/// Longest wait for a `POST` answer.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected polling client: the `40{...}` answer has arrived.
pub struct PollingConn {
    /// The connection that loops `GET`s.
    get: HttpConn,
    /// The connection that carries `POST`s.
    post: HttpConn,
    /// `{path}?EIO=4&transport=polling&sid=SID`.
    path_query: String,
    /// Longest wait for a `GET` answer: ping interval + ping timeout + 5 s.
    idle: Duration,
    /// Packets that came with the `40{...}` answer.
    early: Vec<String>,
}

/// Splits a payload into its packets.
fn packets(body: &[u8]) -> Result<impl Iterator<Item = &str>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "payload not UTF-8".to_string())?;
    Ok(text.split(SEP).filter(|p| !p.is_empty()))
}

/// A request and its answer, with a time bound; a 200 is required.
async fn exchange(
    conn: &mut HttpConn,
    request: &[u8],
    limit: Duration,
) -> Result<Response, String> {
    let res = tokio::time::timeout(limit, conn.request(request))
        .await
        .map_err(|_| "no answer from the server".to_string())?
        .map_err(|e| format!("HTTP: {e}"))?;
    if res.status != 200 {
        return Err(format!(
            "HTTP status {}: {:?}",
            res.status,
            String::from_utf8_lossy(&res.body)
        ));
    }
    Ok(res)
}

/// Handshakes (`GET` → open packet), connects to the main namespace
/// (`POST 40`, then `GET` until `40{...}`), joining `room` when given. The
/// caller bounds the whole of it in time.
pub async fn connect(target: &Target, room: Option<&str>) -> Result<PollingConn, String> {
    let limit = Duration::from_secs(10);
    let mut get = HttpConn::connect(target.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let first = format!(
        "{}?EIO=4&transport=polling{}",
        target.path,
        room_query(room)
    );
    let res = exchange(&mut get, &get_request(&target.host, &first), limit).await?;
    let open = packets(&res.body)?.next().unwrap_or("").to_owned();
    let idle = idle_from_open(&open)?;
    let sid = serde_json::from_str::<serde_json::Value>(&open[1..])
        .ok()
        .and_then(|v| v.get("sid")?.as_str().map(str::to_owned))
        .ok_or("open packet without a sid")?;
    let path_query = format!("{}?EIO=4&transport=polling&sid={sid}", target.path);
    let mut post = HttpConn::connect(target.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    exchange(
        &mut post,
        &post_request(&target.host, &path_query, b"40"),
        limit,
    )
    .await?;
    let poll = get_request(&target.host, &path_query);
    loop {
        let res = exchange(&mut get, &poll, limit).await?;
        let mut early = Vec::new();
        let mut connected = false;
        for p in packets(&res.body)? {
            if connected {
                early.push(p.to_owned());
            } else if p.starts_with("40") {
                connected = true;
            } else if p.starts_with("44") {
                return Err(format!("connect_error: {p}"));
            } else if p == "2" {
                exchange(
                    &mut post,
                    &post_request(&target.host, &path_query, b"3"),
                    limit,
                )
                .await?;
            }
        }
        if connected {
            return Ok(PollingConn {
                get,
                post,
                path_query,
                idle,
                early,
            });
        }
    }
}

/// An HTTP exchange in flight, owning its connection until it ends.
type Exchange = Pin<Box<dyn Future<Output = (HttpConn, Result<Response, String>)> + Send>>;

/// Starts an exchange of `request` on `conn`.
fn start(mut conn: HttpConn, request: Arc<[u8]>, limit: Duration) -> Exchange {
    Box::pin(async move {
        let res = exchange(&mut conn, &request, limit).await;
        (conn, res)
    })
}

/// Drives a connected client until its command channel closes (then sends
/// the Engine.IO close packet) or the session fails (an error, unless the
/// run is closing). Returns what it counted.
pub async fn run(
    conn: PollingConn,
    mut session: Session,
    mut rx: UnboundedReceiver<Cmd>,
) -> ConnReport {
    let PollingConn {
        get,
        post,
        path_query,
        idle,
        early,
    } = conn;
    let host = session.target().host.clone();
    let poll: Arc<[u8]> = get_request(&host, &path_query).into();
    let mut get_fut = start(get, poll.clone(), idle);
    let mut post_idle = Some(post);
    let mut post_fut: Option<Exchange> = None;
    let mut queue = String::new();
    let mut failure: Option<String> = None;
    for p in &early {
        match session.on_packet(p) {
            Ok(Reply::Pong) => push(&mut queue, "3"),
            Ok(Reply::None) => {}
            Err(e) => failure = Some(e),
        }
    }
    while failure.is_none() {
        tokio::select! {
            biased;
            (conn, res) = &mut get_fut => {
                let body = match res {
                    Ok(res) => res.body,
                    Err(e) => { failure = Some(e); break; }
                };
                match packets(&body) {
                    Ok(ps) => {
                        for p in ps {
                            match session.on_packet(p) {
                                Ok(Reply::Pong) => push(&mut queue, "3"),
                                Ok(Reply::None) => {}
                                Err(e) => { failure = Some(e); break; }
                            }
                        }
                    }
                    Err(e) => failure = Some(e),
                }
                get_fut = start(conn, poll.clone(), idle);
            }
            (conn, res) = async { post_fut.as_mut().expect("guarded by the condition").await }, if post_fut.is_some() => {
                post_fut = None;
                post_idle = Some(conn);
                if let Err(e) = res.and_then(|r| match &r.body[..] {
                    b"ok" => Ok(()),
                    other => Err(format!("POST answered {:?}", String::from_utf8_lossy(other))),
                }) {
                    failure = Some(e);
                }
            }
            cmd = rx.recv() => match cmd {
                Some(cmd) => {
                    push(&mut queue, &session.packet(cmd));
                    while let Ok(cmd) = rx.try_recv() {
                        push(&mut queue, &session.packet(cmd));
                    }
                }
                None => {
                    close(post_fut, post_idle, &host, &path_query).await;
                    return session.report();
                }
            },
        }
        if !queue.is_empty() {
            if let Some(conn) = post_idle.take() {
                let request: Arc<[u8]> = post_request(&host, &path_query, queue.as_bytes()).into();
                queue.clear();
                post_fut = Some(start(conn, request, POST_TIMEOUT));
            }
        }
    }
    let ctx = session.ctx();
    if let Some(e) = failure {
        if !ctx.closing.load(std::sync::atomic::Ordering::Relaxed) {
            ctx.error(e);
        }
    }
    session.report()
}

/// Appends a packet to a payload being built.
fn push(queue: &mut String, packet: &str) {
    if !queue.is_empty() {
        queue.push(SEP);
    }
    queue.push_str(packet);
}

/// Ends the session: lets the `POST` in flight finish, then posts the
/// Engine.IO close packet `1` (each within 2 s). The `GET` in flight is
/// dropped with its connection.
async fn close(
    post_fut: Option<Exchange>,
    post_idle: Option<HttpConn>,
    host: &str,
    path_query: &str,
) {
    let limit = Duration::from_secs(2);
    let conn = match post_fut {
        Some(f) => tokio::time::timeout(limit, f).await.ok().map(|(c, _)| c),
        None => post_idle,
    };
    if let Some(mut conn) = conn {
        let _ = exchange(&mut conn, &post_request(host, path_query, b"1"), limit).await;
    }
}
