//! The admin API over HTTPS (`--tls --cert-file --key-file`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use eg_testkit::{eventually, http, self_signed, Server, START_TIMEOUT};
use rustls::pki_types::{CertificateDer, ServerName};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

#[test]
fn admin_api_serves_https_with_the_given_certificate() {
    let cert = self_signed(&["127.0.0.1"]);
    let der: CertificateDer<'static> = cert.cert_der.clone();

    let mut s = Server::new(BIN, "tls-api");
    s.use_tls(&cert.cert_pem, &cert.key_pem);
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
    let answer = eventually(START_TIMEOUT, || {
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
