//! The admin API over HTTPS (`--tls --cert-file --key-file`).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use support::{http, Server};

#[test]
fn admin_api_serves_https_with_the_given_certificate() {
    let params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let der: CertificateDer<'static> = cert.der().clone();

    let mut s = Server::new("tls-api");
    let (cert_file, key_file) = (s.path("api.crt"), s.path("api.key"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    s.extra = vec![
        "--tls".into(),
        "--cert-file".into(),
        cert_file.display().to_string(),
        "--key-file".into(),
        key_file.display().to_string(),
    ];
    // Start without the readiness poll (it speaks plain HTTP) and poll over TLS instead.
    std::fs::create_dir_all(s.home()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    s.spawn_only();
    let addr = s.api_addr();
    let get = |path: &str| -> std::io::Result<String> {
        let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
        let conn =
            rustls::ClientConnection::new(cfg.clone(), name).map_err(std::io::Error::other)?;
        let tcp = TcpStream::connect(&addr)?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        write!(
            tls,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )?;
        let mut out = String::new();
        let _ = tls.read_to_string(&mut out);
        Ok(out)
    };
    let answer = support::eventually(support::START_TIMEOUT, || {
        get("/apis/v2/healthz")
            .ok()
            .filter(|a| a.starts_with("HTTP/1.1 200"))
    });
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let members = get("/apis/v2/status/members").unwrap();
    assert!(members.contains("\"TLS\":true"), "{members}");
    // Plain HTTP is not served on the TLS port.
    let plain = http(&addr, "GET", "/apis/v2/healthz", &[], "");
    assert!(plain.map(|a| a.status != 200).unwrap_or(true));
}
