//! The suite servers on the smol runtime (`socketio-smol`): the same
//! handlers and configurations as on tokio, served by the smol engine.
//! [`serve`] runs one in the foreground (`conformance MODE --runtime
//! smol`); [`spawn`] runs one in the background, for tests.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

use futures_channel::oneshot;
use socketio::Parser;
use socketio_smol::async_io::Async;
use socketio_smol::{Engine, SmolRuntime};

use crate::{eio_config, sio_interop_config, sio_interop_server_on, sio_server_on, Echo};

/// Threads the executor of a background server runs on.
const THREADS: usize = 2;

/// The suite servers that run on every runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The engine.io-protocol suite's echo server.
    Eio,
    /// The socket.io-protocol suite's server.
    Sio,
    /// The interop tests' Socket.IO server, with recovery.
    SioInterop,
    /// The same without connection state recovery.
    SioInteropNoRecovery,
}

impl Mode {
    /// The mode a command line names (`eio`, `sio`, `sio-interop`,
    /// `sio-interop-no-recovery`).
    pub fn parse(name: &str) -> Option<Mode> {
        Some(match name {
            "eio" => Mode::Eio,
            "sio" => Mode::Sio,
            "sio-interop" => Mode::SioInterop,
            "sio-interop-no-recovery" => Mode::SioInteropNoRecovery,
            _ => return None,
        })
    }

    /// The engine path, without slashes.
    pub fn path(self) -> &'static str {
        match self {
            Mode::Eio => "engine.io",
            _ => "socket.io",
        }
    }
}

/// The engine serving `mode` on `rt`; the sio-interop modes speak `parser`
/// (the others ignore it, as on tokio).
pub fn engine(mode: Mode, parser: Parser, rt: &SmolRuntime) -> Engine {
    let core: Arc<dyn socketio::Runtime> = Arc::new(rt.clone());
    match mode {
        Mode::Eio => Engine::new(eio_config(), Echo, rt),
        Mode::Sio => socketio_smol::engine(&sio_server_on(core), eio_config(), rt),
        Mode::SioInterop | Mode::SioInteropNoRecovery => {
            let io = sio_interop_server_on(mode == Mode::SioInterop, parser, core);
            socketio_smol::engine(&io, sio_interop_config(), rt)
        }
    }
}

/// Serves `mode` (with `parser`) on `host:port` until the listener fails,
/// printing where, as `conformance MODE --runtime smol` does.
pub fn main(mode: Mode, parser: Parser, host: &str, port: u16) -> io::Result<()> {
    let listener = TcpListener::bind((host, port))?;
    // The bound port, so `--port 0` callers learn it.
    let port = listener.local_addr()?.port();
    println!(
        "conformance server on http://{host}:{port}/{}/ (smol)",
        mode.path()
    );
    serve(mode, parser, listener)
}

/// Serves `mode` on `listener` until it fails, on this thread alone: the
/// requests of a client are then taken in the order they arrived, as the
/// suites assume (their "forcefully close the session" sends a GET and the
/// close POST at once, and fails if the POST reaches the session first).
pub fn serve(mode: Mode, parser: Parser, listener: TcpListener) -> io::Result<()> {
    let rt = SmolRuntime::new();
    let engine = engine(mode, parser, &rt);
    let listener = Async::new(listener)?;
    rt.block_on(1, engine.serve(listener))
}

/// A server running on its own threads; dropping it stops them.
pub struct Background {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its engine (for session counts).
    pub engine: Engine,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts `mode` on 127.0.0.1 on a free port.
pub fn spawn(mode: Mode) -> io::Result<Background> {
    spawn_using(mode, Parser::Json)
}

/// [`spawn`] with `parser` for the sio-interop modes.
pub fn spawn_using(mode: Mode, parser: Parser) -> io::Result<Background> {
    let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    let addr = listener.get_ref().local_addr()?;
    let rt = SmolRuntime::new();
    let engine = engine(mode, parser, &rt);
    let (stop, stopped) = oneshot::channel::<()>();
    let e = engine.clone();
    let thread = std::thread::spawn(move || {
        rt.block_on(THREADS, async move {
            let serve = async move {
                let _ = e.serve(listener).await;
            };
            // Ends when the sender drops.
            let stopped = async move {
                let _ = stopped.await;
            };
            futures_lite::future::or(serve, stopped).await
        });
        // Cancels the connection and session tasks left: their sockets close.
        rt.shutdown();
    });
    Ok(Background {
        addr,
        engine,
        stop: Some(stop),
        thread: Some(thread),
    })
}

impl Drop for Background {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
