//! `/logs` (tail and follow the system log) and `/logs/level`.

use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;

use crate::api::Api;
use crate::reply::{ApiError, ApiResult, Reply};

/// Lines returned when `tail` is not given.
pub const DEFAULT_TAIL: i64 = 500;
/// How often a followed log is checked for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// `GET /logs?tail=N&follow=bool`.
pub async fn logs(api: &Api, tail: Option<&str>, follow: Option<&str>) -> ApiResult {
    let tail: i64 = match tail {
        None => DEFAULT_TAIL,
        Some(t) => t
            .parse()
            .map_err(|_| ApiError::bad_request(format!("tail: invalid number {t:?}")))?,
    };
    let follow = match follow {
        None => false,
        Some(f) => f
            .parse::<bool>()
            .map_err(|_| ApiError::bad_request(format!("follow: invalid bool {f:?}")))?,
    };
    let path = api.logs.file.clone().ok_or_else(|| {
        ApiError::not_found("the server logs to stdout (no --log-dir), so there is no log file")
    })?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ApiError::internal(format!("cannot read {}: {e}", path.display())))?;
    let lines: Vec<&str> = text.lines().collect();
    let start = if tail < 0 {
        0
    } else {
        lines.len().saturating_sub(tail as usize)
    };
    let mut out = lines[start..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    if !follow {
        return Ok(Reply::Text(StatusCode::OK, out));
    }
    let (mut tx, body) =
        http_body_util::channel::Channel::<Bytes, std::convert::Infallible>::new(16);
    let mut offset = text.len() as u64;
    tokio::spawn(async move {
        if tx.send_data(Bytes::from(out)).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(FOLLOW_POLL).await;
            let chunk = tokio::task::spawn_blocking({
                let path = path.clone();
                move || -> std::io::Result<Vec<u8>> {
                    let mut f = std::fs::File::open(&path)?;
                    let len = f.metadata()?.len();
                    if len < offset {
                        offset = 0;
                    }
                    f.seek(SeekFrom::Start(offset))?;
                    let mut buf = Vec::new();
                    f.read_to_end(&mut buf)?;
                    Ok(buf)
                }
            })
            .await;
            match chunk {
                Ok(Ok(buf)) if !buf.is_empty() => {
                    offset += buf.len() as u64;
                    if tx.send_data(Bytes::from(buf)).await.is_err() {
                        return;
                    }
                }
                Ok(Ok(_)) => {}
                _ => return,
            }
        }
    });
    let mut resp = http::Response::new(body.boxed());
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(Reply::Raw(resp))
}

/// `GET /logs/level`.
pub async fn get_level(api: &Api) -> ApiResult {
    Ok(Reply::Text(StatusCode::OK, (api.logs.get_level)()))
}

/// `PUT /logs/level/{level}`.
pub async fn set_level(api: &Api, level: &str) -> ApiResult {
    (api.logs.set_level)(level).map_err(ApiError::bad_request)?;
    Ok(Reply::Text(StatusCode::OK, (api.logs.get_level)()))
}
