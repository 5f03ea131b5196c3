//! ExpireDelegationToken (v1–v2): moves a token's expiry to now plus the period (never past
//! its maximum time), or, with a negative period, expires and removes it at once. Only the
//! owner and the renewers may.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ApiKey, ExpireDelegationTokenRequest, ExpireDelegationTokenResponse,
};

use super::{not_allowed, now_ms, token_error_code, token_requests_allowed};
use crate::api::spec::{Api, Authorization};
use crate::api::{ApiContext, Call, Handled, Reply};

/// ExpireDelegationToken: ends a token.
pub struct ExpireDelegationToken;

impl Api for ExpireDelegationToken {
    type Request = ExpireDelegationTokenRequest;
    type Response = ExpireDelegationTokenResponse;
    const KEY: ApiKey = ApiKey::ExpireDelegationToken;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 2;
    // The token's owner and renewers decide, not ACLs.
    const AUTHORIZATION: Authorization = Authorization::Open;

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ExpireDelegationTokenRequest,
    ) -> Handled<ExpireDelegationTokenResponse> {
        if !token_requests_allowed(call) {
            return ExpireDelegationTokenResponse::default()
                .with_error_code(not_allowed())
                .into();
        }
        let tokens = Arc::clone(&ctx.tokens);
        let caller = (*call.principal).clone();
        Handled::Later(Box::pin(async move {
            let expired = tokio::task::spawn_blocking(move || {
                tokens.expire(
                    &request.hmac,
                    request.expiry_time_period_ms,
                    &caller,
                    now_ms(),
                )
            })
            .await;
            let response = ExpireDelegationTokenResponse::default();
            Reply::Send(match expired {
                Ok(Ok(expiry)) => response.with_expiry_timestamp_ms(expiry),
                Ok(Err(e)) => response.with_error_code(token_error_code(&e)),
                Err(_) => response.with_error_code(ResponseError::UnknownServerError.code()),
            })
        }))
    }
}
