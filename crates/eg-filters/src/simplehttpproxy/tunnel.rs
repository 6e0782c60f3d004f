//! `CONNECT host:port`: the target is dialled (within `timeout`), the client is answered
//! 200, and once the HTTPServer has handed the connection over, bytes are relayed both
//! ways until either side closes. A target that cannot be reached answers 503
//! `serverError`, as Easegress does; a request that did not come on an HTTP/1.1 connection
//! able to hand itself over (HTTP/2, or a request built in another namespace) answers 500
//! `internalError`.

use eg_protocols::{Context, HttpResponse};
use eg_upstream::connections::CONNECT_TIMEOUT;
use http::StatusCode;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::{SimpleHttpProxy, RESULT_INTERNAL_ERROR, RESULT_SERVER_ERROR};
use crate::proxy::failure::Failure;

impl SimpleHttpProxy {
    /// Opens a tunnel for the `CONNECT` request of the active namespace.
    pub(super) async fn tunnel(&self, ctx: &mut Context) -> &'static str {
        let Some(req) = ctx.request_mut() else {
            return self.fail(ctx, Failure(500, RESULT_INTERNAL_ERROR));
        };
        let target = match req.uri().authority() {
            Some(a) => a.as_str().to_string(),
            None => req.host_with_port().to_string(),
        };
        let Some(on_upgrade) = req.head.extensions.remove::<OnUpgrade>() else {
            tracing::debug!(filter = %self.name, %target, "CONNECT on a connection that cannot be handed over");
            return self.fail(ctx, Failure(500, RESULT_INTERNAL_ERROR));
        };
        let dial = TcpStream::connect(target.as_str());
        let mut upstream = match tokio::time::timeout(self.timeout.unwrap_or(CONNECT_TIMEOUT), dial)
            .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(filter = %self.name, %target, error = %e, "CONNECT target unreachable");
                self.stats.tunnel_failed();
                return self.fail(ctx, Failure(503, RESULT_SERVER_ERROR));
            }
            Err(_) => {
                tracing::debug!(filter = %self.name, %target, "CONNECT target dial timed out");
                self.stats.tunnel_failed();
                return self.fail(ctx, Failure(503, RESULT_SERVER_ERROR));
            }
        };
        let _ = upstream.set_nodelay(true);
        let stats = self.stats.clone();
        let name = self.name.clone();
        tokio::spawn(async move {
            let client = match on_upgrade.await {
                Ok(u) => u,
                Err(e) => {
                    tracing::debug!(filter = %name, %target, error = %e, "CONNECT hand-over failed");
                    return;
                }
            };
            let open = stats.tunnel_opened();
            let mut client = TokioIo::new(client);
            match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                Ok((up, down)) => open.closed(up, down),
                Err(e) => {
                    tracing::debug!(filter = %name, %target, error = %e, "tunnel ended with an error");
                    open.closed(0, 0);
                }
            }
        });
        ctx.set_response(HttpResponse::new(StatusCode::OK));
        super::RESULT_OK
    }
}
