//! The network face: one TCP listener per configured listener (PLAINTEXT, SSL, SASL_PLAINTEXT,
//! SASL_SSL) sharing a connection limit, TLS handshakes, and per-connection framing,
//! pipelining and in-order responses. Requests are interpreted by `api/`.

pub mod connection;
pub mod frame;
pub mod listener;
pub mod precheck;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

pub use listener::ListenerRuntime;

use crate::api::ApiContext;
use crate::broker::security::KafkaPrincipal;

/// How long a client has to finish its TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections on one listener until shutdown; each connection holds one permit of
/// `limit` while it lives, so at most `max.connections` are served at once over all
/// listeners. TLS handshakes run in the connection's task, never in the accept loop.
pub async fn accept_loop(
    listener: TcpListener,
    runtime: Arc<ListenerRuntime>,
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
                tracing::debug!(%peer, listener = %runtime.info.name, "accepted connection");
                tokio::spawn(serve_connection(
                    stream,
                    peer,
                    ctx.clone(),
                    Arc::clone(&runtime),
                    permit,
                ));
            }
            Err(e) => {
                // Typically out of file descriptors: log and keep serving.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<ApiContext>,
    runtime: Arc<ListenerRuntime>,
    permit: OwnedSemaphorePermit,
) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "set_nodelay failed");
    }
    match &runtime.tls {
        None => {
            let (read_half, write_half) = stream.into_split();
            let principal = KafkaPrincipal::anonymous();
            connection::serve(
                read_half,
                write_half,
                peer,
                ctx,
                Arc::clone(&runtime),
                principal,
            )
            .await;
        }
        Some(tls) => {
            let handshake =
                tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tls.acceptor.accept(stream)).await;
            let stream = match handshake {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::info!(%peer, listener = %runtime.info.name, error = %e,
                        "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, listener = %runtime.info.name, "TLS handshake timed out");
                    return;
                }
            };
            let certificates = stream.get_ref().1.peer_certificates();
            let Some(principal) = tls::principal(certificates, &tls.rules) else {
                tracing::info!(%peer, listener = %runtime.info.name,
                    "no ssl.principal.mapping.rules rule matches the client certificate: closing");
                return;
            };
            let (read_half, write_half) = tokio::io::split(stream);
            connection::serve(
                read_half,
                write_half,
                peer,
                ctx,
                Arc::clone(&runtime),
                principal,
            )
            .await;
        }
    }
    tracing::debug!(%peer, "connection closed");
    drop(permit);
}
