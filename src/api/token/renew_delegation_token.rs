//! RenewDelegationToken (v1–v2): extends a token's expiry by the renew period (the
//! broker's `delegation.token.expiry.time.ms` when not positive), never past its maximum
//! time. Only the owner and the renewers may; Kafka's errors otherwise.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, RenewDelegationTokenRequest, RenewDelegationTokenResponse};

use super::{not_allowed, now_ms, token_error_code, token_requests_allowed};
use crate::api::spec::{Api, Authorization};
use crate::api::{ApiContext, Call, Handled, Reply};

/// RenewDelegationToken: extends a token.
pub struct RenewDelegationToken;

impl Api for RenewDelegationToken {
    type Request = RenewDelegationTokenRequest;
    type Response = RenewDelegationTokenResponse;
    const KEY: ApiKey = ApiKey::RenewDelegationToken;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 2;
    // The token's owner and renewers decide, not ACLs.
    const AUTHORIZATION: Authorization = Authorization::Open;

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: RenewDelegationTokenRequest,
    ) -> Handled<RenewDelegationTokenResponse> {
        if !token_requests_allowed(call) {
            return RenewDelegationTokenResponse::default()
                .with_error_code(not_allowed())
                .into();
        }
        let tokens = Arc::clone(&ctx.tokens);
        let caller = (*call.principal).clone();
        Handled::Later(Box::pin(async move {
            let renewed = tokio::task::spawn_blocking(move || {
                tokens.renew(&request.hmac, request.renew_period_ms, &caller, now_ms())
            })
            .await;
            let response = RenewDelegationTokenResponse::default();
            Reply::Send(match renewed {
                Ok(Ok(expiry)) => response.with_expiry_timestamp_ms(expiry),
                Ok(Err(e)) => response.with_error_code(token_error_code(&e)),
                Err(_) => response.with_error_code(ResponseError::UnknownServerError.code()),
            })
        }))
    }
}
