//! A watch stream: newline-separated JSON messages on one long HTTP answer.

use bytes::{Buf, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde::Deserialize;

use super::types::{GatewayError, WatchResponse};
use super::{Error, Result};

/// Largest single message accepted (a watch batch of big values); beyond it the stream is
/// treated as broken.
const MAX_MESSAGE: usize = 64 << 20;

/// The messages of one watch. Dropping it closes the connection, which ends the watch.
pub struct WatchStream {
    body: Incoming,
    buf: BytesMut,
}

#[derive(Deserialize)]
struct Line {
    result: Option<WatchResponse>,
    error: Option<GatewayError>,
}

impl WatchStream {
    pub(crate) fn new(body: Incoming) -> WatchStream {
        WatchStream {
            body,
            buf: BytesMut::new(),
        }
    }

    /// The next message; `Ok(None)` when etcd closed the stream.
    ///
    /// A watch etcd canceled comes back as an error: [`Error::Compacted`] when the
    /// revisions it needed were compacted (re-read the state, then watch from the read's
    /// revision + 1), [`Error::Unavailable`] for any other reason (watch again).
    pub async fn message(&mut self) -> Result<Option<WatchResponse>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line = self.buf.split_to(pos + 1);
                let line = &line[..pos];
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return parse_line(line).map(Some);
            }
            if self.buf.len() > MAX_MESSAGE {
                return Err(Error::Protocol("watch message too large".into()));
            }
            match self.body.frame().await {
                None => {
                    if self.buf.iter().all(u8::is_ascii_whitespace) {
                        return Ok(None);
                    }
                    let rest = std::mem::take(&mut self.buf);
                    return parse_line(rest.chunk()).map(Some);
                }
                Some(Err(e)) => return Err(Error::Unavailable(format!("watch stream: {e}"))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

fn parse_line(line: &[u8]) -> Result<WatchResponse> {
    let l: Line = serde_json::from_slice(line).map_err(|e| {
        Error::Protocol(format!(
            "watch message: {e} in {}",
            String::from_utf8_lossy(line)
        ))
    })?;
    if let Some(e) = l.error {
        return Err(Error::from_gateway(e.code.max(e.grpc_code), e.message));
    }
    let r = l
        .result
        .ok_or_else(|| Error::Protocol("watch message without result".into()))?;
    if r.compact_revision > 0 {
        return Err(Error::Compacted {
            revision: r.compact_revision,
        });
    }
    if r.canceled {
        return Err(Error::Unavailable(format!(
            "watch canceled by etcd: {}",
            if r.cancel_reason.is_empty() {
                "no reason given"
            } else {
                &r.cancel_reason
            }
        )));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_classified() {
        let r = parse_line(br#"{"result":{"header":{"revision":"7"},"events":[{"kv":{"key":"L2E=","mod_revision":"7","value":"MQ=="}},{"type":"DELETE","kv":{"key":"L2E=","mod_revision":"8"}}]}}"#).unwrap();
        assert_eq!(r.events.len(), 2);
        assert_eq!(r.events[1].kind, crate::etcd::EventType::Delete);
        assert!(matches!(
            parse_line(br#"{"result":{"header":{},"canceled":true,"compact_revision":"3"}}"#),
            Err(Error::Compacted { revision: 3 })
        ));
        assert!(matches!(
            parse_line(br#"{"result":{"canceled":true}}"#),
            Err(Error::Unavailable(_))
        ));
        assert!(matches!(
            parse_line(br#"{"error":{"grpc_code":14,"http_code":503,"message":"no leader"}}"#),
            Err(Error::Unavailable(_))
        ));
    }
}
