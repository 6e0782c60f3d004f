//! The WebSocket echo upstream of `bench/websocket.sh`: `wsecho <port>` echoes every
//! message on 127.0.0.1:<port> until killed.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(p)) => p,
        _ => {
            eprintln!("usage: wsecho <port>");
            std::process::exit(2);
        }
    };
    let echo = eg_testkit::WsEcho::start_at(port).await;
    println!("wsecho listening on {}", echo.addr);
    std::future::pending::<()>().await;
}
