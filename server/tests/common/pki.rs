//! Test certificates and https serving for the https tests.

/// A test CA and a `localhost` certificate it signed, made with the
/// `openssl` command: (CA PEM, certificate PEM, key PEM), or `None` where
/// the command is missing.
pub fn test_pki(d: &std::path::Path) -> Option<(String, String, String)> {
    let f = |n: &str| d.join(n).to_string_lossy().into_owned();
    let ext = f("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .ok()?;
    let steps: [Vec<String>; 3] = [
        "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca -keyout"
            .split(' ')
            .map(String::from)
            .chain([f("ca.key"), "-out".into(), f("ca.pem")])
            .collect(),
        "req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout"
            .split(' ')
            .map(String::from)
            .chain([f("leaf.key"), "-out".into(), f("leaf.csr")])
            .collect(),
        "x509 -req -days 1 -CAcreateserial -in"
            .split(' ')
            .map(String::from)
            .chain([
                f("leaf.csr"),
                "-CA".into(),
                f("ca.pem"),
                "-CAkey".into(),
                f("ca.key"),
            ])
            .chain(["-extfile".into(), ext, "-out".into(), f("leaf.pem")])
            .collect(),
    ];
    for args in steps {
        let o = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .ok()?;
        if !o.status.success() {
            return None;
        }
    }
    Some((f("ca.pem"), f("leaf.pem"), f("leaf.key")))
}

/// A scratch directory's test CA (its PEM file) and a TLS acceptor of a
/// `localhost` certificate it signed; `None` (the test is skipped, and
/// says so) where the `openssl` command is missing.
pub fn test_tls() -> Option<(String, tokio_rustls::TlsAcceptor)> {
    let d = super::scratch();
    let Some((ca, cert, key)) = test_pki(&d) else {
        eprintln!("skipped: the openssl command is not available to make test certificates");
        return None;
    };
    let tls = socketio_server::http::tls_acceptor(&cert, &key).unwrap();
    Some((ca, tls))
}

/// Serves one accepted connection with `svc`, over TLS when `tls` is
/// given (a failed handshake ends it).
pub async fn serve<S, B>(
    stream: tokio::net::TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    svc: S,
) where
    S: hyper::service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use hyper_util::rt::TokioIo;
    let http = hyper::server::conn::http1::Builder::new();
    match tls {
        None => {
            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
        }
        Some(tls) => {
            if let Ok(stream) = tls.accept(stream).await {
                let _ = http.serve_connection(TokioIo::new(stream), svc).await;
            }
        }
    }
}
