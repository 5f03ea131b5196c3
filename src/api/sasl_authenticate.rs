//! SaslAuthenticate (v0–v2): one token of the SASL exchange chosen by SaslHandshake v1.
//! A failure is answered with SASL_AUTHENTICATION_FAILED and Kafka's message after
//! `connection.failed.authentication.delay.ms`, then the connection closes. From v1 the
//! answer carries the session lifetime (KIP-368): the client re-authenticates on the same
//! connection (SaslHandshake, then SaslAuthenticate) before it ends.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse};

use super::error::sasl_error_code;
use super::spec::{Api, Authorization};
use super::{text, ApiContext, Call, Handled, Reply};

const AFTER_AUTHENTICATION: &str =
    "SaslAuthenticate request received after successful authentication";

/// SaslAuthenticate: one step of a connection's SASL exchange.
pub struct SaslAuthenticate;

impl Api for SaslAuthenticate {
    type Request = SaslAuthenticateRequest;
    type Response = SaslAuthenticateResponse;
    const KEY: ApiKey = ApiKey::SaslAuthenticate;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization = Authorization::Open;

    fn handle(
        _ctx: &Arc<ApiContext>,
        call: &Call,
        request: SaslAuthenticateRequest,
    ) -> Handled<SaslAuthenticateResponse> {
        let illegal = || {
            SaslAuthenticateResponse::default()
                .with_error_code(ResponseError::IllegalSaslState.code())
                .with_error_message(Some(text(AFTER_AUTHENTICATION)))
        };
        let Some(session) = &call.sasl else {
            return illegal().into();
        };
        if session.stage_is_complete() {
            return illegal().into();
        }
        match session.authenticate(&request.auth_bytes, call.version) {
            // Kafka leaves the message at its default, an empty string, on success.
            Ok(reply) => SaslAuthenticateResponse::default()
                .with_auth_bytes(Bytes::from(reply.token))
                .with_session_lifetime_ms(reply.session_lifetime_ms)
                .into(),
            Err(e) => {
                tracing::info!(peer = %call.peer, listener = %call.listener.name, error = %e,
                    "SASL authentication failed");
                let response = SaslAuthenticateResponse::default()
                    .with_error_code(sasl_error_code(&e))
                    .with_error_message(Some(text(e.to_string())));
                let delay = session.config().failed_authentication_delay;
                Handled::Later(Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    Reply::SendAndClose(response)
                }))
            }
        }
    }
}
