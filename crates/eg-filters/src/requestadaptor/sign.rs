//! The RequestAdaptor's `sign`: signs the adapted request with the AWS-SigV4-compatible
//! signer (see [`crate::signer`]), as the last step. `apiProvider: aws4` gives AWS's
//! names (`AWS4-HMAC-SHA256`, `X-Amz-*`, `aws4_request`, key prefix `AWS4`) in place of
//! `literal` and `headerHoisting`.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use eg_protocols::{Body, HttpRequest};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use serde::Deserialize;

use crate::signer::{HeaderHoistingSpec, Hoisting, Literal, LiteralSpec, Signer, SignerSpec};

/// Returned when the request could not be signed (its body could not be read, or a
/// signing text is not valid in a header).
pub const RESULT_SIGN_FAILED: &str = "signFailed";

/// `sign` fields: the signer's, plus `apiProvider` and `scopes`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestSignSpec {
    /// `aws4` for AWS's literals and header hoisting (they replace `literal` and
    /// `headerHoisting`). Default: none.
    #[serde(default)]
    pub api_provider: String,
    /// Credential scopes between the date and the suffix, e.g. `[us-east-1, s3]`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Header and query names. Default: Easegress's `X-…` set.
    #[serde(default)]
    pub literal: Option<LiteralSpec>,
    /// Header hoisting (used by presigned URLs only; kept for Easegress compatibility).
    #[serde(default)]
    pub header_hoisting: Option<HeaderHoistingSpec>,
    /// Headers not signed, besides `Authorization` and `User-Agent`.
    #[serde(default)]
    pub ignored_headers: Vec<String>,
    /// Sign `UNSIGNED-PAYLOAD` instead of the body's hash. Default false.
    #[serde(default)]
    pub exclude_body: bool,
    /// Accepted for Easegress compatibility; signing does not use it.
    #[serde(default)]
    pub ttl: String,
    /// The access key id (required).
    #[serde(default)]
    pub access_key_id: String,
    /// The secret of `accessKeyId`.
    #[serde(default)]
    pub access_key_secret: String,
    /// Accepted for Easegress compatibility; signing does not use it.
    #[serde(default)]
    pub access_keys: BTreeMap<String, String>,
}

/// A compiled `sign`.
pub(super) struct RequestSigner {
    signer: Signer,
    scopes: Vec<String>,
}

impl RequestSigner {
    /// Checks and compiles the spec; errors name `path.<field>`.
    pub(super) fn compile(s: &RequestSignSpec, path: &str) -> Result<RequestSigner, SpecError> {
        let spec = SignerSpec {
            literal: s.literal.clone(),
            header_hoisting: s.header_hoisting.clone(),
            ignored_headers: s.ignored_headers.clone(),
            exclude_body: s.exclude_body,
            ttl: s.ttl.clone(),
            access_key_id: s.access_key_id.clone(),
            access_key_secret: s.access_key_secret.clone(),
            access_keys: s.access_keys.clone(),
        };
        let mut signer = Signer::compile(&spec, path)?;
        match s.api_provider.as_str() {
            "" => {}
            "aws4" => signer = signer.with_preset(Literal::aws4(), Hoisting::aws4()),
            other => {
                return Err(SpecError::new(
                    join_path(path, "apiProvider"),
                    format!("{other:?} is not a supported API provider"),
                ))
            }
        }
        let bad_text = |t: &str| {
            t.is_empty() || t.contains(['/', ',', ' ', '\n', '\r', '\t']) || !t.is_ascii()
        };
        if s.access_key_id.is_empty() || bad_text(&s.access_key_id) {
            return Err(SpecError::new(
                join_path(path, "accessKeyId"),
                "required, without '/', ',' or spaces",
            ));
        }
        for (i, scope) in s.scopes.iter().enumerate() {
            if bad_text(scope) {
                return Err(SpecError::new(
                    format!("{}[{i}]", join_path(path, "scopes")),
                    format!("{scope:?} must be non-empty ASCII without '/', ',' or spaces"),
                ));
            }
        }
        Ok(RequestSigner {
            signer,
            scopes: s.scopes.clone(),
        })
    }

    /// Whether the body is never signed (so it need not be read first).
    pub(super) fn excludes_body(&self) -> bool {
        self.signer.excludes_body()
    }

    /// Signs `req` now; a body that is still a stream is not signed.
    pub(super) fn sign(&self, req: &mut HttpRequest) -> Result<(), String> {
        let HttpRequest { head, body } = req;
        let bytes: Option<&[u8]> = match body {
            Body::Empty => Some(&[]),
            b => b.bytes().map(|b| &b[..]),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.signer.sign(head, bytes, now, &self.scopes)
    }
}
