//! The network face: a TCP listener with a connection limit, and per-connection framing,
//! pipelining and in-order responses. Requests are interpreted by `api/`.

pub mod connection;
pub mod frame;
pub mod precheck;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::api::ApiContext;

/// Accepts connections until shutdown; each connection holds one permit of `limit` while
/// it lives, so at most `max.connections` are served at once.
pub async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<ApiContext>,
    limit: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let permit = tokio::select! {
            p = limit.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = shutdown.changed() => return,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                tracing::debug!(%peer, "accepted connection");
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    connection::serve(stream, peer, ctx).await;
                    tracing::debug!(%peer, "connection closed");
                    drop(permit);
                });
            }
            Err(e) => {
                // Typically out of file descriptors: log and keep serving.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}
