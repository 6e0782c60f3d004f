//! Where a module's code comes from: a URL, a file, or base64 text (Easegress's order:
//! a value starting with `http://` or `https://` is a URL; else an existing file's path;
//! else base64).

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Most bytes a module may have.
pub const MAX_CODE_SIZE: usize = 64 << 20;
/// How long fetching a module from a URL may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// A module's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Fetched with an HTTP GET.
    Url(String),
    /// Read from a file.
    File(PathBuf),
    /// Decoded from standard base64.
    Base64,
}

impl Source {
    /// The source `code` names.
    pub fn of(code: &str) -> Source {
        let head: String = code
            .chars()
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        if (head.starts_with("http://") && code.len() > 7)
            || (head.starts_with("https://") && code.len() > 8)
        {
            return Source::Url(code.to_string());
        }
        let path = PathBuf::from(code);
        if code.len() < 4096 && path.is_file() {
            return Source::File(path);
        }
        Source::Base64
    }

    /// Whether the code can change behind the same spec (and a reload re-reads it).
    pub fn reloadable(&self) -> bool {
        !matches!(self, Source::Base64)
    }
}

/// Reads the code of a file or base64 source (blocking for a file); `Err` says why.
/// URLs are fetched with [`fetch`].
pub fn read_local(source: &Source, code: &str) -> Result<Vec<u8>, String> {
    match source {
        Source::File(path) => {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if bytes.len() > MAX_CODE_SIZE {
                return Err(format!(
                    "{} is larger than {MAX_CODE_SIZE} bytes",
                    path.display()
                ));
            }
            Ok(bytes)
        }
        Source::Base64 => base64::engine::general_purpose::STANDARD
            .decode(code.trim())
            .map_err(|e| format!("not a URL, not an existing file, and not valid base64 ({e})")),
        Source::Url(url) => Err(format!("{url} must be fetched")),
    }
}

/// Checks that `url` can be requested.
pub fn check_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("invalid URL {url:?}: no host"));
    }
    Ok(uri)
}

/// Fetches the code at `url` with a GET (at most [`MAX_CODE_SIZE`] bytes, within
/// [`FETCH_TIMEOUT`]); a status other than 200 is an error.
pub async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let uri = check_url(url)?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(eg_tls::provider())
        .map_err(|e| format!("GET {url}: TLS: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build(https);
    let req = http::Request::get(uri)
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| format!("GET {url}: {e}"))?;
    let work = async {
        let resp = client
            .request(req)
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if resp.status() != http::StatusCode::OK {
            return Err(format!("GET {url}: status {}", resp.status()));
        }
        let body = Limited::new(resp.into_body(), MAX_CODE_SIZE)
            .collect()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        Ok(body.to_bytes().to_vec())
    };
    tokio::time::timeout(FETCH_TIMEOUT, work)
        .await
        .map_err(|_| format!("GET {url}: no answer within {FETCH_TIMEOUT:?}"))?
}
