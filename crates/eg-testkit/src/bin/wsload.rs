//! The WebSocket load generator of `bench/websocket.sh`.
//!
//! `wsload echo <url> <sockets> <bytes> <seconds> [warmup]`: every socket sends a binary
//! message of `<bytes>` and waits for its echo, again and again; prints one line
//! `msgs_per_sec=<n> p50_us=<n> p99_us=<n> errors=<n>` for the measured seconds.
//!
//! `wsload idle <url> <sockets> <seconds>`: opens `<sockets>` sockets, prints
//! `open=<n> failed=<n>` once they are open, holds them for `<seconds>`, then closes them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

fn usage() -> ! {
    eprintln!("usage: wsload echo <url> <sockets> <bytes> <seconds> [warmup] | wsload idle <url> <sockets> <seconds>");
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| usage())
}

/// How long one socket may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

async fn connect(url: &str) -> Result<Ws, String> {
    tokio::time::timeout(CONNECT_TIMEOUT, connect_now(url))
        .await
        .map_err(|_| "timed out".to_string())?
}

async fn connect_now(url: &str) -> Result<Ws, String> {
    let rest = url.strip_prefix("ws://").ok_or("only ws:// URLs")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let tcp = TcpStream::connect(authority)
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let mut config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default();
    config.max_message_size = None;
    config.max_frame_size = None;
    config.read_buffer_size = 16 * 1024;
    config.write_buffer_size = 0;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("runtime: {e}");
            std::process::exit(1)
        });
    match args.get(1).map(String::as_str) {
        Some("echo") => rt.block_on(echo(
            arg(&args, 2),
            arg(&args, 3),
            arg(&args, 4),
            arg(&args, 5),
            args.get(6).and_then(|a| a.parse().ok()).unwrap_or(1),
        )),
        Some("idle") => rt.block_on(idle(arg(&args, 2), arg(&args, 3), arg(&args, 4))),
        _ => usage(),
    }
}

async fn echo(url: String, sockets: usize, bytes: usize, seconds: u64, warmup: u64) {
    let payload = Bytes::from(vec![b'x'; bytes]);
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|e| {
            eprintln!("histogram: {e}");
            std::process::exit(1)
        }),
    ));
    let mut tasks = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        let ws = match connect(&url).await {
            Ok(ws) => ws,
            Err(e) => {
                eprintln!("connect: {e}");
                std::process::exit(1)
            }
        };
        let (payload, measuring, stop, count, errors, hist) = (
            payload.clone(),
            measuring.clone(),
            stop.clone(),
            count.clone(),
            errors.clone(),
            hist.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut ws = ws;
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
                .unwrap_or_else(|_| std::process::exit(1));
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if ws.send(Message::Binary(payload.clone())).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                let got = loop {
                    match ws.next().await {
                        Some(Ok(Message::Binary(b))) => break Some(b.len()),
                        Some(Ok(_)) => continue,
                        _ => break None,
                    }
                };
                if got != Some(payload.len()) {
                    errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                if measuring.load(Ordering::Relaxed) {
                    let _ = local.record(t.elapsed().as_micros() as u64);
                    n += 1;
                }
            }
            count.fetch_add(n, Ordering::Relaxed);
            let _ = hist.lock().add(&local);
            let _ = ws.close(None).await;
        }));
    }
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    measuring.store(true, Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let h = hist.lock();
    println!(
        "msgs_per_sec={:.0} p50_us={} p99_us={} errors={}",
        count.load(Ordering::Relaxed) as f64 / elapsed,
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        errors.load(Ordering::Relaxed)
    );
}

async fn idle(url: String, sockets: usize, seconds: u64) {
    let mut open = Vec::with_capacity(sockets);
    let mut failed = 0usize;
    for _ in 0..sockets {
        match connect(&url).await {
            Ok(ws) => open.push(ws),
            Err(_) => failed += 1,
        }
    }
    println!("open={} failed={}", open.len(), failed);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    for mut ws in open {
        let _ = ws.close(None).await;
    }
}
