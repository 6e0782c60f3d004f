//! Throwaway certificates.

use rustls_pki_types::CertificateDer;

/// A self-signed certificate and its key.
pub struct SelfSigned {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM.
    pub key_pem: String,
    /// The certificate, DER (to trust it as a root).
    pub cert_der: CertificateDer<'static>,
}

/// A self-signed certificate for `names` (DNS names or IP addresses), valid from now.
pub fn self_signed(names: &[&str]) -> SelfSigned {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let params = rcgen::CertificateParams::new(names).expect("certificate names");
    let key = rcgen::KeyPair::generate().expect("a key pair");
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    SelfSigned {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().clone(),
    }
}
