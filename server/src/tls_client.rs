//! The TLS client setup of every outgoing https connection (the JWKS
//! fetch, the proxies' backends): Mozilla's trust anchors (webpki-roots)
//! plus, optionally, the certificates of a PEM file (a private CA), with
//! rustls on ring and its safe default protocol versions.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio_rustls::rustls;

/// A client config trusting Mozilla's roots and every certificate of the
/// PEM file `ca_file`. Errors name the setting `knob` (say
/// `auth.jwks_ca_file`) and the file: unreadable, not PEM, or without a
/// certificate.
pub fn config(ca_file: Option<&str>, knob: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let bad = |e: &dyn std::fmt::Display| format!("{knob} {path}: {e}");
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))?;
        let mut n = 0;
        for cert in certs {
            let cert = cert.map_err(|e| bad(&e))?;
            roots.add(cert).map_err(|e| bad(&e))?;
            n += 1;
        }
        if n == 0 {
            return Err(bad(&"no certificate found"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
