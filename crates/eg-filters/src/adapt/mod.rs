//! What the adaptors (`RequestAdaptor`, `ResponseAdaptor`) share: header changes
//! ([`HeaderAdaptor`]) and the re-coding of a body (`compress`/`decompress`, gzip).

mod header;

use bytes::Bytes;
use eg_protocols::gzip::{gunzip, gunzip_stream, gzip, gzip_stream, GZIP};
use eg_protocols::Body;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::HeaderValue;

pub use header::{HeaderAdaptSpec, HeaderAdaptor};

/// Returned when un-gzipping the body fails.
pub const RESULT_DECOMPRESS_FAILED: &str = "decompressFailed";
/// Returned when gzipping the body fails.
pub const RESULT_COMPRESS_FAILED: &str = "compressFailed";

/// Checks `compress`/`decompress` and that they are not combined (shared with
/// `ResponseAdaptor`); `body_set` forbids decompressing a replaced body.
pub(crate) fn check_coding(
    compress: &str,
    decompress: &str,
    body_set: bool,
    path: &str,
) -> Result<(), SpecError> {
    for (field, v) in [("compress", compress), ("decompress", decompress)] {
        if !v.is_empty() && v != GZIP {
            return Err(SpecError::new(
                join_path(path, field),
                format!("{v:?} is not supported: only gzip"),
            ));
        }
    }
    if !compress.is_empty() && !decompress.is_empty() {
        return Err(SpecError::new(
            path,
            "compress and decompress cannot both be set",
        ));
    }
    if body_set && !decompress.is_empty() {
        return Err(SpecError::new(
            join_path(path, "decompress"),
            "no need to decompress when body is specified",
        ));
    }
    Ok(())
}

/// Sets a new body with a matching `Content-Length`; the old encoding no longer applies.
pub(crate) fn replace_body(headers: &mut http::HeaderMap, body: &mut Body, new: Bytes) {
    headers.remove(CONTENT_ENCODING);
    headers.remove(TRANSFER_ENCODING);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(new.len()));
    *body = Body::full(new);
}

/// Gzips (`compress`) or un-gzips a body in place: buffered bodies at once (with a new
/// `Content-Length` and no `Transfer-Encoding`), streams as they flow (without a
/// `Content-Length`). `Err` only for a buffered body that fails.
pub(crate) fn recode(
    headers: &mut http::HeaderMap,
    body: &mut Body,
    compress: bool,
) -> std::io::Result<()> {
    if body.is_buffered() {
        let data = body.bytes().cloned().unwrap_or_default();
        let out = if compress {
            gzip(&data)?
        } else {
            gunzip(&data)?
        };
        // A buffered body is sent with its length, whatever framed it when it arrived.
        headers.remove(TRANSFER_ENCODING);
        headers.insert(CONTENT_LENGTH, HeaderValue::from(out.len()));
        *body = Body::full(out);
    } else {
        let inner = std::mem::take(body);
        *body = if compress {
            gzip_stream(inner)
        } else {
            gunzip_stream(inner)
        };
        headers.remove(CONTENT_LENGTH);
    }
    if compress {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(GZIP));
    } else {
        headers.remove(CONTENT_ENCODING);
    }
    Ok(())
}
