//! `[admin_ui]`: serves the official Admin UI's namespace on the server's
//! Socket.IO instance (the protocol is `socketio::admin`'s).
//!
//! Owns only the translation of the config section; the namespace it
//! creates gets none of the application's middlewares or handlers.

use socketio::admin::{instrument, AdminConfig};
use socketio::SocketIo;

use crate::config::Config;

/// Starts serving the Admin UI when `[admin_ui] enabled` (the section was
/// validated with the config: its credentials are good).
pub fn install(io: &SocketIo, config: &Config) {
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
    let admin = AdminConfig::new(Some(credentials))
        .namespace(section.namespace.clone())
        .read_only(section.read_only)
        .login_failures_per_minute(section.login_failures_per_minute);
    match instrument(io, admin) {
        Ok(a) => tracing::info!(
            namespace = a.namespace(),
            read_only = section.read_only,
            "admin UI served"
        ),
        Err(e) => tracing::error!(error = %e, "admin UI not served"),
    }
}
