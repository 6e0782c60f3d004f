//! The TLS side of upstream connections: `mtls` material, and one rustls `ClientConfig` per
//! client profile (verified against the WebPKI roots, the `mtls` roots, or not at all with
//! `insecureSkipVerify`).

use std::error::Error as StdError;
use std::sync::Arc;

use base64::Engine as _;
use eg_spec::SpecError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::client::ClientSettings;
use crate::spec::MtlsSpec;

/// Decoded `mtls` PEM texts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MtlsMaterial {
    cert: Vec<u8>,
    key: Vec<u8>,
    roots: Vec<u8>,
}

impl MtlsMaterial {
    /// Decodes and checks `spec`; errors name fields under `path` (the `mtls` field).
    pub fn from_spec(spec: &MtlsSpec, path: &str) -> Result<MtlsMaterial, SpecError> {
        let decode = |field: &str, text: &str| -> Result<Vec<u8>, SpecError> {
            if text.is_empty() {
                return Err(SpecError::new(format!("{path}.{field}"), "required"));
            }
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| SpecError::new(format!("{path}.{field}"), format!("bad base64: {e}")))
        };
        let m = MtlsMaterial {
            cert: decode("certBase64", &spec.cert_base64)?,
            key: decode("keyBase64", &spec.key_base64)?,
            roots: decode("rootCertBase64", &spec.root_cert_base64)?,
        };
        let certs = m
            .certs()
            .map_err(|e| SpecError::new(format!("{path}.certBase64"), e))?;
        if certs.is_empty() {
            return Err(SpecError::new(
                format!("{path}.certBase64"),
                "no PEM certificate found",
            ));
        }
        m.key()
            .map_err(|e| SpecError::new(format!("{path}.keyBase64"), e))?;
        let roots = m
            .roots()
            .map_err(|e| SpecError::new(format!("{path}.rootCertBase64"), e))?;
        if roots.is_empty() {
            return Err(SpecError::new(
                format!("{path}.rootCertBase64"),
                "no usable PEM CA certificate found",
            ));
        }
        Ok(m)
    }

    fn certs(&self) -> Result<Vec<CertificateDer<'static>>, String> {
        CertificateDer::pem_slice_iter(&self.cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("bad PEM certificate: {e}"))
    }

    fn key(&self) -> Result<PrivateKeyDer<'static>, String> {
        PrivateKeyDer::from_pem_slice(&self.key).map_err(|e| format!("bad PEM private key: {e}"))
    }

    fn roots(&self) -> Result<RootCertStore, String> {
        let mut store = RootCertStore::empty();
        for c in self.root_certs()? {
            store
                .add(c)
                .map_err(|e| format!("bad CA certificate: {e}"))?;
        }
        Ok(store)
    }

    fn root_certs(&self) -> Result<Vec<CertificateDer<'static>>, String> {
        CertificateDer::pem_slice_iter(&self.roots)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("bad PEM certificate: {e}"))
    }
}

pub(crate) fn tls_config(settings: &ClientSettings) -> Result<ClientConfig, String> {
    let provider = eg_tls::provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if settings.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCertificate::new(&provider)))
    } else if let Some(m) = &settings.mtls {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(m.roots()?), provider)
            .build()
            .map_err(|e| format!("bad CA certificates: {e}"))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RootsOrSelfSigned {
                inner,
                roots: m.root_certs()?,
            }))
    } else {
        builder.with_root_certificates(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
    };
    match &settings.mtls {
        Some(m) => builder
            .with_client_auth_cert(m.certs()?, m.key()?)
            .map_err(|e| format!("bad client certificate: {e}")),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// Accepts any server certificate while still checking handshake signatures: what
/// `insecureSkipVerify: true` (and the other kinds' `insecure` switches) asks for. The one
/// such verifier of the project; clients of other protocols (LDAP) use it too.
#[derive(Debug)]
pub struct AnyServerCertificate(WebPkiSupportedAlgorithms);

impl AnyServerCertificate {
    /// A verifier checking signatures with `provider`'s algorithms.
    pub fn new(provider: &CryptoProvider) -> AnyServerCertificate {
        AnyServerCertificate(provider.signature_verification_algorithms)
    }
}

impl ServerCertVerifier for AnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// Verifies upstream certificates against the `mtls` roots, and also accepts a certificate
/// that is itself one of those roots (a self-signed server certificate given as its own
/// root), as Go's `x509.Certificate.Verify` does: its validity period and the server name
/// are still checked, and handshake signatures always are. WebPKI alone refuses such a
/// certificate when it is marked as a CA (`CaUsedAsEndEntity`), which is what
/// `openssl req -x509` makes by default.
#[derive(Debug)]
struct RootsOrSelfSigned {
    inner: Arc<WebPkiServerVerifier>,
    /// The DER of every configured root.
    roots: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for RootsOrSelfSigned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let err =
            match self
                .inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
        if !self.roots.iter().any(|r| r.as_ref() == end_entity.as_ref()) {
            return Err(err);
        }
        // The reason found here, or WebPKI's when it found the same one (it says more).
        let refuse = |mine: CertificateError| {
            let same = |a: &CertificateError| {
                use CertificateError::*;
                matches!(
                    (a, &mine),
                    (Expired | ExpiredContext { .. }, Expired)
                        | (NotValidYet | NotValidYetContext { .. }, NotValidYet)
                        | (
                            NotValidForName | NotValidForNameContext { .. },
                            NotValidForName
                        )
                )
            };
            match &err {
                rustls::Error::InvalidCertificate(c) if same(c) => err.clone(),
                _ => rustls::Error::InvalidCertificate(mine),
            }
        };
        let Some((not_before, not_after)) = validity(end_entity) else {
            return Err(refuse(CertificateError::BadEncoding));
        };
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if now < not_before {
            return Err(refuse(CertificateError::NotValidYet));
        }
        if now > not_after {
            return Err(refuse(CertificateError::Expired));
        }
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| refuse(CertificateError::BadEncoding))?;
        cert.verify_is_valid_for_subject_name(server_name)
            .map_err(|_| refuse(CertificateError::NotValidForName))?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// One DER element: its tag, its contents and what follows it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || input.len() < n {
            return None;
        }
        let (bytes, rest) = input.split_at(n);
        input = rest;
        bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b))
    };
    if input.len() < len {
        return None;
    }
    let (contents, rest) = input.split_at(len);
    Some((tag, contents, rest))
}

/// The validity period (`notBefore`, `notAfter`) of a DER X.509 certificate, in seconds
/// since the Unix epoch (RFC 5280 §4.1).
fn validity(der: &[u8]) -> Option<(i64, i64)> {
    const SEQUENCE: u8 = 0x30;
    let (SEQUENCE, cert, _) = der_element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = der_element(cert)? else {
        return None;
    };
    let mut rest = tbs;
    // [0] version (optional), serialNumber, signature, issuer.
    if rest.first() == Some(&0xa0) {
        rest = der_element(rest)?.2;
    }
    for _ in 0..3 {
        rest = der_element(rest)?.2;
    }
    let (SEQUENCE, period, _) = der_element(rest)? else {
        return None;
    };
    let (not_before, rest) = der_time(period)?;
    let (not_after, _) = der_time(rest)?;
    Some((not_before, not_after))
}

/// A DER `UTCTime` or `GeneralizedTime` (`...Z`, as RFC 5280 requires) in Unix seconds.
fn der_time(input: &[u8]) -> Option<(i64, &[u8])> {
    let (tag, v, rest) = der_element(input)?;
    let num = |b: &[u8]| -> Option<i64> {
        b.iter().try_fold(0i64, |a, &d| {
            d.is_ascii_digit().then(|| a * 10 + i64::from(d - b'0'))
        })
    };
    let (year, v) = match (tag, v.len()) {
        (0x17, 13) => {
            let yy = num(&v[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &v[2..])
        }
        (0x18, 15) => (num(&v[..4])?, &v[4..]),
        _ => return None,
    };
    if v[10] != b'Z' {
        return None;
    }
    let (month, day) = (num(&v[0..2])?, num(&v[2..4])?);
    let (hour, min, sec) = (num(&v[4..6])?, num(&v[6..8])?, num(&v[8..10])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3_600 + min * 60 + sec, rest))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The certificate error in the chain of an upstream call's error, if verifying the
/// upstream's certificate is what failed.
pub fn certificate_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a CertificateError> {
    let mut src = Some(err);
    while let Some(e) = src {
        if let Some(rustls::Error::InvalidCertificate(c)) = e.downcast_ref::<rustls::Error>() {
            return Some(c);
        }
        // `io::Error::source` skips the error it wraps (TLS errors come wrapped twice).
        src = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 1, 1) * 86_400, 1_704_067_200);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn der_times() {
        let utc = b"\x17\x0d240229123456Z";
        assert_eq!(der_time(utc), Some((1_709_210_096, &[][..])));
        let gen = b"\x18\x0f20500101000000Zrest";
        assert_eq!(der_time(gen), Some((2_524_608_000, &b"rest"[..])));
        assert_eq!(
            der_time(b"\x17\x0d991231235959Z").map(|t| t.0),
            Some(946_684_799)
        );
        for bad in [
            &b"\x17\x0d2402291234560"[..],
            b"\x17\x0d241329123456Z",
            b"\x17\x0c24022912345Z",
            b"\x17\x0d24022912345",
            b"\x04\x0d240229123456Z",
            b"",
        ] {
            assert_eq!(der_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn der_elements_do_not_read_past_the_input() {
        assert_eq!(der_element(b"\x30\x05abc"), None);
        assert_eq!(der_element(b"\x30\x82\x01"), None);
        assert_eq!(der_element(b"\x30\x80"), None);
        assert_eq!(
            der_element(b"\x30\x81\x02abc"),
            Some((0x30, &b"ab"[..], &b"c"[..]))
        );
        assert_eq!(validity(b"\x30\x03\x30\x01\x00"), None);
    }
}
