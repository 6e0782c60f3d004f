//! Upstream TLS: verified by default, `insecureSkipVerify` to turn it off, `mtls`.
//!
//! The fixtures in `tls/` are a test CA, a server certificate for `localhost`/127.0.0.1 and
//! a client certificate, all signed by that CA (valid for 100 years).

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use super::*;

const CA: &str = include_str!("tls/ca.pem");
const SERVER_CERT: &str = include_str!("tls/server.pem");
const SERVER_KEY: &str = include_str!("tls/server.key");
const CLIENT_CERT: &str = include_str!("tls/client.pem");
const CLIENT_KEY: &str = include_str!("tls/client.key");

fn acceptor(require_client_cert: bool) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(SERVER_CERT.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).unwrap();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(CA.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let cfg = builder.with_single_cert(certs, key).unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn https_doc(up: &Upstream, extra: Value) -> Value {
    let mut d = json!({"pools": [{"servers": [{"url": format!("https://{}", up.addr)}]}]});
    merge(&mut d, extra);
    d
}

#[tokio::test]
async fn upstream_certificates_are_verified_by_default() {
    let up = Upstream::start_with(Some(acceptor(false)), |_| Reply::text(200, "secure")).await;
    // The test CA is not a public root: verification fails.
    let p = proxy(https_doc(&up, json!({})));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
    assert_eq!(response(&c).status, 503);
    assert_eq!(up.hits(), 0);

    // Explicitly turned off.
    let p = proxy(https_doc(&up, json!({"insecureSkipVerify": true})));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await, "secure");

    // Per pool.
    let mut d = https_doc(&up, json!({}));
    d["pools"][0]["insecureSkipVerify"] = json!(true);
    let p = proxy(d);
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
}

#[tokio::test]
async fn mtls_presents_the_client_certificate_and_trusts_the_given_root() {
    let up = Upstream::start_with(Some(acceptor(true)), |_| Reply::text(200, "mutual")).await;
    let mtls = json!({"mtls": {"certBase64": b64(CLIENT_CERT), "keyBase64": b64(CLIENT_KEY),
        "rootCertBase64": b64(CA)}});
    let p = proxy(https_doc(&up, mtls));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await, "mutual");

    // Without the client certificate the server refuses the handshake.
    let p = proxy(https_doc(&up, json!({"insecureSkipVerify": true})));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
}
