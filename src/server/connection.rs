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

use kafka_protocol::messages::ApiKey;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::frame::{self, Decoded, FrameError};
use crate::api::chunks::Chunks;
use crate::api::throttle::{quota_client_id, quota_user, ChannelThrottle};
use crate::api::{ApiContext, Call, Reply, ResponseFuture};

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
}

/// Serves one connection until the client leaves, sends something unacceptable, or the
/// broker shuts down (then in-flight requests are still answered).
pub async fn serve(stream: TcpStream, peer: SocketAddr, ctx: Arc<ApiContext>) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "set_nodelay failed");
    }
    let (read_half, write_half) = stream.into_split();
    let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
    let writer = tokio::spawn(write_responses(write_half, rx, peer, Arc::clone(&ctx)));
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let mut shutdown = ctx.shutdown.clone();
    let max = ctx.config.socket_request_max_bytes;
    let throttle = ChannelThrottle::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
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
        let pending = match frame.and_then(frame::decode_request) {
            Ok(Decoded::Request {
                header,
                api,
                mut body,
            }) => {
                let call = Call {
                    version: header.request_api_version,
                    correlation_id: header.correlation_id,
                    client_id: header.client_id.as_ref().map(|c| c.to_string()),
                    peer,
                    throttle: throttle.clone(),
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
                break;
            }
        };
        if tx.send(pending).await.is_err() {
            // The writer failed: the socket is gone.
            break;
        }
    }
    drop(tx);
    if let Err(e) = writer.await {
        tracing::warn!(%peer, error = %e, "response writer panicked");
    }
}

async fn write_responses(
    mut socket: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Pending>,
    peer: SocketAddr,
    ctx: Arc<ApiContext>,
) {
    let mut out = Chunks::new();
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
        };
        if let Err(e) = encoded {
            tracing::error!(%peer, error = %e, "closing connection");
            return;
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
