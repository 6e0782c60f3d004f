//! The signer's spec fields, shared by the Validator's `signature` method and the
//! RequestAdaptor's `sign`.

use std::collections::BTreeMap;
use std::time::Duration;

use eg_spec::error::join_path;
use eg_spec::{GoDuration, SpecError};
use serde::Deserialize;

/// The names and fixed texts the signer uses; every field but `signingKeyPrefix` is
/// required when `literal` is given (it replaces the defaults as a whole).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiteralSpec {
    /// Last part of the credential scope. Default `request`.
    #[serde(default)]
    pub scope_suffix: String,
    /// Query name of the algorithm (presigned form). Default `X-Algorithm`.
    #[serde(default)]
    pub algorithm_name: String,
    /// The algorithm text in the `Authorization` header and the query. Default
    /// `HMAC-SHA256`.
    #[serde(default)]
    pub algorithm_value: String,
    /// Query name of the signed header list. Default `X-SignedHeaders`.
    #[serde(default)]
    pub signed_headers: String,
    /// Query name of the signature. Default `X-Signature`.
    #[serde(default)]
    pub signature: String,
    /// Header / query name of the request time (`20060102T150405Z`). Default `X-Date`.
    #[serde(default)]
    pub date: String,
    /// Query name of the presigned URL's lifetime in seconds. Default `X-Expires`.
    #[serde(default)]
    pub expires: String,
    /// Query name of the credential. Default `X-Credential`.
    #[serde(default)]
    pub credential: String,
    /// Header name of the body's SHA-256. Default `X-Content-Sha256`.
    #[serde(default)]
    pub content_sha256: String,
    /// Put in front of the secret when deriving the signing key. Default empty.
    #[serde(default)]
    pub signing_key_prefix: String,
}

/// Which headers a presigned URL may carry in its query instead: a header is hoisted when
/// its name starts with one of `allowedPrefix` (or that list is empty), with none of
/// `disallowedPrefix`, and is not in `disallowed`. Names compare case-insensitively.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderHoistingSpec {
    /// Prefixes of hoistable header names. Default: all.
    #[serde(default)]
    pub allowed_prefix: Vec<String>,
    /// Prefixes of names never hoisted.
    #[serde(default)]
    pub disallowed_prefix: Vec<String>,
    /// Names never hoisted.
    #[serde(default)]
    pub disallowed: Vec<String>,
}

/// The signer's fields (Easegress `signer.Spec`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignerSpec {
    /// Header and query names. Default: the `X-…` set described on each field.
    #[serde(default)]
    pub literal: Option<LiteralSpec>,
    /// Header hoisting for presigned URLs. Default: none.
    #[serde(default)]
    pub header_hoisting: Option<HeaderHoistingSpec>,
    /// Headers left out of the signature, besides `Authorization` and `User-Agent`.
    #[serde(default)]
    pub ignored_headers: Vec<String>,
    /// Sign `UNSIGNED-PAYLOAD` instead of the body's hash. Default false.
    #[serde(default)]
    pub exclude_body: bool,
    /// How far the request time may be from now when verifying (Go duration). Default
    /// (empty or `0`): no limit.
    #[serde(default)]
    pub ttl: String,
    /// The access key id used to sign.
    #[serde(default)]
    pub access_key_id: String,
    /// The secret of `accessKeyId`.
    #[serde(default)]
    pub access_key_secret: String,
    /// Access key id → secret, used to verify.
    #[serde(default)]
    pub access_keys: BTreeMap<String, String>,
}

/// The literals with owned texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    /// See [`LiteralSpec::scope_suffix`].
    pub scope_suffix: String,
    /// See [`LiteralSpec::algorithm_name`].
    pub algorithm_name: String,
    /// See [`LiteralSpec::algorithm_value`].
    pub algorithm_value: String,
    /// See [`LiteralSpec::signed_headers`].
    pub signed_headers: String,
    /// See [`LiteralSpec::signature`].
    pub signature: String,
    /// See [`LiteralSpec::date`].
    pub date: String,
    /// See [`LiteralSpec::expires`].
    pub expires: String,
    /// See [`LiteralSpec::credential`].
    pub credential: String,
    /// See [`LiteralSpec::content_sha256`].
    pub content_sha256: String,
    /// See [`LiteralSpec::signing_key_prefix`].
    pub signing_key_prefix: String,
}

impl Literal {
    /// Easegress's default literals.
    pub fn default_set() -> Literal {
        Literal::from_texts([
            "request",
            "X-Algorithm",
            "HMAC-SHA256",
            "X-SignedHeaders",
            "X-Signature",
            "X-Date",
            "X-Expires",
            "X-Credential",
            "X-Content-Sha256",
            "",
        ])
    }

    /// The literals of AWS Signature Version 4 (`apiProvider: aws4`).
    pub fn aws4() -> Literal {
        Literal::from_texts([
            "aws4_request",
            "X-Amz-Algorithm",
            "AWS4-HMAC-SHA256",
            "X-Amz-SignedHeaders",
            "X-Amz-Signature",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-Credential",
            "X-Amz-Content-Sha256",
            "AWS4",
        ])
    }

    fn from_texts(t: [&str; 10]) -> Literal {
        Literal {
            scope_suffix: t[0].into(),
            algorithm_name: t[1].into(),
            algorithm_value: t[2].into(),
            signed_headers: t[3].into(),
            signature: t[4].into(),
            date: t[5].into(),
            expires: t[6].into(),
            credential: t[7].into(),
            content_sha256: t[8].into(),
            signing_key_prefix: t[9].into(),
        }
    }

    /// Checks a spec's literals: the header names must be valid header names and the
    /// texts non-empty; errors name `path.<field>`.
    pub fn compile(s: &LiteralSpec, path: &str) -> Result<Literal, SpecError> {
        let fields = [
            ("scopeSuffix", &s.scope_suffix, false),
            ("algorithmName", &s.algorithm_name, false),
            ("algorithmValue", &s.algorithm_value, false),
            ("signedHeaders", &s.signed_headers, false),
            ("signature", &s.signature, false),
            ("date", &s.date, true),
            ("expires", &s.expires, false),
            ("credential", &s.credential, false),
            ("contentSha256", &s.content_sha256, true),
        ];
        for (name, value, header) in fields {
            if value.is_empty() {
                return Err(SpecError::new(join_path(path, name), "required"));
            }
            if value.contains(['/', ' ', '\n', '&', '=']) {
                return Err(SpecError::new(
                    join_path(path, name),
                    format!("{value:?} must not hold '/', '&', '=' or spaces"),
                ));
            }
            if header && http::HeaderName::from_bytes(value.as_bytes()).is_err() {
                return Err(SpecError::new(
                    join_path(path, name),
                    format!("{value:?} is not a valid header name"),
                ));
            }
        }
        Ok(Literal {
            scope_suffix: s.scope_suffix.clone(),
            algorithm_name: s.algorithm_name.clone(),
            algorithm_value: s.algorithm_value.clone(),
            signed_headers: s.signed_headers.clone(),
            signature: s.signature.clone(),
            date: s.date.clone(),
            expires: s.expires.clone(),
            credential: s.credential.clone(),
            content_sha256: s.content_sha256.clone(),
            signing_key_prefix: s.signing_key_prefix.clone(),
        })
    }
}

/// Header hoisting with lower-cased names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hoisting {
    /// Lower-cased allowed prefixes.
    pub allowed_prefix: Vec<String>,
    /// Lower-cased disallowed prefixes.
    pub disallowed_prefix: Vec<String>,
    /// Lower-cased disallowed names.
    pub disallowed: Vec<String>,
}

impl Hoisting {
    /// From the spec (names lower-cased).
    pub fn compile(s: &HeaderHoistingSpec) -> Hoisting {
        let lower = |v: &[String]| v.iter().map(|x| x.to_ascii_lowercase()).collect();
        Hoisting {
            allowed_prefix: lower(&s.allowed_prefix),
            disallowed_prefix: lower(&s.disallowed_prefix),
            disallowed: lower(&s.disallowed),
        }
    }

    /// Whether header `name` (lower case) moves to the query of a presigned URL.
    pub fn hoists(&self, name: &str) -> bool {
        if self.disallowed.iter().any(|d| d == name)
            || self.disallowed_prefix.iter().any(|p| name.starts_with(p))
        {
            return false;
        }
        self.allowed_prefix.is_empty() || self.allowed_prefix.iter().any(|p| name.starts_with(p))
    }

    /// The hoisting of `apiProvider: aws4`.
    pub fn aws4() -> Hoisting {
        const DISALLOWED: [&str; 39] = [
            "Cache-Control",
            "Content-Disposition",
            "Content-Encoding",
            "Content-Language",
            "Content-Md5",
            "Content-Type",
            "Expires",
            "If-Match",
            "If-Modified-Since",
            "If-None-Match",
            "If-Unmodified-Since",
            "Range",
            "X-Amz-Acl",
            "X-Amz-Copy-Source",
            "X-Amz-Copy-Source-If-Match",
            "X-Amz-Copy-Source-If-Modified-Since",
            "X-Amz-Copy-Source-If-None-Match",
            "X-Amz-Copy-Source-If-Unmodified-Since",
            "X-Amz-Copy-Source-Range",
            "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Algorithm",
            "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key",
            "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key-Md5",
            "X-Amz-Grant-Full-control",
            "X-Amz-Grant-Read",
            "X-Amz-Grant-Read-Acp",
            "X-Amz-Grant-Write",
            "X-Amz-Grant-Write-Acp",
            "X-Amz-Metadata-Directive",
            "X-Amz-Mfa",
            "X-Amz-Request-Payer",
            "X-Amz-Server-Side-Encryption",
            "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id",
            "X-Amz-Server-Side-Encryption-Customer-Algorithm",
            "X-Amz-Server-Side-Encryption-Customer-Key",
            "X-Amz-Server-Side-Encryption-Customer-Key-Md5",
            "X-Amz-Storage-Class",
            "X-Amz-Tagging",
            "X-Amz-Website-Redirect-Location",
            "X-Amz-Content-Sha256",
        ];
        Hoisting::compile(&HeaderHoistingSpec {
            allowed_prefix: vec!["X-Amz-".into()],
            disallowed_prefix: vec!["X-Amz-Meta-".into()],
            disallowed: DISALLOWED.iter().map(|s| s.to_string()).collect(),
        })
    }
}

/// Parses `ttl`; empty means none. The error names `path`.
pub fn parse_ttl(ttl: &str, path: &str) -> Result<Option<Duration>, SpecError> {
    if ttl.is_empty() {
        return Ok(None);
    }
    let d = GoDuration::parse(ttl).map_err(|e| SpecError::new(path, e))?;
    Ok((!d.get().is_zero()).then(|| d.get()))
}
