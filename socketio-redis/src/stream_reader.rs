//! The Redis Streams adapter's commands (XADD, XREAD, XRANGE, the session
//! keys) and the one reading loop of a server: XREAD BLOCK from the last id
//! it read, each entry routed to its namespace's adapter. After a Redis
//! outage it goes on from that id, so that nothing the stream still holds
//! is lost.

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

use bytes::Bytes;
use fred::prelude::{Client, ClientLike};
use fred::types::{ClusterHash, CustomCommand, Value as RValue};
use socketio::AdapterError;

use crate::cluster::RedisCluster;
use crate::stream_wire::decode_entry;

/// One stream entry as Redis returns it: its id and its fields.
pub(crate) type RawEntry = (String, Vec<(Bytes, Bytes)>);

fn remote(e: fred::error::Error) -> AdapterError {
    AdapterError::Remote(e.to_string())
}

fn bytes(v: RValue) -> Option<Bytes> {
    match v {
        RValue::String(s) => Some(s.into_inner()),
        RValue::Bytes(b) => Some(b),
        RValue::Integer(i) => Some(Bytes::from(i.to_string())),
        _ => None,
    }
}

fn array(v: RValue) -> Option<Vec<RValue>> {
    match v {
        RValue::Array(a) => Some(a),
        RValue::Null => Some(Vec::new()),
        _ => None,
    }
}

/// `[[id, [field, value, ...]], ...]` (XRANGE, and each stream of XREAD);
/// `None` when Redis answered something else.
fn entries(v: RValue) -> Option<Vec<RawEntry>> {
    array(v)?
        .into_iter()
        .map(|e| {
            let mut e = array(e)?.into_iter();
            let id = bytes(e.next()?)?;
            let id = String::from_utf8(id.to_vec()).ok()?;
            let mut flat = array(e.next()?)?.into_iter();
            let mut fields = Vec::new();
            while let (Some(f), Some(v)) = (flat.next(), flat.next()) {
                fields.push((bytes(f)?, bytes(v)?));
            }
            Some((id, fields))
        })
        .collect()
}

fn cmd(name: &'static str, hash: ClusterHash, blocking: bool) -> CustomCommand {
    CustomCommand::new_static(name, hash, blocking)
}

impl RedisCluster {
    /// XADD with `MAXLEN ~`: the new entry's id.
    pub(crate) async fn xadd(
        &self,
        stream: &str,
        fields: Vec<(&'static str, Vec<u8>)>,
    ) -> Result<String, AdapterError> {
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        let c = &self.config;
        let mut args: Vec<RValue> = vec![
            stream.into(),
            "MAXLEN".into(),
            "~".into(),
            RValue::Integer(i64::try_from(c.max_len).unwrap_or(i64::MAX)),
            "*".into(),
        ];
        for (f, v) in fields {
            args.push(f.into());
            args.push(RValue::Bytes(Bytes::from(v)));
        }
        let r: Result<RValue, _> = self
            .publisher
            .custom(cmd("XADD", ClusterHash::FirstKey, false), args)
            .await;
        let id = r.map_err(remote).and_then(|v| {
            bytes(v)
                .and_then(|b| String::from_utf8(b.to_vec()).ok())
                .ok_or_else(|| AdapterError::Remote("XADD answered no id".into()))
        });
        if id.is_err() {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        id
    }

    /// XRANGE of `stream` from `start` to `end` (inclusive), at most
    /// `count` entries.
    pub(crate) async fn xrange(
        &self,
        stream: &str,
        start: &str,
        end: &str,
        count: usize,
    ) -> Result<Vec<RawEntry>, AdapterError> {
        let args: Vec<RValue> = vec![
            stream.into(),
            start.into(),
            end.into(),
            "COUNT".into(),
            RValue::Integer(i64::try_from(count).unwrap_or(i64::MAX)),
        ];
        let v: RValue = self
            .publisher
            .custom(cmd("XRANGE", ClusterHash::FirstKey, false), args)
            .await
            .map_err(remote)?;
        entries(v).ok_or_else(|| AdapterError::Remote("unexpected XRANGE answer".into()))
    }

    /// SET `key` to `value`, expiring after `ttl`.
    pub(crate) async fn set_px(
        &self,
        key: String,
        value: String,
        ttl: Duration,
    ) -> Result<(), AdapterError> {
        let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        let args: Vec<RValue> = vec![key.into(), value.into(), "PX".into(), RValue::Integer(ms)];
        let r: Result<RValue, _> = self
            .publisher
            .custom(cmd("SET", ClusterHash::FirstKey, false), args)
            .await;
        r.map(|_| ()).map_err(|e| {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            remote(e)
        })
    }

    /// GETDEL `key` (Redis 6.2+): its value, once.
    pub(crate) async fn getdel(&self, key: String) -> Result<Option<Bytes>, AdapterError> {
        let args: Vec<RValue> = vec![key.into()];
        let v: RValue = self
            .publisher
            .custom(cmd("GETDEL", ClusterHash::FirstKey, false), args)
            .await
            .map_err(remote)?;
        Ok(bytes(v))
    }

    /// The id of `stream`'s last entry, `0-0` when it has none.
    async fn last_id(&self, stream: &str) -> Result<String, AdapterError> {
        let args: Vec<RValue> = vec![
            stream.into(),
            "+".into(),
            "-".into(),
            "COUNT".into(),
            RValue::Integer(1),
        ];
        let v: RValue = self
            .publisher
            .custom(cmd("XREVRANGE", ClusterHash::FirstKey, false), args)
            .await
            .map_err(remote)?;
        let list =
            entries(v).ok_or_else(|| AdapterError::Remote("unexpected XREVRANGE answer".into()))?;
        Ok(list
            .into_iter()
            .next()
            .map_or_else(|| "0-0".to_owned(), |(id, _)| id))
    }
}

/// One XREAD BLOCK of `stream` on `reader` from `from`.
async fn xread(
    cluster: &RedisCluster,
    reader: &Client,
    stream: &str,
    from: &str,
) -> Result<Vec<RawEntry>, AdapterError> {
    let c = &cluster.config;
    let block = i64::try_from(c.block_time.as_millis()).unwrap_or(i64::MAX);
    let args: Vec<RValue> = vec![
        "BLOCK".into(),
        RValue::Integer(block),
        "COUNT".into(),
        RValue::Integer(i64::try_from(c.read_count.max(1)).unwrap_or(i64::MAX)),
        "STREAMS".into(),
        stream.into(),
        from.into(),
    ];
    let v: RValue = reader
        .custom(cmd("XREAD", ClusterHash::Offset(5), true), args)
        .await
        .map_err(remote)?;
    // `[[stream, entries]]`, or nil when the block timed out.
    let streams = array(v).ok_or_else(|| AdapterError::Remote("unexpected XREAD answer".into()))?;
    let mut out = Vec::new();
    for s in streams {
        let mut s = array(s).unwrap_or_default().into_iter();
        if let Some(list) = s.nth(1).and_then(entries) {
            out.extend(list);
        }
    }
    Ok(out)
}

/// Reads `stream` until the cluster is gone, handing each entry to its
/// namespace's adapter; entries that are not messages are counted in
/// `malformed` and skipped. One task (and connection) per stream, so that
/// the streams do not wait for each other's blocking reads.
pub(crate) async fn read(cluster: Weak<RedisCluster>, reader: Client, stream: String) {
    let mut last: Option<String> = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(c) = cluster
            .upgrade()
            .filter(|c| !c.closed.load(Ordering::Relaxed))
        else {
            let _ = reader.quit().await;
            return;
        };
        let from = match &last {
            Some(id) => Ok(id.clone()),
            None => c.last_id(&stream).await,
        };
        let batch = match from {
            Ok(from) => {
                last = Some(from.clone());
                xread(&c, &reader, &stream, &from).await
            }
            Err(e) => Err(e),
        };
        match batch {
            Ok(batch) => {
                backoff = Duration::from_millis(100);
                for (id, fields) in batch {
                    c.stats.received.fetch_add(1, Ordering::Relaxed);
                    let ok = match decode_entry(&fields) {
                        Ok(entry) => c.lookup(&entry.nsp).is_none_or(|r| r.on_entry(&id, entry)),
                        Err(_) => false,
                    };
                    if !ok {
                        c.stats.malformed.fetch_add(1, Ordering::Relaxed);
                    }
                    last = Some(id);
                }
            }
            Err(_) => {
                // Redis is down or restarting: the client reconnects by
                // itself; go on from the same id once it is back.
                c.stats.errors.fetch_add(1, Ordering::Relaxed);
                drop(c);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}
