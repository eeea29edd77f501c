//! What both benchmark servers (`bench-server`, `bare-ws`) do the same way
//! before serving: the port from `$PORT` and the listening socket.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;

/// The port in `$PORT`, 3000 when unset or not a number.
pub fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000)
}

/// Listens on 127.0.0.1:`port` with Node's backlog of 511 (std's 128
/// drops SYNs under a burst of connects). Call inside the runtime.
pub fn listen(port: u16) -> io::Result<TcpListener> {
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.set_reuseaddr(true)?;
    sock.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    sock.listen(511)
}
