//! TLS for `https: true`: certificates (one or many, chosen by SNI), optional client
//! certificates, ALPN `h2` and `http/1.1`. rustls with the server's provider (`eg_tls`).

use std::sync::Arc;

use base64::Engine as _;
use eg_spec::SpecError;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::spec::HttpServerSpec;

/// ALPN protocols offered, best first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Decodes a PEM given in base64 (Easegress's usual form) or as plain text.
fn pem_bytes(text: &str, strict_base64: bool, path: &str) -> Result<Vec<u8>, SpecError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
        Ok(b) => Ok(b),
        Err(e) if strict_base64 => Err(SpecError::new(path, format!("invalid base64: {e}"))),
        Err(_) => Ok(text.as_bytes().to_vec()),
    }
}

fn load_key_pair(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_path: &str,
    key_path: &str,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, SpecError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| SpecError::new(cert_path, format!("invalid PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(SpecError::new(cert_path, "no certificate found in the PEM"));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| SpecError::new(key_path, format!("invalid PEM private key: {e}")))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| SpecError::new(key_path, format!("unsupported private key: {e}")))?;
    let ck = CertifiedKey::new(chain, signing);
    ck.keys_match().map_err(|e| {
        SpecError::new(
            key_path,
            format!("the key does not match the certificate: {e}"),
        )
    })?;
    Ok(Arc::new(ck))
}

/// Picks the certificate valid for the client's SNI name; the first one otherwise.
#[derive(Debug)]
struct SniResolver {
    keys: Vec<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if self.keys.len() > 1 {
            if let Some(name) = hello
                .server_name()
                .and_then(|n| ServerName::try_from(n).ok())
            {
                for ck in &self.keys {
                    let Some(leaf) = ck.cert.first() else {
                        continue;
                    };
                    let valid = webpki::EndEntityCert::try_from(leaf)
                        .is_ok_and(|ee| ee.verify_is_valid_for_subject_name(&name).is_ok());
                    if valid {
                        return Some(ck.clone());
                    }
                }
            }
        }
        self.keys.first().cloned()
    }
}

/// Builds the server TLS config of `spec` (`None` when `https` is off). Errors name the
/// field: `certs.<name>`, `keys.<name>`, `certBase64`, `caCertBase64`, ...
pub(crate) fn server_config(spec: &HttpServerSpec) -> Result<Option<Arc<ServerConfig>>, SpecError> {
    if !spec.https {
        return Ok(None);
    }
    let provider = eg_tls::provider();
    let mut keys = Vec::new();
    if !spec.cert_base64.is_empty() || !spec.key_base64.is_empty() {
        if spec.cert_base64.is_empty() {
            return Err(SpecError::new(
                "certBase64",
                "keyBase64 is set, so certBase64 is required",
            ));
        }
        if spec.key_base64.is_empty() {
            return Err(SpecError::new(
                "keyBase64",
                "certBase64 is set, so keyBase64 is required",
            ));
        }
        let cert = pem_bytes(&spec.cert_base64, true, "certBase64")?;
        let key = pem_bytes(&spec.key_base64, true, "keyBase64")?;
        keys.push(load_key_pair(
            &cert,
            &key,
            "certBase64",
            "keyBase64",
            &provider,
        )?);
    }
    for (name, cert) in &spec.certs {
        let cpath = format!("certs.{name}");
        let kpath = format!("keys.{name}");
        let key = spec.keys.get(name).ok_or_else(|| {
            SpecError::new(
                &cpath,
                format!("certificate {name:?} has no key under keys.{name}"),
            )
        })?;
        let cert = pem_bytes(cert, false, &cpath)?;
        let key = pem_bytes(key, false, &kpath)?;
        keys.push(load_key_pair(&cert, &key, &cpath, &kpath, &provider)?);
    }
    if keys.is_empty() {
        return Err(SpecError::new(
            "https",
            "https is enabled but no certificate is given: set certBase64/keyBase64 or certs/keys",
        ));
    }
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| SpecError::new("https", format!("TLS setup failed: {e}")))?;
    let builder = if spec.ca_cert_base64.is_empty() {
        builder.with_no_client_auth()
    } else {
        let pem = pem_bytes(&spec.ca_cert_base64, true, "caCertBase64")?;
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&pem) {
            let c = c.map_err(|e| {
                SpecError::new("caCertBase64", format!("invalid PEM certificate: {e}"))
            })?;
            roots.add(c).map_err(|e| {
                SpecError::new("caCertBase64", format!("unusable CA certificate: {e}"))
            })?;
        }
        if roots.is_empty() {
            return Err(SpecError::new(
                "caCertBase64",
                "no certificate found in the PEM",
            ));
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| {
                SpecError::new(
                    "caCertBase64",
                    format!("client verification setup failed: {e}"),
                )
            })?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder.with_cert_resolver(Arc::new(SniResolver { keys }));
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Some(Arc::new(config)))
}
