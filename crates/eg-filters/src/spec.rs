//! Decoding a filter's kind fields, and the field rules several kinds share.
//!
//! A filter's spec is decoded with [`decode_filter_spec`]; the unknown keys it finds come
//! back as warnings with the spec, and the kind returns them with what it built
//! ([`crate::Built`]) or checked, so they reach the pipeline's answer.

use eg_spec::error::join_path;
use eg_spec::{Decoded, SpecError};
use serde::de::DeserializeOwned;

use crate::filter::FilterSpec;

/// Decodes the kind fields of `spec` (its whole document; the meta keys `name`, `kind`, ...
/// are not reported as unknown). Errors name the field path under [`FilterSpec::path`]
/// (`filters[2].rules[0].code: ...`); [`Decoded::into_parts`] gives the spec and the
/// warnings for the unknown keys.
pub fn decode_filter_spec<T: DeserializeOwned>(spec: &FilterSpec) -> Result<Decoded<T>, SpecError> {
    eg_spec::decode_kind::<T>(&spec.doc, &spec.path)
}

/// Checks an HTTP status code written in a spec (Easegress's `httpcode` format: 100-599).
pub fn status_code(code: i64, path: &str) -> Result<http::StatusCode, SpecError> {
    u16::try_from(code)
        .ok()
        .filter(|c| (100..=599).contains(c))
        .and_then(|c| http::StatusCode::from_u16(c).ok())
        .ok_or_else(|| {
            SpecError::new(
                path,
                format!("invalid HTTP status code {code}: must be 100-599"),
            )
        })
}

/// Parses a header name written in a spec; the error names `path`.
pub fn header_name(name: &str, path: &str) -> Result<http::HeaderName, SpecError> {
    http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| SpecError::new(path, format!("invalid header name {name:?}")))
}

/// Parses a `{name: value}` map of headers written in a spec into ready-made header
/// values; errors name `path.<name>`.
pub fn header_map(
    headers: &std::collections::BTreeMap<String, String>,
    path: &str,
) -> Result<Box<[(http::HeaderName, http::HeaderValue)]>, SpecError> {
    headers
        .iter()
        .map(|(k, v)| {
            let at = join_path(path, k);
            let name = header_name(k, &at)?;
            let value = http::HeaderValue::from_str(v)
                .map_err(|_| SpecError::new(&at, format!("invalid header value {v:?}")))?;
            Ok((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    struct S {
        #[allow(dead_code)]
        code: u16,
    }

    fn fspec(doc: serde_json::Value) -> FilterSpec {
        FilterSpec {
            name: "f".into(),
            kind: "K".into(),
            doc,
            pipeline: "p".into(),
            path: "filters[1]".into(),
        }
    }

    #[test]
    fn unknown_keys_are_warnings_but_not_meta() {
        let spec = fspec(json!({"name": "f", "kind": "K", "code": 200, "extra": 1}));
        let (_, w) = decode_filter_spec::<S>(&spec).unwrap().into_parts();
        assert_eq!(w, vec!["filters[1].extra: unknown field, ignored"]);
    }

    #[test]
    fn errors_name_the_path() {
        let spec = fspec(json!({"name": "f", "kind": "K", "code": "x"}));
        let err = decode_filter_spec::<S>(&spec).err().map(|e| e.path);
        assert_eq!(err.as_deref(), Some("filters[1].code"));
    }

    #[test]
    fn status_codes_and_headers() {
        assert_eq!(status_code(200, "c").map(|c| c.as_u16()), Ok(200));
        for bad in [0, 99, 600, -1, 70000] {
            assert_eq!(status_code(bad, "r.code").unwrap_err().path, "r.code");
        }
        let mut h = std::collections::BTreeMap::new();
        h.insert("X-A".to_string(), "1".to_string());
        assert_eq!(header_map(&h, "headers").map(|m| m.len()), Ok(1));
        h.insert("bad name".to_string(), "1".to_string());
        assert_eq!(
            header_map(&h, "headers").unwrap_err().path,
            "headers.bad name"
        );
        let mut h = std::collections::BTreeMap::new();
        h.insert("X-B".to_string(), "a\nb".to_string());
        assert_eq!(header_map(&h, "h").unwrap_err().path, "h.X-B");
    }
}
