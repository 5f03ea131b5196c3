//! SaslHandshake (v0–v1): the client names a SASL mechanism; the answer lists the listener's
//! enabled mechanisms. After a v0 handshake the tokens follow as bare frames, after v1 in
//! SaslAuthenticate requests. An unknown or disabled mechanism is UNSUPPORTED_SASL_MECHANISM
//! and the connection closes; on a listener without SASL, or once authenticated, the answer
//! is ILLEGAL_SASL_STATE, as in Kafka.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, SaslHandshakeRequest, SaslHandshakeResponse};

use super::error::sasl_error_code;
use super::spec::{Api, Authorization};
use super::{text, ApiContext, Call, Handled, Reply};
use crate::broker::security::SaslError;

/// Runs the handshake of `call`'s connection.
pub fn handshake(call: &Call, req: &SaslHandshakeRequest) -> Reply<SaslHandshakeResponse> {
    let Some(session) = &call.sasl else {
        return Reply::Send(
            SaslHandshakeResponse::default()
                .with_error_code(ResponseError::IllegalSaslState.code()),
        );
    };
    let mechanisms = session
        .enabled_mechanisms()
        .iter()
        .map(|m| text(m.clone()))
        .collect();
    let response = SaslHandshakeResponse::default().with_mechanisms(mechanisms);
    match session.handshake(req.mechanism.as_str(), call.version) {
        Ok(()) => Reply::Send(response),
        Err(e) => {
            tracing::info!(peer = %call.peer, listener = %call.listener.name, error = %e,
                "SASL handshake refused");
            let response = response.with_error_code(sasl_error_code(&e));
            match e {
                // Already authenticated: answered, and the connection goes on.
                SaslError::IllegalState(_) if session.stage_is_complete() => Reply::Send(response),
                _ => Reply::SendAndClose(response),
            }
        }
    }
}

/// SaslHandshake: picks the SASL mechanism of a connection.
pub struct SaslHandshake;

impl Api for SaslHandshake {
    type Request = SaslHandshakeRequest;
    type Response = SaslHandshakeResponse;
    const KEY: ApiKey = ApiKey::SaslHandshake;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization = Authorization::Open;

    fn handle(
        _ctx: &Arc<ApiContext>,
        call: &Call,
        request: SaslHandshakeRequest,
    ) -> Handled<SaslHandshakeResponse> {
        Handled::Now(handshake(call, &request))
    }
}
