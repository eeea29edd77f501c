//! `[admin_ui]`: serves the official Admin UI's namespace on the server's
//! Socket.IO instance (the protocol is `socketio::admin`'s).
//!
//! Owns only the translation of the config section; the namespace it
//! creates gets none of the application's middlewares or handlers.

use std::sync::Arc;
use std::time::Duration;

use socketio::admin::{instrument, AdminConfig};
use socketio::SocketIo;
use socketio_redis::{RedisCluster, RedisSessionStore};

use crate::config::Config;

/// Starts serving the Admin UI when `[admin_ui] enabled` (the section was
/// validated with the config: its credentials are good); its session ids
/// live in `redis`, when given, under `admin_ui.session_prefix`.
/// `on_refused` hears each refused login's code (`socketio::admin::refusal`).
pub fn install(
    io: &SocketIo,
    config: &Config,
    redis: Option<&Arc<RedisCluster>>,
    on_refused: impl Fn(&str) + Send + Sync + 'static,
) {
    let section = &config.admin_ui;
    if !section.enabled {
        return;
    }
    let credentials = match section.credentials() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "admin UI not served");
            return;
        }
    };
    let mut admin = AdminConfig::new(Some(credentials))
        .namespace(section.namespace.clone())
        .read_only(section.read_only)
        .session_ttl(Duration::from_secs(section.session_ttl_secs))
        .login_failures_per_minute(section.login_failures_per_minute)
        .on_refused(on_refused);
    if let Some(cluster) = redis {
        let store = RedisSessionStore::new(cluster.clone(), section.session_prefix.clone());
        admin = admin.session_store(Arc::new(store));
    }
    match instrument(io, admin) {
        Ok(a) => tracing::info!(
            namespace = a.namespace(),
            read_only = section.read_only,
            "admin UI served"
        ),
        Err(e) => tracing::error!(error = %e, "admin UI not served"),
    }
}
