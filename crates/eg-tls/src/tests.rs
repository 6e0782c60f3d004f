use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::*;

#[test]
fn the_provider_is_the_one_the_build_selected() {
    let p = provider();
    assert!(Arc::ptr_eq(&p, &provider()), "one instance a process");
    let x25519 = p
        .kx_groups
        .iter()
        .any(|g| g.name() == rustls::NamedGroup::X25519);
    assert!(x25519, "X25519 is offered");
    let aws_lc = cfg!(feature = "crypto-aws-lc");
    assert_eq!(PROVIDER_NAME == "aws-lc-rs", aws_lc);
    install_process_default();
    install_process_default();
    assert!(CryptoProvider::get_default().is_some());
}

/// A TLS 1.3 handshake and a round trip, both ends built on [`provider`].
#[tokio::test(flavor = "current_thread")]
async fn both_ends_handshake_on_the_provider() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let der = CertificateDer::from(cert.cert.der().to_vec());
    let key = PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der());

    let server = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key.into())
        .expect("server config");
    let mut roots = RootCertStore::empty();
    roots.add(der).expect("root");
    let client = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();

    let (a, b) = tokio::io::duplex(64 * 1024);
    let acceptor = TlsAcceptor::from(Arc::new(server));
    let served = tokio::spawn(async move {
        let mut tls = acceptor.accept(b).await.expect("accept");
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.expect("read");
        tls.write_all(&buf).await.expect("write");
        tls.flush().await.expect("flush");
    });
    let connector = TlsConnector::from(Arc::new(client));
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, a).await.expect("connect");
    assert_eq!(
        tls.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    tls.write_all(b"ping").await.expect("write");
    let mut back = [0u8; 4];
    tls.read_exact(&mut back).await.expect("read");
    assert_eq!(&back, b"ping");
    served.await.expect("server task");
}
