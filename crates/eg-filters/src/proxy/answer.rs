//! Reading an upstream answer into what the client is sent: the body buffered up to a
//! limit (or streamed), the framing recomputed for the body sent, hop-by-hop headers
//! removed, and the body gzipped when asked. (A keep-alive connection goes back to its
//! pool when its body has been read.)
//!
//! Shared by the `Proxy` and `SimpleHTTPProxy` filters, which map its errors to their own
//! statuses.

use eg_protocols::gzip::{gzip, gzip_stream_flushed};
use eg_protocols::{fix_framing, Body, BodyError, MessageKind};

use super::compression::Compression;
use super::forward::{is_event_stream, remove_hop_by_hop, Answer};

/// Why an answer could not be read.
#[derive(Debug)]
pub(crate) enum AnswerError {
    /// The body is larger than the limit.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Reading (or compressing) the body failed.
    Io(String),
}

/// Reads `resp`: buffered up to `max_body` (`None`, or an event stream: streamed), framed,
/// stripped of hop-by-hop headers, gzipped with `gzip` (when the client takes gzip and the
/// response qualifies). Returns the answer and its known body size (0 when streamed).
pub(crate) async fn read_answer(
    resp: http::Response<Body>,
    max_body: Option<u64>,
    to_head: bool,
    gzip_with: Option<Compression>,
) -> Result<(Answer, u64), AnswerError> {
    let (head, mut body) = resp.into_parts();
    let mut headers = head.headers;
    let status = head.status;
    let streaming = max_body.is_none() || is_event_stream(&headers);
    if !streaming {
        if let Err(e) = body.buffer(max_body).await {
            return Err(match e {
                BodyError::TooLarge { limit } => AnswerError::TooLarge { limit },
                BodyError::Io(e) => AnswerError::Io(e),
            });
        }
    }
    // Transfer-Encoding wins over Content-Length (RFC 9112 §6.1), and the length the
    // client gets is that of the body it is sent.
    fix_framing(
        &mut headers,
        MessageKind::Response { status, to_head },
        body.known_len(),
    );
    remove_hop_by_hop(&mut headers);
    let mut answer = Answer {
        status,
        headers,
        body,
    };
    if let Some(c) = gzip_with {
        compress(&mut answer, c)?;
    }
    let resp_size = answer.body.known_len().unwrap_or(0);
    Ok((answer, resp_size))
}

/// Gzips `answer` when `c` wants it (the caller checked that the client takes gzip).
pub(crate) fn compress(answer: &mut Answer, c: Compression) -> Result<(), AnswerError> {
    if c.response_wanted(answer.status, &answer.headers, answer.body.known_len()) {
        Compression::mark(&mut answer.headers);
        answer.body = match std::mem::take(&mut answer.body) {
            Body::Full(b) => Body::Full(gzip(&b).map_err(|e| AnswerError::Io(e.to_string()))?),
            other => gzip_stream_flushed(other),
        };
    }
    Ok(())
}
