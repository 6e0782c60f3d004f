//! Upstream TLS: verified by default, `insecureSkipVerify` to turn it off, `mtls`.
//!
//! The fixtures in `tls/` are a test CA, a server certificate for `localhost`/127.0.0.1 and
//! a client certificate, all signed by that CA (valid for 100 years). Self-signed server
//! certificates are made on the fly.

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
    acceptor_for(SERVER_CERT, SERVER_KEY, require_client_cert)
}

pub(crate) fn acceptor_for(
    cert: &str,
    key: &str,
    require_client_cert: bool,
) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
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

/// A self-signed certificate and its key (PEM) for `names`; marked as a CA when `ca` (as
/// `openssl req -x509` makes them); valid between the given years (default: now ± 1 day).
fn self_signed(names: &[&str], ca: bool, years: Option<(i32, i32)>) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    if let Some((from, to)) = years {
        params.not_before = rcgen::date_time_ymd(from, 1, 1);
        params.not_after = rcgen::date_time_ymd(to, 1, 1);
    }
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// `mtls` trusting only `root` (the client certificate is not asked for).
fn mtls_root(root: &str) -> Value {
    json!({"mtls": {"certBase64": b64(CLIENT_CERT), "keyBase64": b64(CLIENT_KEY),
        "rootCertBase64": b64(root)}})
}

#[tokio::test]
async fn a_self_signed_certificate_given_as_its_own_root_is_trusted() {
    for ca in [true, false] {
        let (cert, key) = self_signed(&["localhost", "127.0.0.1"], ca, None);
        let up = Upstream::start_with(Some(acceptor_for(&cert, &key, false)), |_| {
            Reply::text(200, "self")
        })
        .await;
        let p = proxy(https_doc(&up, mtls_root(&cert)));
        let mut c = ctx("GET", "/", &[]);
        assert_eq!(run(&p, &mut c).await, "", "ca: {ca}");
        assert_eq!(body_text(&mut c).await, "self");

        // Another root does not vouch for it.
        let p = proxy(https_doc(&up, mtls_root(CA)));
        let mut c = ctx("GET", "/", &[]);
        assert_eq!(run(&p, &mut c).await, "serverError", "ca: {ca}");
        assert_eq!(response(&c).status, 503);
        assert_eq!(up.hits(), 1);
    }
}

#[tokio::test]
async fn a_self_signed_root_still_needs_the_right_name_and_dates() {
    for (names, years) in [
        (&["example.com"][..], None),
        (&["localhost", "127.0.0.1"][..], Some((2000, 2001))),
        (&["localhost", "127.0.0.1"][..], Some((2090, 2100))),
    ] {
        let (cert, key) = self_signed(names, true, years);
        let up = Upstream::start_with(Some(acceptor_for(&cert, &key, false)), |_| {
            Reply::text(200, "self")
        })
        .await;
        let p = proxy(https_doc(&up, mtls_root(&cert)));
        let mut c = ctx("GET", "/", &[]);
        assert_eq!(run(&p, &mut c).await, "serverError", "{names:?} {years:?}");
        assert_eq!(response(&c).status, 503);
        assert_eq!(up.hits(), 0);
    }
}

/// Log lines written while the guard lives, on this thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let w = logs.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || w.clone())
            .finish();
        (logs, tracing::subscriber::set_default(sub))
    }

    fn lines(&self, containing: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock())
            .lines()
            .filter(|l| l.contains(containing))
            .map(str::to_string)
            .collect()
    }
}

#[tokio::test]
async fn certificate_failures_are_logged_once_per_period() {
    let (logs, _guard) = Logs::capture();
    let up = Upstream::start_with(Some(acceptor(false)), |_| Reply::text(200, "secure")).await;
    // tracing caches, for the whole process, whether any subscriber wants a log statement.
    // A test on another thread that reaches this statement first, just as this one installs
    // its subscriber, can leave "nobody" in that cache (tracing-core takes its list of
    // subscribers before it stores the answer). The cache is rebuilt before each try, and
    // a try that logged nothing is made again with a new proxy, whose pacing starts afresh.
    let mut lines = Vec::new();
    for _ in 0..20 {
        tracing::callsite::rebuild_interest_cache();
        let p = proxy(https_doc(&up, json!({})));
        for _ in 0..3 {
            let mut c = ctx("GET", "/", &[]);
            assert_eq!(run(&p, &mut c).await, "serverError");
        }
        lines = logs.lines("certificate verification failed");
        if !lines.is_empty() {
            break;
        }
    }
    // Three failures of one server, one warning.
    assert_eq!(lines.len(), 1, "{lines:?}");
    let url = format!("https://{}", up.addr);
    assert!(lines[0].contains("WARN"), "{}", lines[0]);
    assert!(lines[0].contains(&url), "{}", lines[0]);
    assert!(lines[0].contains("UnknownIssuer"), "{}", lines[0]);
    assert!(lines[0].contains("proxy#proxy#main"), "{}", lines[0]);

    // The name is checked too, and said.
    let (cert, key) = self_signed(&["example.com"], false, None);
    let up = Upstream::start_with(Some(acceptor_for(&cert, &key, false)), |_| {
        Reply::text(200, "self")
    })
    .await;
    let p = proxy(https_doc(&up, mtls_root(&cert)));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
    let lines = logs.lines("certificate verification failed");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains("not valid for name"), "{}", lines[1]);
}
