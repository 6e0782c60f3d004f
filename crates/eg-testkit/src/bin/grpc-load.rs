//! A small gRPC load tool for `bench/grpc.sh`:
//!
//! - `grpc-load upstream <port>`: the test gRPC service ([`eg_testkit::GrpcUpstream`]) on
//!   127.0.0.1:`port`, until killed;
//! - `grpc-load run <host:port> <concurrency> <seconds> [connections]`: `concurrency` workers
//!   making unary calls back to back over `connections` HTTP/2 connections (default one per
//!   ten workers); prints `calls/s p50_us p99_us errors` on one line.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eg_testkit::{GrpcClient, GrpcUpstream};
use parking_lot::Mutex;

/// Workers per connection when `connections` is not given.
const WORKERS_PER_CONNECTION: usize = 10;
/// The unary method called.
const METHOD: &str = "/bench.Echo/Unary";
/// The request message.
const MESSAGE: &str = "hello gRPC benchmark";

fn usage() -> ! {
    eprintln!(
        "usage: grpc-load upstream <port> | run <host:port> <concurrency> <seconds> [connections]"
    );
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| usage())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("grpc-load: runtime: {e}");
            std::process::exit(1)
        }
    };
    match args.get(1).map(String::as_str) {
        Some("upstream") => {
            let port: u16 = arg(&args, 2);
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("grpc-load: bind {port}: {e}");
                        std::process::exit(1)
                    }
                };
                let _up = GrpcUpstream::serve(listener, "bench");
                std::future::pending::<()>().await;
            });
        }
        Some("run") => {
            let addr: SocketAddr = arg(&args, 2);
            let concurrency: usize = arg(&args, 3);
            let seconds: u64 = arg(&args, 4);
            let connections = args
                .get(5)
                .and_then(|a| a.parse().ok())
                .unwrap_or(concurrency.div_ceil(WORKERS_PER_CONNECTION))
                .max(1);
            runtime.block_on(run(
                addr,
                concurrency.max(1),
                Duration::from_secs(seconds),
                connections,
            ));
        }
        _ => usage(),
    }
}

async fn run(addr: SocketAddr, concurrency: usize, duration: Duration, connections: usize) {
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        clients.push(GrpcClient::connect(addr).await);
    }
    // Warm up every connection once.
    for c in &clients {
        c.unary(METHOD, &[], MESSAGE).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u64>::new()));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let client = clients[w % connections].clone();
        let (stop, errors, latencies) = (stop.clone(), errors.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::with_capacity(1 << 16);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = client.unary(METHOD, &[], MESSAGE).await;
                mine.push(t.elapsed().as_micros() as u64);
                if r.status() != Some(0) || r.messages.len() != 1 {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies.lock().extend(mine);
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut l = std::mem::take(&mut *latencies.lock());
    l.sort_unstable();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{:.0} {} {} {}",
        l.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        errors.load(Ordering::Relaxed)
    );
}
