//! One client connection: a reader that frames, decodes and dispatches requests in order,
//! and a writer that sends responses strictly in request order. The bounded queue between
//! them is the back-pressure: when it is full the reader stops reading the socket.
//!
//! A client over a quota is throttled as Kafka does (KIP-219): its response is sent at
//! once with `throttle_time_ms` set, and the reader takes no further request of the
//! connection until the throttle time has passed (the channel is muted). The time spent
//! handling each request counts toward the client's `request_percentage` quota.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use bytes::{BufMut, Bytes};
use kafka_protocol::messages::ApiKey;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::frame::{self, Decoded, FrameError};
use super::listener::ListenerRuntime;
use crate::api::chunks::Chunks;
use crate::api::throttle::{quota_client_id, quota_user, ChannelThrottle};
use crate::api::{ApiContext, Call, Reply, ResponseFuture};
use crate::broker::security::sasl::{SaslSession, Stage};
use crate::broker::security::KafkaPrincipal;

/// Requests of one connection that may be in flight (decoded, response not yet written).
pub const MAX_IN_FLIGHT: usize = 64;

/// A dispatched request whose response is pending.
enum Pending {
    Response {
        correlation_id: i32,
        key: ApiKey,
        version: i16,
        future: ResponseFuture,
    },
    ApiVersionsTooNew {
        correlation_id: i32,
    },
    /// A bare SASL token (after a SaslHandshake v0), size-prefixed.
    SaslToken(Bytes),
}

/// Whether a request may be served on a SASL connection at `stage` (before authentication
/// Kafka takes ApiVersions and SaslHandshake, then only SaslAuthenticate; SaslHandshake out
/// of turn is answered with ILLEGAL_SASL_STATE by its handler).
fn allowed_before_authentication(stage: &Stage, key: ApiKey) -> bool {
    match stage {
        Stage::Handshake => matches!(key, ApiKey::ApiVersions | ApiKey::SaslHandshake),
        Stage::Authenticate => matches!(key, ApiKey::SaslAuthenticate | ApiKey::SaslHandshake),
        Stage::Reauthenticate => key == ApiKey::SaslAuthenticate,
        Stage::Complete(_) => true,
        Stage::RawTokens | Stage::Failed => false,
    }
}

/// Serves one connection until the client leaves, sends something unacceptable, or the
/// broker shuts down (then in-flight requests are still answered). `principal` is who the
/// transport says the client is (`User:ANONYMOUS`, or a TLS client certificate's principal);
/// on a SASL listener the connection serves only the SASL handshake until it authenticates.
pub async fn serve<R, W>(
    read_half: R,
    write_half: W,
    peer: SocketAddr,
    ctx: Arc<ApiContext>,
    listener: Arc<ListenerRuntime>,
    mut principal: Arc<KafkaPrincipal>,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
    let writer = tokio::spawn(write_responses(write_half, rx, peer, Arc::clone(&ctx)));
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let mut shutdown = ctx.shutdown.clone();
    let throttle = ChannelThrottle::new();
    let session = listener
        .sasl
        .as_ref()
        .map(|c| Arc::new(SaslSession::new(Arc::clone(c))));
    let mut authenticated = session.is_none();
    // When the connection's SASL authentication expires (KIP-368), if it does.
    let mut expires_at: Option<std::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let max = if authenticated {
            ctx.config.socket_request_max_bytes
        } else {
            ctx.config.sasl_server_max_receive_size
        };
        let frame = tokio::select! {
            f = frame::read_frame(&mut reader, max) => f,
            _ = shutdown.changed() => break,
            // The writer gave up on the connection (write error, or closing on purpose).
            _ = tx.closed() => break,
        };
        // A throttled client's channel stays muted: its next request waits (KIP-219).
        if let Some(until) = throttle.muted_until() {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = shutdown.changed() => break,
            }
        }
        // Where the SASL exchange is, while it is not complete (nothing to look at on the
        // PLAINTEXT hot path).
        let stage = match (&session, authenticated) {
            (Some(s), false) => Some(s.stage()),
            _ => None,
        };
        if stage == Some(Stage::RawTokens) {
            // After a SaslHandshake v0 the tokens come bare; a failure closes the connection
            // without an answer, as in Kafka.
            let Some(s) = &session else { break };
            let reply = match frame {
                Ok(token) => s.authenticate(&token, 0).map(|reply| reply.token),
                Err(e) => {
                    tracing::info!(%peer, error = %e, "closing connection during SASL authentication");
                    break;
                }
            };
            match reply {
                Ok(token) => {
                    if tx
                        .send(Pending::SaslToken(Bytes::from(token)))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    if let Stage::Complete(p) = s.stage() {
                        principal = p;
                        authenticated = true;
                    }
                    continue;
                }
                Err(e) => {
                    tracing::info!(%peer, error = %e, "SASL authentication failed");
                    tokio::time::sleep(s.config().failed_authentication_delay).await;
                    break;
                }
            }
        }
        // An authentication past its lifetime ends the connection at the next request, as
        // Kafka's "expired channel" (the client should have re-authenticated before).
        if expires_at.is_some_and(|t| std::time::Instant::now() >= t) {
            tracing::info!(%peer, principal = %principal,
                "closing connection: its SASL authentication expired (connections.max.reauth.ms)");
            break;
        }
        // Whether this request is a SaslHandshake (which may start a re-authentication).
        let mut handshake_sent = false;
        let pending = match frame.and_then(frame::decode_request) {
            Ok(Decoded::Request {
                header,
                api,
                mut body,
            }) => {
                handshake_sent = api.key == ApiKey::SaslHandshake;
                if stage
                    .as_ref()
                    .is_some_and(|stage| !allowed_before_authentication(stage, api.key))
                {
                    tracing::info!(%peer, api = ?api.key,
                        "closing connection: unexpected request during SASL authentication");
                    break;
                }
                let call = Call {
                    version: header.request_api_version,
                    correlation_id: header.correlation_id,
                    client_id: header.client_id.as_ref().map(|c| c.to_string()),
                    peer,
                    throttle: throttle.clone(),
                    listener: Arc::clone(&listener.info),
                    principal: Arc::clone(&principal),
                    sasl: session.clone(),
                };
                let started = std::time::Instant::now();
                let served = (api.serve)(&ctx, &call, &mut body);
                let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                let request_throttle = ctx.quotas.record_request_time(
                    quota_user(&call),
                    quota_client_id(&call),
                    nanos,
                );
                throttle.mute_for(request_throttle);
                match served {
                    Ok(future) => Pending::Response {
                        correlation_id: call.correlation_id,
                        key: api.key,
                        version: call.version,
                        future,
                    },
                    Err(message) => {
                        let e = FrameError::Decode {
                            key: api.key,
                            version: call.version,
                            message,
                        };
                        tracing::warn!(%peer, error = %e, "closing connection");
                        break;
                    }
                }
            }
            Ok(Decoded::ApiVersionsTooNew { correlation_id }) => {
                Pending::ApiVersionsTooNew { correlation_id }
            }
            Err(FrameError::Closed) => break,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "closing connection");
                if let (Some(s), false, FrameError::BadSize { .. }) = (&session, authenticated, &e)
                {
                    // Kafka fails the authentication on an oversized frame: delayed close.
                    s.fail();
                    tokio::time::sleep(s.config().failed_authentication_delay).await;
                }
                break;
            }
        };
        if tx.send(pending).await.is_err() {
            // The writer failed: the socket is gone.
            break;
        }
        if let (Some(s), true, true) = (&session, authenticated, handshake_sent) {
            // A SaslHandshake on an authenticated connection starts a re-authentication:
            // only its SaslAuthenticate requests are taken until it completes.
            if s.stage() == Stage::Reauthenticate {
                authenticated = false;
                expires_at = None;
            }
        }
        if let (Some(s), false) = (&session, authenticated) {
            match s.stage() {
                Stage::Complete(p) => {
                    tracing::debug!(%peer, principal = %p, "authenticated");
                    principal = p;
                    authenticated = true;
                    expires_at = s.expires_at();
                }
                // The failure's answer is on its way; nothing more is read.
                Stage::Failed => break,
                _ => {}
            }
        }
    }
    drop(tx);
    if let Err(e) = writer.await {
        tracing::warn!(%peer, error = %e, "response writer panicked");
    }
}

async fn write_responses<W: AsyncWrite + Unpin>(
    mut socket: W,
    mut rx: mpsc::Receiver<Pending>,
    peer: SocketAddr,
    ctx: Arc<ApiContext>,
) {
    let mut out = Chunks::new();
    let mut close_after = false;
    while let Some(pending) = rx.recv().await {
        let encoded = match pending {
            Pending::Response {
                correlation_id,
                key,
                version,
                mut future,
            } => {
                // If this response must wait (a long-poll, a durability wait), first send
                // the responses already encoded rather than holding them behind it.
                let body = match poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await {
                    Poll::Ready(body) => body,
                    Poll::Pending => {
                        if !out.is_empty() {
                            if let Err(e) = socket.write_all_buf(&mut out.drain()).await {
                                tracing::debug!(%peer, error = %e, "write failed");
                                return;
                            }
                        }
                        future.await
                    }
                };
                match body {
                    Reply::Send(body) => frame::encode_response(
                        &mut out,
                        correlation_id,
                        key,
                        version,
                        body.as_ref(),
                    ),
                    Reply::SendAndClose(body) => {
                        close_after = true;
                        frame::encode_response(
                            &mut out,
                            correlation_id,
                            key,
                            version,
                            body.as_ref(),
                        )
                    }
                    Reply::Nothing => Ok(()),
                    Reply::Close => {
                        tracing::info!(%peer, "acks=0 produce failed: closing the connection");
                        break;
                    }
                }
            }
            Pending::ApiVersionsTooNew { correlation_id } => {
                frame::encode_api_versions_too_new(&mut out, correlation_id, &ctx)
            }
            Pending::SaslToken(token) => match i32::try_from(token.len()) {
                Ok(size) => {
                    let tail = out.tail();
                    tail.put_i32(size);
                    tail.extend_from_slice(&token);
                    Ok(())
                }
                Err(_) => Err(FrameError::Encode("SASL token larger than 2 GiB".into())),
            },
        };
        if let Err(e) = encoded {
            tracing::error!(%peer, error = %e, "closing connection");
            return;
        }
        if close_after {
            break;
        }
        // Write when nothing else is ready, so pipelined responses share a syscall.
        if rx.is_empty() && !out.is_empty() {
            if let Err(e) = socket.write_all_buf(&mut out.drain()).await {
                tracing::debug!(%peer, error = %e, "write failed");
                return;
            }
        }
    }
    if !out.is_empty() {
        let _ = socket.write_all_buf(&mut out.drain()).await;
    }
    let _ = socket.shutdown().await;
}
