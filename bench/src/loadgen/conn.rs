//! Opening and closing many connections: each client is one tokio task
//! (transport handshake, then [`ws::run`] or [`polling::run`]) driven by an
//! unbounded command channel; a semaphore bounds the handshakes in flight.
//! Closing a client is dropping its [`Conn::tx`].

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::cli::Transport;
use super::polling;
use super::session::{Cmd, ConnReport, Ctx, Session};
use super::ws;

/// Bound on one connection's handshake, TCP connect included.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to open one client.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Its transport.
    pub transport: Transport,
    /// Room to join through the handshake query.
    pub room: Option<String>,
    /// The server: 0 for `--url`, 1 for `--url-b` (see [`Ctx::target_of`]).
    pub node: usize,
}

/// An open client.
pub struct Conn {
    /// Its position in the list of [`Spec`]s it was opened from.
    pub idx: usize,
    /// Commands to it; dropping this closes the connection.
    pub tx: mpsc::UnboundedSender<Cmd>,
    /// Its task, which returns what it counted.
    pub task: JoinHandle<ConnReport>,
}

/// One client's task: handshake (holding `permit`), report on `ready`, run.
async fn client(
    ctx: Arc<Ctx>,
    idx: usize,
    spec: Spec,
    permit: OwnedSemaphorePermit,
    ready: mpsc::UnboundedSender<(usize, bool)>,
    rx: mpsc::UnboundedReceiver<Cmd>,
) -> ConnReport {
    let room = spec.room.as_deref();
    let timed_out = || "handshake timed out".to_string();
    let session = Session::new(ctx.clone(), spec.node);
    let target = ctx.target_of(spec.node);
    let started = Instant::now();
    let opened = || ctx.connect_hist.record(started.elapsed().as_nanos() as u64);
    match spec.transport {
        Transport::WebSocket => {
            let res = tokio::time::timeout(
                CONNECT_TIMEOUT,
                ws::connect(target, room, ctx.deflate.as_ref()),
            )
            .await;
            drop(permit);
            match res.unwrap_or_else(|_| Err(timed_out())) {
                Ok(conn) => {
                    opened();
                    let _ = ready.send((idx, true));
                    drop(ready);
                    ws::run(conn, session, rx).await
                }
                Err(e) => {
                    ctx.error(format!("websocket client {idx}: {e}"));
                    let _ = ready.send((idx, false));
                    ConnReport::default()
                }
            }
        }
        Transport::Polling => {
            let res = tokio::time::timeout(CONNECT_TIMEOUT, polling::connect(target, room)).await;
            drop(permit);
            match res.unwrap_or_else(|_| Err(timed_out())) {
                Ok(conn) => {
                    opened();
                    let _ = ready.send((idx, true));
                    drop(ready);
                    polling::run(conn, session, rx).await
                }
                Err(e) => {
                    ctx.error(format!("polling client {idx}: {e}"));
                    let _ = ready.send((idx, false));
                    ConnReport::default()
                }
            }
        }
    }
}

/// Opens one client per spec, at most `concurrency` handshakes at a time,
/// and returns once every handshake has succeeded or failed (each within
/// [`CONNECT_TIMEOUT`]): the open clients, in spec order. Failures are
/// counted in [`Ctx::errors`]. Progress goes to stderr.
pub async fn open_all(ctx: &Arc<Ctx>, specs: Vec<Spec>, concurrency: usize) -> Vec<Conn> {
    let n = specs.len();
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let mut conns = Vec::with_capacity(n);
    for (idx, spec) in specs.into_iter().enumerate() {
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(client(ctx.clone(), idx, spec, permit, ready_tx.clone(), rx));
        conns.push(Conn { idx, tx, task });
    }
    drop(ready_tx);
    let mut ok = vec![false; conns.len()];
    let (mut done, mut good) = (0usize, 0usize);
    let step = (n / 10).max(1);
    let start = Instant::now();
    // Ends when every task has reported (each drops its sender after).
    while let Some((idx, success)) = ready_rx.recv().await {
        ok[idx] = success;
        done += 1;
        good += usize::from(success);
        if done % step == 0 && n >= 100 {
            eprintln!(
                "loadgen: {done}/{n} handshakes done, {good} connected ({:.1} s)",
                start.elapsed().as_secs_f64()
            );
        }
    }
    conns.into_iter().filter(|c| ok[c.idx]).collect()
}

/// Closes every client (dropping its command channel) and waits up to
/// `limit` for their tasks; returns the reports in the same order (default
/// ones for tasks that did not end in time).
pub async fn close_all(ctx: &Ctx, conns: Vec<Conn>, limit: Duration) -> Vec<ConnReport> {
    ctx.closing.store(true, Ordering::Relaxed);
    let tasks: Vec<JoinHandle<ConnReport>> = conns.into_iter().map(|c| c.task).collect();
    let deadline = tokio::time::Instant::now() + limit;
    let mut reports = Vec::with_capacity(tasks.len());
    for task in tasks {
        let abort = task.abort_handle();
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(report)) => reports.push(report),
            _ => {
                abort.abort();
                reports.push(ConnReport::default());
            }
        }
    }
    reports
}
