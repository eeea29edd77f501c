//! [`RedisCluster::factory`]: the adapter of the configured kind for each
//! namespace. Above both adapters and the cluster, which know neither the
//! choice nor each other.

use std::sync::Arc;

use socketio::{AdapterFactory, WeakNamespace};

use crate::adapter::RedisAdapter;
use crate::cluster::RedisCluster;
use crate::config::AdapterKind;
use crate::sharded::ShardedAdapter;

impl RedisCluster {
    /// The factory to give `SocketIo::builder().adapter(..)`: one
    /// [`RedisAdapter`] per namespace.
    pub fn factory(self: &Arc<Self>) -> AdapterFactory {
        let cluster = self.clone();
        match self.config.kind {
            AdapterKind::Sharded(mode) => Arc::new(move |nsp: WeakNamespace| {
                Arc::new(ShardedAdapter::new(&cluster, nsp, mode))
            }),
            _ => Arc::new(move |nsp: WeakNamespace| Arc::new(RedisAdapter::new(&cluster, nsp))),
        }
    }
}
