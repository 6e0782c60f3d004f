//! Relaying messages between the client's WebSocket and the upstream's.
//!
//! Two pumps run in one task, one per direction; each reads one whole message (fragments
//! are joined, up to the reading side's limit) and writes it to the other side, so no more
//! than one message per direction is held. Pings are passed on (each side's library answers
//! the pings it receives, so pongs are not passed on). A close frame is passed on with its
//! code and reason. When a pump stops, the other side is told why with a close frame
//! (`1009` for an oversized message, `1002`/`1007` for protocol errors, `1001` when the
//! client went away, `1011` when the upstream failed) and both sides get
//! [`CLOSE_WAIT`] to finish the closing handshake before the sockets are dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long both sides get to finish the closing handshake once the relay stops.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// Bytes read from a socket at a time (tungstenite allocates it per socket).
pub const READ_BUFFER_SIZE: usize = 4 * 1024;
/// Written bytes gathered before a write to the socket (a flush always writes them all).
pub const WRITE_BUFFER_SIZE: usize = 16 * 1024;

/// The tungstenite settings of one side: reads at most `max_message` bytes per message
/// (`None`: no limit), writes at most one message past the write buffer.
pub fn config(max_message: Option<usize>) -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.read_buffer_size = READ_BUFFER_SIZE;
    c.write_buffer_size = WRITE_BUFFER_SIZE;
    c.max_message_size = max_message;
    c.max_frame_size = max_message;
    c
}

/// Message and byte counts of one relayed connection, shared with the pool's statistics.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Messages from the client to the upstream.
    pub client_messages: AtomicU64,
    /// Payload bytes from the client to the upstream.
    pub client_bytes: AtomicU64,
    /// Messages from the upstream to the client.
    pub server_messages: AtomicU64,
    /// Payload bytes from the upstream to the client.
    pub server_bytes: AtomicU64,
}

/// Why a pump stopped.
#[derive(Debug)]
enum Stop {
    /// Its side sent a close frame, which was passed on.
    Closed,
    /// Its side sent a message over the limit.
    TooBig,
    /// Its side broke the protocol (`1002`) or sent bad UTF-8 text (`1007`).
    Violation(CloseCode),
    /// Its side went away (end of stream, I/O error).
    Gone,
    /// Writing to the other side failed.
    WriteFailed,
}

/// Which side a pump reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// Relays between `client` and `server` until both are closed (or [`CLOSE_WAIT`] passed
/// after one of them stopped).
pub async fn relay<C, S>(client: WebSocketStream<C>, server: WebSocketStream<S>, traffic: &Traffic)
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut c_tx, mut c_rx) = client.split();
    let (mut s_tx, mut s_rx) = server.split();
    let (side, stop) = tokio::select! {
        stop = pump(&mut c_rx, &mut s_tx, &traffic.client_messages, &traffic.client_bytes) => (Side::Client, stop),
        stop = pump(&mut s_rx, &mut c_tx, &traffic.server_messages, &traffic.server_bytes) => (Side::Server, stop),
    };
    tracing::debug!(?side, ?stop, "WebSocket relay stopping");
    let (to_reader, to_other) = match stop {
        Stop::Closed | Stop::WriteFailed => (None, None),
        Stop::TooBig => (
            Some(frame(CloseCode::Size, "message too big")),
            Some(gone_frame(side)),
        ),
        Stop::Violation(code) => (Some(frame(code, "protocol error")), Some(gone_frame(side))),
        Stop::Gone => (None, Some(gone_frame(side))),
    };
    let (to_client, to_server) = match side {
        Side::Client => (to_reader, to_other),
        Side::Server => (to_other, to_reader),
    };
    let finish = async {
        if let Some(f) = to_client {
            let _ = c_tx.send(Message::Close(Some(f))).await;
        }
        if let Some(f) = to_server {
            let _ = s_tx.send(Message::Close(Some(f))).await;
        }
        // Reading flushes the close answers and waits for the peers' own close frames.
        tokio::join!(drain(&mut c_rx), drain(&mut s_rx));
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, finish).await;
}

/// The close frame the side that did not stop gets when `side` went away or misbehaved.
fn gone_frame(side: Side) -> CloseFrame {
    match side {
        Side::Client => frame(CloseCode::Away, "client went away"),
        Side::Server => frame(CloseCode::Error, "upstream failed"),
    }
}

fn frame(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// Passes messages from `rx` to `tx` until `rx` closes or fails.
async fn pump<R, W>(
    rx: &mut SplitStream<WebSocketStream<R>>,
    tx: &mut SplitSink<WebSocketStream<W>, Message>,
    messages: &AtomicU64,
    bytes: &AtomicU64,
) -> Stop
where
    R: AsyncRead + AsyncWrite + Unpin,
    W: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        // Write out what was gathered only when nothing more is ready to read: a burst
        // of messages becomes one write.
        let next = match rx.next().now_or_never() {
            Some(next) => next,
            None => {
                if tx.flush().await.is_err() {
                    return Stop::WriteFailed;
                }
                rx.next().await
            }
        };
        let msg = match next {
            None => return Stop::Gone,
            Some(Ok(m)) => m,
            Some(Err(e)) => return read_error(e),
        };
        let msg = match msg {
            Message::Text(_) | Message::Binary(_) => {
                messages.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(msg.len() as u64, Ordering::Relaxed);
                msg
            }
            Message::Ping(_) => msg,
            Message::Pong(_) | Message::Frame(_) => continue,
            Message::Close(f) => {
                let _ = tx.send(Message::Close(f)).await;
                return Stop::Closed;
            }
        };
        if tx.feed(msg).await.is_err() {
            return Stop::WriteFailed;
        }
    }
}

fn read_error(e: WsError) -> Stop {
    match e {
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => Stop::TooBig,
        WsError::Protocol(_) | WsError::Capacity(_) => Stop::Violation(CloseCode::Protocol),
        WsError::Utf8(_) => Stop::Violation(CloseCode::Invalid),
        _ => Stop::Gone,
    }
}

/// Reads and drops messages until the stream ends (answering pings and closes on the way).
async fn drain<S>(rx: &mut SplitStream<WebSocketStream<S>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(Ok(_)) = rx.next().await {}
}
