//! CreateDelegationToken (v1–v3): a token for the caller, or (v3) for another owner. Refused
//! with DELEGATION_TOKEN_REQUEST_NOT_ALLOWED over PLAINTEXT, one-way TLS or a token-
//! authenticated connection; DELEGATION_TOKEN_AUTH_DISABLED without
//! `delegation.token.secret.key`; INVALID_PRINCIPAL_TYPE for an owner or renewer that is not
//! a `User`. The token's SCRAM credentials are derived (PBKDF2) and the token stored off
//! the runtime's threads.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ApiKey, CreateDelegationTokenRequest, CreateDelegationTokenResponse,
};

use super::{not_allowed, now_ms, token_error_code, token_requests_allowed};
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{text, ApiContext, Call, Handled, Reply};
use crate::broker::security::principal::USER_TYPE;
use crate::broker::security::KafkaPrincipal;

/// CreateDelegationToken: issues a delegation token.
pub struct CreateDelegationToken;

impl Api for CreateDelegationToken {
    type Request = CreateDelegationTokenRequest;
    type Response = CreateDelegationTokenResponse;
    const KEY: ApiKey = ApiKey::CreateDelegationToken;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 3;
    // Kafka checks CREATE_TOKENS on the owner only when it differs from the requester.
    const AUTHORIZATION: Authorization = Authorization::Open;

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: CreateDelegationTokenRequest,
    ) -> Handled<CreateDelegationTokenResponse> {
        let requester = (*call.principal).clone();
        let owner = match request
            .owner_principal_name
            .as_ref()
            .filter(|n| !n.is_empty())
        {
            Some(name) => KafkaPrincipal {
                principal_type: request
                    .owner_principal_type
                    .as_ref()
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                name: name.to_string(),
            },
            None => requester.clone(),
        };
        let response = CreateDelegationTokenResponse::default()
            .with_principal_type(text(owner.principal_type.clone()))
            .with_principal_name(text(owner.name.clone()))
            .with_token_requester_principal_type(text(requester.principal_type.clone()))
            .with_token_requester_principal_name(text(requester.name.clone()));
        if !token_requests_allowed(call) {
            return response.with_error_code(not_allowed()).into();
        }
        if owner.principal_type != USER_TYPE {
            return response
                .with_error_code(ResponseError::InvalidPrincipalType.code())
                .into();
        }
        // A token for someone else needs CREATE_TOKENS on that user.
        if owner != requester
            && !ctx.authorize(
                call,
                AclOperation::CreateTokens,
                ResourceType::User,
                &owner.to_string(),
            )
        {
            return response
                .with_error_code(ResponseError::DelegationTokenAuthorizationFailed.code())
                .into();
        }
        let renewers: Vec<KafkaPrincipal> = request
            .renewers
            .iter()
            .map(|r| KafkaPrincipal {
                principal_type: r.principal_type.to_string(),
                name: r.principal_name.to_string(),
            })
            .collect();
        let tokens = Arc::clone(&ctx.tokens);
        let max_lifetime_ms = request.max_lifetime_ms;
        Handled::Later(Box::pin(async move {
            let created = tokio::task::spawn_blocking(move || {
                let now = now_ms();
                let _ = tokens.sweep(now);
                tokens.create(owner, requester, renewers, max_lifetime_ms, now)
            })
            .await;
            let response = match created {
                Ok(Ok(info)) => response
                    .with_issue_timestamp_ms(info.issue_ms)
                    .with_expiry_timestamp_ms(info.expiry_ms)
                    .with_max_timestamp_ms(info.max_ms)
                    .with_token_id(text(info.token_id))
                    .with_hmac(Bytes::from(info.hmac)),
                Ok(Err(e)) => response.with_error_code(token_error_code(&e)),
                Err(_) => response.with_error_code(ResponseError::UnknownServerError.code()),
            };
            Reply::Send(response)
        }))
    }
}
