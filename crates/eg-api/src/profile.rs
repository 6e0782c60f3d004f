//! `/profile`: CPU and memory profiles of this process written to files on the server
//! (pprof format), as Easegress's `pkg/api/profile.go`.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value};

use crate::objects::parse_body;
use crate::reply::{ok, ApiError, ApiResult, Reply};

/// Which profile a start request is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Cpu,
    Memory,
}

/// `GET /profile`: `{"cpuPath": ..., "memoryPath": ...}` of the current or last profiles.
pub(crate) fn info() -> ApiResult {
    let s = eg_profile::global().status();
    ok(json!({"cpuPath": s.cpu_path, "memoryPath": s.memory_path}))
}

/// `POST /profile/start/{cpu,memory}` with `{"path": ...}` (YAML or JSON): 200 and an
/// empty body once the profile runs; 400 `bad request` for a body that does not parse,
/// `missing path` without a path, or the reason the file cannot be created.
pub(crate) async fn start(kind: Kind, body: Bytes) -> ApiResult {
    let doc = parse_body(&body).map_err(|_| ApiError::bad_request("bad request"))?;
    let path = match doc.get("path") {
        None | Some(Value::Null) => "",
        Some(Value::String(p)) => p.as_str(),
        Some(_) => return Err(ApiError::bad_request("bad request")),
    };
    if path.is_empty() {
        return Err(ApiError::bad_request("missing path"));
    }
    let path = path.to_string();
    run(move || match kind {
        Kind::Cpu => eg_profile::global().start_cpu(&path),
        Kind::Memory => eg_profile::global().start_memory(&path),
    })
    .await
}

/// `POST /profile/stop`: stops both profiles and writes their files (200, empty body).
pub(crate) async fn stop() -> ApiResult {
    run(|| eg_profile::global().stop()).await
}

/// Runs a profiler call on the blocking pool: starting creates a file, stopping
/// symbolises and writes the profiles.
async fn run(
    f: impl FnOnce() -> Result<(), eg_profile::ProfileError> + Send + 'static,
) -> ApiResult {
    let result = tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("profiler task failed: {e}")))?;
    match result {
        Ok(()) => Ok(Reply::Empty(StatusCode::OK)),
        Err(e @ eg_profile::ProfileError::BadRequest(_)) => {
            Err(ApiError::bad_request(e.to_string()))
        }
        Err(e @ eg_profile::ProfileError::Unsupported(_)) => {
            Err(ApiError::new(StatusCode::NOT_IMPLEMENTED, e.to_string()))
        }
        Err(e @ eg_profile::ProfileError::Write(_)) => Err(ApiError::internal(e.to_string())),
    }
}
