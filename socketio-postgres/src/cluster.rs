//! [`PostgresCluster`]: what the PostgreSQL adapters of one server share:
//! two connections (one that LISTENs, one for NOTIFY and the attachments
//! table), which reconnect with backoff and LISTEN again; the router from
//! channels to namespaces; the cleanup of old attachments; the counters.
//! It knows a namespace's adapter only as a [`Route`].
//!
//! No lock is held across an await: the clients are `Arc`s taken out of
//! their slot before use.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use socketio::AdapterError;
use socketio_cluster::cluster_msg::message;
use socketio_cluster::wire::Decoded;
use socketio_cluster::Stats;
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::config::PostgresAdapterConfig;
use crate::wire::{self, Notification, Outgoing};

/// What the router hands a namespace's messages to.
pub(crate) trait Route: Send + Sync {
    /// The adapter's uid (its own attachments are not fetched back).
    fn uid(&self) -> &str;
    /// Handles a message of the namespace's channel; false when it was not
    /// a message of the protocol.
    fn handle(&self, message: Decoded) -> bool;
    /// The connections are back (after an outage): announce ourselves.
    fn reconnected(&self);
}

/// Why [`PostgresCluster::connect`] refused its arguments.
#[derive(Debug)]
#[non_exhaustive]
pub enum SetupError {
    /// The connection URL or string does not parse.
    Url(tokio_postgres::Error),
    /// The table name is not a plain (or schema-qualified) identifier.
    TableName(String),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Url(e) => write!(f, "invalid postgres url: {e}"),
            SetupError::TableName(t) => write!(f, "invalid attachments table name {t:?}"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetupError::Url(e) => Some(e),
            SetupError::TableName(_) => None,
        }
    }
}

/// The two clients of a live session.
#[derive(Clone)]
struct Clients {
    query: Arc<Client>,
    listen: Arc<Client>,
}

/// What the adapters of one server share (see the module docs).
pub struct PostgresCluster {
    pub(crate) config: PostgresAdapterConfig,
    clients: RwLock<Option<Clients>>,
    adapters: RwLock<HashMap<String, Weak<dyn Route>>>,
    stats: Arc<Stats>,
    connected: watch::Receiver<bool>,
    /// Dropped (with the cluster) or sent to: every task stops.
    shutdown: watch::Sender<bool>,
}

impl PostgresCluster {
    /// Connects to the PostgreSQL at `url` (`postgres://user@host:port/db`
    /// or `host=.. dbname=..`). A server that is down is not an error: the
    /// connections retry with backoff, and the adapters serve local
    /// sockets meanwhile. Waits at most 2 s for the first connection.
    pub async fn connect(
        url: &str,
        config: PostgresAdapterConfig,
    ) -> Result<Arc<Self>, SetupError> {
        let pg: tokio_postgres::Config = url.parse().map_err(SetupError::Url)?;
        if !wire::valid_table_name(&config.table_name) {
            return Err(SetupError::TableName(config.table_name));
        }
        let (up, connected) = watch::channel(false);
        let (shutdown, _) = watch::channel(false);
        let (tx, rx) = mpsc::channel(config.receive_buffer.max(16));
        let cluster = Arc::new(PostgresCluster {
            config,
            clients: RwLock::new(None),
            adapters: RwLock::new(HashMap::new()),
            stats: Arc::default(),
            connected,
            shutdown,
        });
        let weak = Arc::downgrade(&cluster);
        tokio::spawn(supervise(
            weak.clone(),
            pg,
            up,
            tx,
            cluster.shutdown.subscribe(),
        ));
        tokio::spawn(route(weak.clone(), rx));
        tokio::spawn(cleanup(weak, cluster.shutdown.subscribe()));
        let mut connected = cluster.connected.clone();
        let wait = connected.wait_for(|up| *up);
        let _ = tokio::time::timeout(Duration::from_secs(2), wait).await;
        Ok(cluster)
    }

    /// The counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Whether both connections are up.
    pub fn connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// Closes the connections and stops the tasks.
    pub fn close(&self) {
        let _ = self.shutdown.send(true);
        self.set_clients(None);
    }

    fn set_clients(&self, clients: Option<Clients>) {
        if let Ok(mut c) = self.clients.write() {
            *c = clients;
        }
    }

    fn clients(&self) -> Option<Clients> {
        self.clients.read().ok()?.clone()
    }

    /// The clients, waiting up to `wait` for a session that is down.
    async fn clients_within(&self, wait: Duration) -> Option<Clients> {
        if let Some(c) = self.clients() {
            return Some(c);
        }
        let mut up = self.connected.clone();
        let _ = tokio::time::timeout(wait, up.wait_for(|up| *up)).await;
        self.clients()
    }

    fn lookup(&self, nsp: &str) -> Option<Arc<dyn Route>> {
        self.adapters.read().ok()?.get(nsp)?.upgrade()
    }

    fn routes(&self) -> Vec<(String, Weak<dyn Route>)> {
        match self.adapters.read() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Routes the messages of namespace `nsp` to `route`, and LISTENs to
    /// its channel (again after each reconnection).
    pub(crate) async fn register(&self, nsp: &str, route: Weak<dyn Route>) {
        if let Ok(mut m) = self.adapters.write() {
            m.insert(nsp.to_owned(), route);
        }
        if let Some(c) = self.clients() {
            let _ = self.listen(&c.listen, nsp).await;
        }
    }

    /// Stops routing namespace `nsp`.
    pub(crate) async fn unregister(&self, nsp: &str) {
        if let Ok(mut m) = self.adapters.write() {
            m.remove(nsp);
        }
        if let Some(c) = self.clients() {
            let channel = wire::channel(&self.config.channel_prefix, nsp);
            let sql = format!("UNLISTEN {}", wire::quote_ident(&channel));
            let _ = c.listen.batch_execute(&sql).await;
        }
    }

    async fn listen(&self, client: &Client, nsp: &str) -> Result<(), tokio_postgres::Error> {
        let channel = wire::channel(&self.config.channel_prefix, nsp);
        let sql = format!("LISTEN {}", wire::quote_ident(&channel));
        let r = client.batch_execute(&sql).await;
        if r.is_err() {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// Sends `{type: t, data, uid, nsp}` to every node of namespace `nsp`:
    /// as the NOTIFY payload, or through the attachments table when it
    /// holds binary or is too big (see [`wire::encode`]). While the
    /// connections are down it waits for them up to `publish_timeout`.
    pub(crate) async fn publish(
        &self,
        nsp: &str,
        uid: &str,
        t: u64,
        data: serde_json::Value,
        attachments: &[Bytes],
    ) -> Result<(), AdapterError> {
        let Some(c) = self.clients_within(self.config.publish_timeout).await else {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            return Err(AdapterError::Remote("not connected to postgres".into()));
        };
        let msg = message(t, data, uid, nsp);
        let channel = wire::channel(&self.config.channel_prefix, nsp);
        let r = async {
            let payload = match wire::encode(&msg, t, attachments, self.config.payload_threshold) {
                Outgoing::Notify(text) => text,
                Outgoing::Attachment(bytes) => {
                    let sql = wire::insert_sql(&self.config.table_name);
                    let row = c.query.query_one(&sql, &[&bytes]).await?;
                    wire::header(uid, t, row.try_get(0)?)
                }
            };
            c.query
                .execute("SELECT pg_notify($1, $2)", &[&channel, &payload])
                .await
        }
        .await;
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        r.map(|_| ()).map_err(|e| {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            AdapterError::Remote(e.to_string())
        })
    }

    /// The message a header names, from the attachments table.
    async fn fetch_attachment(&self, id: i64) -> Option<Decoded> {
        let c = self.clients()?;
        let sql = wire::select_sql(&self.config.table_name);
        let row = match c.query.query_opt(&sql, &[&id]).await {
            Ok(row) => row,
            Err(_) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        let payload: Vec<u8> = row?.try_get(0).ok()?;
        wire::decode_attachment(&payload).ok()
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Keeps a session up: connects, LISTENs, forwards notifications to the
/// router, and after a failure waits (100 ms doubling to 5 s) and again.
async fn supervise(
    cluster: Weak<PostgresCluster>,
    pg: tokio_postgres::Config,
    up: watch::Sender<bool>,
    tx: mpsc::Sender<(String, Vec<u8>)>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut sessions = 0u64;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let connected = tokio::select! {
            r = session(&cluster, &pg, &up, &tx, sessions > 0) => r,
            _ = shutdown.changed() => return,
        };
        up.send_replace(false);
        let Some(c) = cluster.upgrade() else { return };
        c.set_clients(None);
        if connected {
            sessions += 1;
            backoff = Duration::from_millis(100);
        } else {
            c.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        drop(c);
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One session, until a connection fails; false when it never got up.
async fn session(
    cluster: &Weak<PostgresCluster>,
    pg: &tokio_postgres::Config,
    up: &watch::Sender<bool>,
    tx: &mpsc::Sender<(String, Vec<u8>)>,
    again: bool,
) -> bool {
    let (Ok((query, query_conn)), Ok((listen, mut listen_conn))) =
        (pg.connect(NoTls).await, pg.connect(NoTls).await)
    else {
        return false;
    };
    let mut query_task = tokio::spawn(query_conn);
    let clients = Clients {
        query: Arc::new(query),
        listen: Arc::new(listen),
    };
    // Setup runs beside the loop below, which drives the LISTEN connection.
    let setup = {
        let (cluster, clients) = (cluster.clone(), clients.clone());
        async move {
            let Some(c) = cluster.upgrade() else { return };
            let sql = wire::create_table_sql(&c.config.table_name);
            if clients.query.batch_execute(&sql).await.is_err() {
                c.stats.errors.fetch_add(1, Ordering::Relaxed);
            }
            let routes = c.routes();
            for (nsp, _) in &routes {
                let _ = c.listen(&clients.listen, nsp).await;
            }
            c.set_clients(Some(clients));
            up.send_replace(true);
            if again {
                c.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                for route in routes.iter().filter_map(|(_, r)| r.upgrade()) {
                    route.reconnected();
                }
            }
        }
    };
    let mut setup = std::pin::pin!(setup);
    let mut setup_done = false;
    let mut messages = futures_util::stream::poll_fn(move |cx| listen_conn.poll_message(cx));
    loop {
        tokio::select! {
            _ = &mut setup, if !setup_done => setup_done = true,
            m = messages.next() => match m {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    let item = (n.channel().to_owned(), n.payload().as_bytes().to_vec());
                    if tx.try_send(item).is_err() {
                        if let Some(c) = cluster.upgrade() {
                            c.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => break,
            },
            _ = &mut query_task => break,
        }
    }
    query_task.abort();
    setup_done
}

/// Hands every notification to its namespace's adapter, fetching the
/// message from the table when it is only a header.
async fn route(cluster: Weak<PostgresCluster>, mut rx: mpsc::Receiver<(String, Vec<u8>)>) {
    while let Some((channel, payload)) = rx.recv().await {
        let Some(c) = cluster.upgrade() else { return };
        c.stats.received.fetch_add(1, Ordering::Relaxed);
        let Some(nsp) = wire::namespace_of(&c.config.channel_prefix, &channel) else {
            c.stats.malformed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let Some(route) = c.lookup(nsp) else { continue };
        let message = match wire::decode_notification(&payload) {
            Ok(Notification::Message(d)) => Some(d),
            // Our own: not fetched back.
            Ok(Notification::Attachment { uid, .. }) if uid == route.uid() => continue,
            Ok(Notification::Attachment { id, .. }) => c.fetch_attachment(id).await,
            Err(_) => None,
        };
        if !message.is_some_and(|m| route.handle(m)) {
            c.stats.malformed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Deletes old attachments every `cleanup_interval`, as the reference does.
async fn cleanup(cluster: Weak<PostgresCluster>, mut shutdown: watch::Receiver<bool>) {
    let Some(every) = cluster.upgrade().map(|c| c.config.cleanup_interval) else {
        return;
    };
    let every = every.max(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let Some(c) = cluster.upgrade() else { return };
        let Some(clients) = c.clients() else { continue };
        let sql = wire::cleanup_sql(&c.config.table_name, every.as_millis());
        if clients.query.batch_execute(&sql).await.is_err() {
            c.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}
