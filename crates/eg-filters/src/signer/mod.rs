//! An HTTP request signer compatible with AWS Signature Version 4, with the header and
//! query names configurable (Easegress's `signer` package): the Validator's `signature`
//! method verifies with it and the RequestAdaptor's `sign` signs with it.
//!
//! A signature is the HMAC-SHA256, under a key derived from the secret, the date, the
//! scopes and the scope suffix, of the algorithm, the request time, the credential scope and
//! the SHA-256 of the canonical request (method, URI, sorted query, signed headers and the
//! body's SHA-256 or `UNSIGNED-PAYLOAD`). A signed request carries it either in
//! `Authorization: <algorithm> Credential=<id>/<scope>, SignedHeaders=<a;b>,
//! Signature=<hex>` with the time in the date header, or (presigned) in the query.

mod canonical;
pub mod spec;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::header::{AUTHORIZATION, HOST, TRANSFER_ENCODING};
use http::request::Parts;
use http::{HeaderName, HeaderValue};
use ring::{digest, hmac};

pub use spec::{HeaderHoistingSpec, Hoisting, Literal, LiteralSpec, SignerSpec};

use canonical::{canonical_uri, canonical_value, encode_query, hex, parse_query, unhex_lower};

/// The body hash written when the body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";
const INVALID_HEADER: &str = "invalid header format: ";
const INVALID_QUERY: &str = "invalid query value: ";

/// A compiled signer.
#[derive(Debug, Clone)]
pub struct Signer {
    literal: Literal,
    /// Lower-cased names never signed.
    ignored: Vec<String>,
    hoisting: Option<Hoisting>,
    ttl: Option<Duration>,
    exclude_body: bool,
    access_key_id: String,
    access_key_secret: String,
    access_keys: HashMap<String, String>,
}

/// What signing or verifying one request works out.
struct Work {
    /// Unix seconds of the request time.
    time: i64,
    scopes: Vec<String>,
    presign: bool,
    expires: u64,
    access_key_id: String,
    signed_headers: String,
    canonical_headers: String,
    body_hash: String,
    query: Vec<(Vec<u8>, Vec<u8>)>,
}

fn format_time(secs: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format(format).to_string())
        .unwrap_or_default()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Signer {
    /// Compiles a spec; errors name `path.<field>` (`literal.*`, `ttl`).
    pub fn compile(s: &SignerSpec, path: &str) -> Result<Signer, SpecError> {
        let literal = match &s.literal {
            Some(l) => Literal::compile(l, &join_path(path, "literal"))?,
            None => Literal::default_set(),
        };
        let mut ignored = vec!["authorization".to_string(), "user-agent".to_string()];
        ignored.extend(s.ignored_headers.iter().map(|h| h.to_ascii_lowercase()));
        Ok(Signer {
            literal,
            ignored,
            hoisting: s.header_hoisting.as_ref().map(Hoisting::compile),
            ttl: spec::parse_ttl(&s.ttl, &join_path(path, "ttl"))?,
            exclude_body: s.exclude_body,
            access_key_id: s.access_key_id.clone(),
            access_key_secret: s.access_key_secret.clone(),
            access_keys: s
                .access_keys
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    /// Replaces the literals and the header hoisting (an `apiProvider` preset).
    pub fn with_preset(mut self, literal: Literal, hoisting: Hoisting) -> Signer {
        self.literal = literal;
        self.hoisting = Some(hoisting);
        self
    }

    /// Whether access keys to verify with are configured.
    pub fn can_verify(&self) -> bool {
        !self.access_keys.is_empty()
    }

    /// Whether the body is left out of signatures whatever the request.
    pub fn excludes_body(&self) -> bool {
        self.exclude_body
    }

    fn scope_string(&self, w: &Work) -> String {
        let mut s = format_time(w.time, "%Y%m%d");
        for scope in &w.scopes {
            s.push('/');
            s.push_str(scope);
        }
        s.push('/');
        s.push_str(&self.literal.scope_suffix);
        s
    }

    fn signing_key(&self, secret: &str, w: &Work) -> hmac::Key {
        let mut key = format!("{}{secret}", self.literal.signing_key_prefix).into_bytes();
        let date = format_time(w.time, "%Y%m%d");
        let parts = std::iter::once(date.as_str())
            .chain(w.scopes.iter().map(String::as_str))
            .chain(std::iter::once(self.literal.scope_suffix.as_str()));
        for part in parts {
            let k = hmac::Key::new(hmac::HMAC_SHA256, &key);
            key = hmac::sign(&k, part.as_bytes()).as_ref().to_vec();
        }
        hmac::Key::new(hmac::HMAC_SHA256, &key)
    }

    /// The canonical query: the signature left out; in a presigned request the signing
    /// parameters set to the values worked out, otherwise left out.
    fn canonical_query(&self, w: &mut Work, scope: &str) -> String {
        let l = &self.literal;
        let names = [
            &l.signature,
            &l.algorithm_name,
            &l.credential,
            &l.date,
            &l.expires,
            &l.signed_headers,
        ];
        w.query
            .retain(|(k, _)| !names.iter().any(|n| k == n.as_bytes()));
        if w.presign {
            let set = [
                (&l.algorithm_name, l.algorithm_value.clone()),
                (&l.date, format_time(w.time, TIME_FORMAT)),
                (&l.credential, format!("{}/{scope}", w.access_key_id)),
                (&l.expires, w.expires.to_string()),
                (&l.signed_headers, w.signed_headers.clone()),
            ];
            for (k, v) in set {
                w.query.push((k.as_bytes().to_vec(), v.into_bytes()));
            }
        }
        encode_query(&mut w.query)
    }

    /// The string to sign of the request.
    fn string_to_sign(&self, parts: &Parts, w: &mut Work) -> String {
        let scope = self.scope_string(w);
        let query = self.canonical_query(w, &scope);
        let canonical = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            parts.method,
            canonical_uri(parts.uri.path()),
            query,
            w.canonical_headers,
            w.signed_headers,
            w.body_hash
        );
        format!(
            "{}\n{}\n{}\n{}",
            self.literal.algorithm_value,
            format_time(w.time, TIME_FORMAT),
            scope,
            sha256_hex(canonical.as_bytes())
        )
    }

    /// Signed header names and canonical headers of every header not ignored, `host` first
    /// among equals; in a presigned request hoistable headers go to the query instead.
    fn collect_headers(&self, parts: &Parts, w: &mut Work) {
        let mut headers = vec![(
            "host".to_string(),
            canonical::host(&parts.headers, parts.uri.authority().map(|a| a.as_str())),
        )];
        for name in parts.headers.keys() {
            let n = name.as_str();
            if name == HOST || name == TRANSFER_ENCODING || self.ignored.iter().any(|i| i == n) {
                continue;
            }
            let values = parts.headers.get_all(name);
            if w.presign && self.hoisting.as_ref().is_some_and(|h| h.hoists(n)) {
                for v in values {
                    w.query.push((n.as_bytes().to_vec(), v.as_bytes().to_vec()));
                }
                continue;
            }
            headers.push((
                n.to_string(),
                canonical_value(values.iter().map(HeaderValue::as_bytes)),
            ));
        }
        headers.sort();
        w.signed_headers = headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(";");
        w.canonical_headers = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    }

    /// Prepares signing at `time` (Unix seconds): body hash (the content-hash header when
    /// the request has one; `UNSIGNED-PAYLOAD`, also written to that header, when the body
    /// is excluded or `body` is `None`), the date header for the header form, the headers.
    fn prepare(
        &self,
        parts: &mut Parts,
        body: Option<&[u8]>,
        time: i64,
        scopes: &[String],
        presign: Option<u64>,
    ) -> Result<Work, String> {
        let l = &self.literal;
        let content_name = HeaderName::from_bytes(l.content_sha256.as_bytes())
            .map_err(|_| format!("invalid header name {}", l.content_sha256))?;
        let given = parts
            .headers
            .get(&content_name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty());
        let body_hash = match (given, body) {
            (Some(h), _) => h.to_string(),
            (None, Some(b)) if !self.exclude_body => sha256_hex(b),
            (None, _) => {
                parts
                    .headers
                    .insert(content_name, HeaderValue::from_static(UNSIGNED_PAYLOAD));
                UNSIGNED_PAYLOAD.to_string()
            }
        };
        let mut w = Work {
            time,
            scopes: scopes.to_vec(),
            presign: presign.is_some(),
            expires: presign.unwrap_or(0),
            access_key_id: self.access_key_id.clone(),
            signed_headers: String::new(),
            canonical_headers: String::new(),
            body_hash,
            query: parse_query(parts.uri.query().unwrap_or("")),
        };
        if !w.presign {
            let date = HeaderName::from_bytes(l.date.as_bytes())
                .map_err(|_| format!("invalid header name {}", l.date))?;
            let value = HeaderValue::from_str(&format_time(time, TIME_FORMAT))
                .map_err(|e| e.to_string())?;
            parts.headers.insert(date, value);
        }
        self.collect_headers(parts, &mut w);
        Ok(w)
    }

    /// Signs the request at `time` (Unix seconds) with `accessKeyId`/`accessKeySecret`
    /// and `scopes`, setting the date header and `Authorization`. `body` is `None` when
    /// the body is a stream (then it is not signed).
    pub fn sign(
        &self,
        parts: &mut Parts,
        body: Option<&[u8]>,
        time: i64,
        scopes: &[String],
    ) -> Result<(), String> {
        let mut w = self.prepare(parts, body, time, scopes, None)?;
        let to_sign = self.string_to_sign(parts, &mut w);
        let sig = hmac::sign(
            &self.signing_key(&self.access_key_secret, &w),
            to_sign.as_bytes(),
        );
        let auth = format!(
            "{} Credential={}/{}, SignedHeaders={}, Signature={}",
            self.literal.algorithm_value,
            self.access_key_id,
            self.scope_string(&w),
            w.signed_headers,
            hex(sig.as_ref())
        );
        let value = HeaderValue::from_str(&auth)
            .map_err(|_| "the access key id or a scope is not valid in a header".to_string())?;
        parts.headers.insert(AUTHORIZATION, value);
        Ok(())
    }

    /// Signs the request into its query (a presigned URL valid for `expires`), hoisting
    /// the headers `headerHoisting` allows.
    pub fn presign(
        &self,
        parts: &mut Parts,
        time: i64,
        scopes: &[String],
        expires: Duration,
    ) -> Result<(), String> {
        let mut w = self.prepare(parts, None, time, scopes, Some(expires.as_secs()))?;
        let to_sign = self.string_to_sign(parts, &mut w);
        let sig = hmac::sign(
            &self.signing_key(&self.access_key_secret, &w),
            to_sign.as_bytes(),
        );
        w.query.push((
            self.literal.signature.as_bytes().to_vec(),
            hex(sig.as_ref()).into_bytes(),
        ));
        let query = encode_query(&mut w.query).replace('+', "%20");
        let pq = format!("{}?{query}", parts.uri.path());
        let mut uri = parts.uri.clone().into_parts();
        uri.path_and_query = Some(pq.parse().map_err(|e| format!("{e}"))?);
        parts.uri = http::Uri::from_parts(uri).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Reads credential, time, signed headers and signature from `Authorization`.
    fn read_header(&self, parts: &Parts, auth: &str, w: &mut Work) -> Result<String, String> {
        let bad = || format!("{INVALID_HEADER}Authorization");
        let (alg, rest) = auth.split_once(' ').ok_or_else(bad)?;
        if alg != self.literal.algorithm_value {
            return Err(bad());
        }
        let fields: Vec<&str> = rest.split(',').map(str::trim).collect();
        let [cred, signed, sig] = fields.as_slice() else {
            return Err(bad());
        };
        let cred = cred.strip_prefix("Credential=").ok_or_else(bad)?;
        let date_prefix = self.credential(cred, w).ok_or_else(bad)?;
        w.signed_headers = signed
            .strip_prefix("SignedHeaders=")
            .ok_or_else(bad)?
            .into();
        let sig = sig.strip_prefix("Signature=").ok_or_else(bad)?.to_string();
        let date = parts
            .headers
            .get(self.literal.date.as_str())
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        w.time = parse_time(&date, &date_prefix)
            .map_err(|e| e.unwrap_or_else(|| format!("{INVALID_HEADER}{}", self.literal.date)))?;
        Ok(sig)
    }

    /// Reads the signing parameters from the query of a presigned request.
    fn read_query(&self, w: &mut Work) -> Result<String, String> {
        w.presign = true;
        let l = &self.literal;
        let get = |name: &str| {
            w.query
                .iter()
                .find(|(k, _)| k == name.as_bytes())
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        if get(&l.algorithm_name) != l.algorithm_value {
            return Err(format!("{INVALID_QUERY}{}", l.algorithm_name));
        }
        let cred = get(&l.credential);
        let date = get(&l.date);
        let expires = get(&l.expires);
        let signed = get(&l.signed_headers);
        let sig = get(&l.signature);
        let date_prefix = self
            .credential(&cred, w)
            .ok_or_else(|| format!("{INVALID_QUERY}{}", l.credential))?;
        w.time = parse_time(&date, &date_prefix)
            .map_err(|e| e.unwrap_or_else(|| format!("{INVALID_QUERY}{}", l.date)))?;
        w.expires = expires
            .parse()
            .map_err(|_| format!("{INVALID_QUERY}{}", l.expires))?;
        w.signed_headers = signed;
        Ok(sig)
    }

    /// Splits `<id>/<date>/<scopes…>/<suffix>`: sets the id and scopes, returns the date.
    fn credential(&self, cred: &str, w: &mut Work) -> Option<String> {
        let parts: Vec<&str> = cred.split('/').collect();
        if parts.len() < 3 {
            return None;
        }
        w.access_key_id = parts[0].to_string();
        w.scopes = parts[2..parts.len() - 1]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Some(parts[1].to_string())
    }

    /// Verifies a signed request at the current time; `body` is `None` when the body is a
    /// stream (then it is taken as unsigned). The error says why it is refused.
    pub fn verify(&self, parts: &Parts, body: Option<&[u8]>) -> Result<(), String> {
        self.verify_at(parts, body, now_secs())
    }

    /// [`Signer::verify`] at `now` (Unix seconds).
    pub fn verify_at(&self, parts: &Parts, body: Option<&[u8]>, now: f64) -> Result<(), String> {
        let mut w = Work {
            time: 0,
            scopes: Vec::new(),
            presign: false,
            expires: 0,
            access_key_id: String::new(),
            signed_headers: String::new(),
            canonical_headers: String::new(),
            body_hash: String::new(),
            query: parse_query(parts.uri.query().unwrap_or("")),
        };
        let auth = parts
            .headers
            .get(AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let sig = if auth.is_empty() {
            self.read_query(&mut w)?
        } else {
            self.read_header(parts, &auth, &mut w)?
        };
        w.canonical_headers = self.rebuild_headers(parts, &w.signed_headers);
        let age = now - w.time as f64;
        if let Some(ttl) = self.ttl {
            if age.abs() > ttl.as_secs_f64() {
                return Err("signature expired".into());
            }
        }
        if w.presign && age > w.expires as f64 {
            return Err("signature expired".into());
        }
        let secret = self
            .access_keys
            .get(&w.access_key_id)
            .ok_or_else(|| "access-key-id not found".to_string())?;
        w.body_hash = match body {
            Some(b) if !self.exclude_body => sha256_hex(b),
            _ => UNSIGNED_PAYLOAD.to_string(),
        };
        let to_sign = self.string_to_sign(parts, &mut w);
        let given = unhex_lower(&sig).unwrap_or_default();
        hmac::verify(&self.signing_key(secret, &w), to_sign.as_bytes(), &given)
            .map_err(|_| "signature verification failed".to_string())
    }

    /// The canonical headers of the names the client signed (an absent header is empty).
    fn rebuild_headers(&self, parts: &Parts, signed: &str) -> String {
        let mut out = String::new();
        for name in signed.split(';') {
            out.push_str(name);
            out.push(':');
            if name == "host" {
                let authority = parts.uri.authority().map(|a| a.as_str());
                out.push_str(&canonical::host(&parts.headers, authority));
            } else if let Ok(n) = HeaderName::from_bytes(name.as_bytes()) {
                let values = parts.headers.get_all(n);
                out.push_str(&canonical_value(values.iter().map(HeaderValue::as_bytes)));
            }
            out.push('\n');
        }
        out
    }
}

/// Parses the request time, which must start with the credential's date. `Err(None)`
/// means a malformed time (the caller names the field).
fn parse_time(text: &str, date_prefix: &str) -> Result<i64, Option<String>> {
    if !text.starts_with(date_prefix) {
        return Err(Some("signature timestamp mismatch".into()));
    }
    if text.len() != 16 {
        return Err(None);
    }
    chrono::NaiveDateTime::parse_from_str(text, TIME_FORMAT)
        .map(|t| t.and_utc().timestamp())
        .map_err(|_| None)
}
