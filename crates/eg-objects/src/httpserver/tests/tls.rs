//! HTTPS: HTTP/1.1 and HTTP/2 over TLS, SNI, client certificates.

use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::json;

use super::*;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A self-signed certificate for `name` and its key, both as base64 of their PEM text (the
/// form of `certBase64`/`keyBase64`).
pub(super) fn self_signed(name: &str) -> (String, String) {
    let cert = eg_testkit::self_signed(&[name]);
    (b64(&cert.cert_pem), b64(&cert.key_pem))
}

/// A test CA issuing server and client certificates.
struct Pki {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
}

struct Leaf {
    pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
    key_der: PrivateKeyDer<'static>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Pki {
            ca_pem: cert.pem(),
            ca_der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    fn leaf(&self, names: &[&str], client: bool) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        if client {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        }
    }

    fn client(&self, alpn: &[&[u8]], auth: Option<&Leaf>) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots);
        let mut cfg = match auth {
            Some(l) => builder
                .with_client_auth_cert(vec![l.der.clone()], l.key_der.clone_key())
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(cfg)
    }
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

async fn connect(port: u16, cfg: Arc<ClientConfig>, sni: &str) -> std::io::Result<Tls> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from(sni.to_string()).unwrap();
    tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
}

/// Sends `GET path` over TLS with the negotiated protocol.
async fn tls_get(port: u16, cfg: Arc<ClientConfig>, sni: &str, path: &str) -> Result<Resp, String> {
    let tls = connect(port, cfg, sni).await.map_err(|e| e.to_string())?;
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    if h2 {
        let (mut send, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            TokioIo::new(tls),
        )
        .await
        .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let uri = format!("https://{sni}:{port}{path}");
        let req = http::Request::get(uri).body(TestBody::empty()).unwrap();
        let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
        Ok(collect(resp).await)
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let req = http::Request::get(path)
            .header("host", sni)
            .body(TestBody::empty())
            .unwrap();
        let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
        Ok(collect(resp).await)
    }
}

fn routes() -> Value {
    json!([{"paths": [{"backend": "pl"}]}])
}

#[tokio::test]
async fn https_serves_http1_and_http2() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["localhost"], false);
    let sup = supervisor(None);
    apply(&sup, echo("pl", "tls"));
    let port = free_port();
    start(
        &sup,
        server(
            "hs",
            port,
            json!({"https": true, "certBase64": b64(&leaf.pem), "keyBase64": b64(&leaf.key_pem), "rules": routes()}),
        ),
    )
    .await;
    let r = tls_get(
        port,
        pki.client(&[b"h2", b"http/1.1"], None),
        "localhost",
        "/a",
    )
    .await
    .unwrap();
    assert_eq!(
        (r.version, r.server()),
        (Version::HTTP_2, "tls".to_string())
    );
    let r = tls_get(port, pki.client(&[b"http/1.1"], None), "localhost", "/b")
        .await
        .unwrap();
    assert_eq!(
        (r.version, r.server()),
        (Version::HTTP_11, "tls".to_string())
    );
    let r = tls_get(port, pki.client(&[], None), "localhost", "/c")
        .await
        .unwrap();
    assert_eq!(r.version, Version::HTTP_11);
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let handshake = hyper::client::conn::http1::handshake::<_, TestBody>(TokioIo::new(plain)).await;
    if let Ok((mut send, conn)) = handshake {
        tokio::spawn(conn);
        let req = http::Request::get("/")
            .header("host", "x")
            .body(TestBody::empty())
            .unwrap();
        assert!(send.send_request(req).await.is_err());
    }
}

#[tokio::test]
async fn sni_chooses_the_certificate() {
    let pki = Pki::new();
    let a = pki.leaf(&["a.test"], false);
    let b = pki.leaf(&["b.test", "*.b.test"], false);
    let sup = supervisor(None);
    apply(&sup, echo("pl", "sni"));
    let port = free_port();
    start(
        &sup,
        server(
            "hs",
            port,
            json!({"https": true,
                   "certs": {"a": b64(&a.pem), "b": b.pem},
                   "keys": {"a": b64(&a.key_pem), "b": b.key_pem},
                   "rules": routes()}),
        ),
    )
    .await;
    for (sni, want) in [("a.test", &a.der), ("b.test", &b.der), ("x.b.test", &b.der)] {
        let tls = connect(port, pki.client(&[b"http/1.1"], None), sni)
            .await
            .unwrap();
        let got = &tls.get_ref().1.peer_certificates().unwrap()[0];
        assert_eq!(got, want, "certificate for {sni}");
    }
    assert_eq!(
        tls_get(port, pki.client(&[b"h2"], None), "b.test", "/")
            .await
            .unwrap()
            .server(),
        "sni"
    );
}

#[tokio::test]
async fn client_certificates_are_required_with_a_ca() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["localhost"], false);
    let client = pki.leaf(&["client"], true);
    let other_ca = Pki::new();
    let stranger = other_ca.leaf(&["client"], true);
    let sup = supervisor(None);
    apply(&sup, echo("pl", "mtls"));
    let port = free_port();
    start(
        &sup,
        server(
            "hs",
            port,
            json!({"https": true, "certBase64": b64(&leaf.pem), "keyBase64": b64(&leaf.key_pem),
                   "caCertBase64": b64(&pki.ca_pem), "rules": routes()}),
        ),
    )
    .await;
    let ok = tls_get(
        port,
        pki.client(&[b"http/1.1"], Some(&client)),
        "localhost",
        "/",
    )
    .await;
    assert_eq!(ok.unwrap().server(), "mtls");
    assert!(
        tls_get(port, pki.client(&[b"http/1.1"], None), "localhost", "/")
            .await
            .is_err()
    );
    assert!(tls_get(
        port,
        pki.client(&[b"h2"], Some(&stranger)),
        "localhost",
        "/"
    )
    .await
    .is_err());
}

/// The client certificate of a mutual-TLS connection reaches the filters: CertExtractor
/// copies its subject's common name (and its issuer's) into request headers, over HTTP/1.1
/// and HTTP/2.
#[tokio::test]
async fn client_certificate_fields_reach_filters() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["localhost"], false);
    let mut params = CertificateParams::new(vec!["client".to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "client-a");
    dn.push(rcgen::DnType::OrganizationName, "Org A");
    params.distinguished_name = dn;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &pki.issuer).unwrap();
    let client = Leaf {
        pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().clone(),
        key_der: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    };
    let sup = supervisor(None);
    apply(
        &sup,
        json!({
            "name": "pl", "kind": "Pipeline",
            "flow": [{"filter": "cn"}, {"filter": "org"}, {"filter": "echo"}],
            "filters": [
                {"name": "cn", "kind": "CertExtractor", "target": "subject",
                 "field": "CommonName", "headerKey": "X-Client-CN"},
                {"name": "org", "kind": "CertExtractor", "certIndex": -1,
                 "target": "subject", "field": "Organization"},
                {"name": "echo", "kind": "Echo", "label": "mtls"},
            ],
        }),
    );
    let port = free_port();
    start(
        &sup,
        server(
            "hs",
            port,
            json!({"https": true, "certBase64": b64(&leaf.pem), "keyBase64": b64(&leaf.key_pem),
                   "caCertBase64": b64(&pki.ca_pem), "rules": routes()}),
        ),
    )
    .await;
    for alpn in [&b"http/1.1"[..], &b"h2"[..]] {
        let resp = tls_get(port, pki.client(&[alpn], Some(&client)), "localhost", "/")
            .await
            .unwrap();
        let headers = &resp.json()["headers"];
        assert_eq!(headers["x-client-cn"], "client-a", "{resp:?}");
        assert_eq!(headers["tls-subject-organization"], "Org A", "{resp:?}");
    }
}

#[tokio::test]
async fn tls_validation_names_the_field() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["localhost"], false);
    let other = pki.leaf(&["localhost"], false);
    let sup = supervisor(None);
    let cases = [
        (json!({"https": true}), "https"),
        (
            json!({"https": true, "certBase64": "!!", "keyBase64": b64(&leaf.key_pem)}),
            "certBase64",
        ),
        (
            json!({"https": true, "certBase64": b64(&leaf.pem)}),
            "keyBase64",
        ),
        (
            json!({"https": true, "certBase64": b64(&leaf.pem), "keyBase64": b64(&other.key_pem)}),
            "keyBase64",
        ),
        (
            json!({"https": true, "certs": {"x": b64(&leaf.pem)}, "keys": {}}),
            "certs.x",
        ),
        (
            json!({"https": true, "certs": {"x": "junk"}, "keys": {"x": b64(&leaf.key_pem)}}),
            "certs.x",
        ),
        (
            json!({"https": true, "certBase64": b64(&leaf.pem), "keyBase64": b64(&leaf.key_pem), "caCertBase64": b64("nothing")}),
            "caCertBase64",
        ),
    ];
    for (fields, path) in cases {
        let err = validation::validate(&sup, server("hs", 1, fields.clone())).unwrap_err();
        assert_eq!(err.path, path, "{fields}: {err}");
    }
}
