//! [`RedisCluster::factory`]: the adapter of the configured kind for each
//! namespace. Above both adapters and the cluster, which know neither the
//! choice nor each other.

use std::sync::Arc;

use socketio::{AdapterFactory, WeakNamespace};

use crate::adapter::RedisAdapter;
use crate::cluster::RedisCluster;
use crate::config::AdapterKind;
use crate::sharded::ShardedAdapter;
use crate::stream_reader;
use crate::streams::StreamsAdapter;

impl RedisCluster {
    /// The factory to give `SocketIo::builder().adapter(..)`: one
    /// [`RedisAdapter`] per namespace.
    pub fn factory(self: &Arc<Self>) -> AdapterFactory {
        let cluster = self.clone();
        match self.config.kind {
            AdapterKind::Sharded(mode) => Arc::new(move |nsp: WeakNamespace| {
                Arc::new(ShardedAdapter::new(&cluster, nsp, mode))
            }),
            AdapterKind::Streams => {
                // One reader per stream and server, started with its first
                // factory.
                let readers = self.readers.lock().map(|mut r| std::mem::take(&mut *r));
                for (reader, stream) in readers.unwrap_or_default() {
                    tokio::spawn(stream_reader::read(Arc::downgrade(self), reader, stream));
                }
                Arc::new(move |nsp: WeakNamespace| Arc::new(StreamsAdapter::new(&cluster, nsp)))
            }
            _ => Arc::new(move |nsp: WeakNamespace| Arc::new(RedisAdapter::new(&cluster, nsp))),
        }
    }
}
