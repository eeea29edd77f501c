//! `--mount`: where a test server's engine runs. [`Mount::Own`] is the
//! engine's own server ([`Engine::serve`]); [`Mount::Axum`] puts it in an
//! axum `Router` ([`axum_router`]) that also answers `GET /hello`, through
//! `engineio::tower::EngineLayer`, so the official suites and the interop
//! clients check the engine as an application embeds it.
//!
//! Owns only the router and the choice of server; the servers' behaviour is
//! [`crate::eio_engine`]'s, [`crate::sio_server`]'s and the interop
//! module's.

use std::io;
use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use engineio::tower::EngineLayer;
use engineio::Engine;
use tokio::net::TcpListener;

/// What `GET /hello` answers in the axum mount.
pub const HELLO: &str = "hello from axum";

/// Where an engine is served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mount {
    /// On its own: [`Engine::serve`].
    #[default]
    Own,
    /// In the axum [`Router`] of [`axum_router`], served by `axum::serve`.
    Axum,
}

impl Mount {
    /// The mount named on the command line (`axum`), if any.
    pub fn parse(name: &str) -> Option<Mount> {
        match name {
            "axum" => Some(Mount::Axum),
            _ => None,
        }
    }

    /// Serves `engine` on `listener` this way until the listener fails.
    pub async fn serve(self, engine: Engine, listener: TcpListener) -> io::Result<()> {
        match self {
            Mount::Own => engine.serve(listener).await,
            Mount::Axum => {
                let app = axum_router(engine).into_make_service_with_connect_info::<SocketAddr>();
                // As `Engine::serve` does: small writes (a packet, a pong)
                // go out at once.
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(listener, app).await
            }
        }
    }
}

/// A router answering `GET /hello` with [`HELLO`] and serving `engine` on
/// its path through the engine's layer; the handshake's peer address is
/// axum's `ConnectInfo<SocketAddr>`, present when the router is served with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn axum_router(engine: Engine) -> Router {
    let layer =
        EngineLayer::new(engine).peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0));
    Router::new()
        .route("/hello", get(|| async { HELLO }))
        .layer(layer)
}
