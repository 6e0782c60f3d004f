//! The redirect answer shared by `Redirector` and `RedirectorV2`: a redirect status chosen
//! by `statusCode`, `Location`, and the status text as a plain-text body.

use bytes::Bytes;
use eg_protocols::{Body, HttpResponse};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderValue, StatusCode};

/// The statuses `statusCode` may name.
const REDIRECT_STATUSES: [u16; 6] = [301, 302, 303, 304, 307, 308];
/// The body's media type.
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// A compiled redirect status with its body.
#[derive(Debug)]
pub(crate) struct Redirect {
    status: StatusCode,
    /// The status text.
    body: Bytes,
}

impl Redirect {
    /// The redirect of `statusCode` `code` (`None`: `default`); an error names
    /// `path.statusCode`.
    pub(crate) fn compile(
        code: Option<i64>,
        default: u16,
        path: &str,
    ) -> Result<Redirect, SpecError> {
        let field = || join_path(path, "statusCode");
        let code = match code {
            None => default,
            Some(c) => u16::try_from(c)
                .ok()
                .filter(|c| REDIRECT_STATUSES.contains(c))
                .ok_or_else(|| {
                    SpecError::new(
                        field(),
                        format!("{c} is not a redirect status: use 301, 302, 303, 304, 307 or 308"),
                    )
                })?,
        };
        let status =
            StatusCode::from_u16(code).map_err(|_| SpecError::new(field(), "invalid status"))?;
        Ok(Redirect {
            status,
            body: Bytes::from_static(status.canonical_reason().unwrap_or("").as_bytes()),
        })
    }

    /// The redirect to `location`; `None` (and a warning) when `location` cannot be a
    /// header value.
    pub(crate) fn response(&self, location: &str) -> Option<HttpResponse> {
        let Ok(value) = HeaderValue::from_str(location) else {
            tracing::warn!(%location, "redirect location is not a valid header value; not redirected");
            return None;
        };
        let mut resp = HttpResponse::new(self.status);
        resp.headers.insert(LOCATION, value);
        resp.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN));
        resp.body = Body::full(self.body.clone());
        Some(resp)
    }
}
