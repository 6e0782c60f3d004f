//! The `CertExtractor` filter: copies a field of a client certificate into a request header.
//!
//! On a mutual-TLS connection the HTTPServer hands the client's certificate chain to the
//! request ([`eg_protocols::PeerCertificates`]). The filter takes certificate `certIndex` of
//! that chain (0 = the client's own; negative counts from the end; the index wraps around
//! the chain's length, as in Easegress), reads `field` of its `subject` or `issuer` and adds
//! each non-empty value as a `headerKey` request header. Requests without client
//! certificates, and certificates that do not parse, pass unchanged. The result is always
//! `""`.

mod der;
#[cfg(test)]
mod tests;

use std::any::Any;

use eg_protocols::Context;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::{decode_filter_spec, header_name};

/// The kind name.
pub const KIND_NAME: &str = "CertExtractor";

/// The `CertExtractor` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "CertExtractor extracts given field from TLS certificates and sets it to request headers.",
    &[],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<CertExtractorSpec>);

/// The `field` names, as Go's `pkix.Name` spells them.
pub const FIELDS: [&str; 9] = [
    "Country",
    "Organization",
    "OrganizationalUnit",
    "Locality",
    "Province",
    "StreetAddress",
    "PostalCode",
    "SerialNumber",
    "CommonName",
];

/// `CertExtractor` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertExtractorSpec {
    /// Which certificate of the client's chain: 0 (default) is the client's own, -1 the
    /// last one sent; wraps around the chain's length.
    #[serde(default)]
    pub cert_index: i16,
    /// `subject` or `issuer`. Required.
    #[serde(default)]
    pub target: String,
    /// `Country`, `Organization`, `OrganizationalUnit`, `Locality`, `Province`,
    /// `StreetAddress`, `PostalCode`, `SerialNumber` or `CommonName`. Required.
    #[serde(default)]
    pub field: String,
    /// The request header to add. Default: `tls-<target>-<field>`.
    #[serde(default)]
    pub header_key: String,
}

fn default_spec() -> Value {
    json!({})
}

/// The running filter.
#[derive(Debug)]
pub struct CertExtractor {
    index: i16,
    issuer: bool,
    /// The attribute `2.5.4.<attr>`.
    attr: u8,
    /// `CommonName` and `SerialNumber` hold one value (the last one), the others all.
    single: bool,
    header: HeaderName,
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<CertExtractorSpec>(spec)?.into_parts();
    Ok(Built::new(
        CertExtractor::compile(&s, &spec.path)?,
        warnings,
    ))
}

impl CertExtractor {
    /// Checks and compiles `s`; errors name fields under `path`.
    pub fn compile(s: &CertExtractorSpec, path: &str) -> Result<CertExtractor, SpecError> {
        let issuer = match s.target.as_str() {
            "subject" => false,
            "issuer" => true,
            "" => return Err(SpecError::new(join_path(path, "target"), "required")),
            other => {
                return Err(SpecError::new(
                    join_path(path, "target"),
                    format!("{other:?} is not one of subject, issuer"),
                ))
            }
        };
        let attr = match s.field.as_str() {
            "Country" => 6,
            "Organization" => 10,
            "OrganizationalUnit" => 11,
            "Locality" => 7,
            "Province" => 8,
            "StreetAddress" => 9,
            "PostalCode" => 17,
            "SerialNumber" => 5,
            "CommonName" => 3,
            "" => return Err(SpecError::new(join_path(path, "field"), "required")),
            other => {
                return Err(SpecError::new(
                    join_path(path, "field"),
                    format!("{other:?} is not one of {}", FIELDS.join(", ")),
                ))
            }
        };
        let key = if s.header_key.is_empty() {
            format!("tls-{}-{}", s.target, s.field)
        } else {
            s.header_key.clone()
        };
        Ok(CertExtractor {
            index: s.cert_index,
            issuer,
            single: matches!(s.field.as_str(), "CommonName" | "SerialNumber"),
            attr,
            header: header_name(&key, &join_path(path, "headerKey"))?,
        })
    }

    /// The non-empty values of the configured field in the DER `Name` contents `name`.
    fn values(&self, name: &[u8]) -> Vec<String> {
        let mut out = der::attribute_values(name, self.attr);
        if self.single && out.len() > 1 {
            out.drain(..out.len() - 1);
        }
        out.retain(|v| !v.is_empty());
        out
    }
}

/// Index `index` (negative from the end, wrapping) into a chain of `n > 0` certificates,
/// as Easegress computes it with 16-bit integers.
fn wrap(index: i16, n: usize) -> usize {
    let n = i32::from(i16::try_from(n).unwrap_or(i16::MAX));
    let rel = i32::from(index) % n;
    ((n + rel) % n) as usize
}

impl Filter for CertExtractor {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request_mut() else {
            return Handled::Done("");
        };
        let certs = req.peer_certificates();
        if certs.is_empty() {
            return Handled::Done("");
        }
        let der = certs[wrap(self.index, certs.len())].clone();
        let Some((issuer, subject)) = der::names(&der) else {
            tracing::debug!("client certificate does not parse; nothing extracted");
            return Handled::Done("");
        };
        let name = if self.issuer { issuer } else { subject };
        for v in self.values(name) {
            if let Ok(value) = HeaderValue::from_str(&v) {
                req.headers_mut().append(self.header.clone(), value);
            }
        }
        Handled::Done("")
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
